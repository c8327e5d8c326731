import type { SchedulerJob } from '../bus/topology.js';
import type { DeployStep } from './deploy-step.js';
import { need } from './gcloud.js';

const NOT_FOUND = 5;

/** A Cloud Scheduler job: publishes to a topic, or calls a private HTTP function with an OIDC token. */
export type SchedulerJobSpec =
  | (SchedulerJob & { target?: 'pubsub' })
  | { target: 'http'; name: string; schedule: string; timeZone: string; uri: string; body: Record<string, unknown>; serviceAccountEmail: string };

/** The job resource as the v1 API takes it (bytes as a Buffer; the REST transport sends base64). */
export function schedulerJobResource(job: SchedulerJobSpec, projectId: string, region: string) {
  const name = `projects/${projectId}/locations/${region}/jobs/${job.name}`;
  const data = Buffer.from(JSON.stringify(job.body));
  const common = { name, schedule: job.schedule, timeZone: job.timeZone, retryConfig: { retryCount: 0 } };
  return job.target === 'http'
    ? { ...common, httpTarget: { uri: job.uri, httpMethod: 'POST' as const, body: data, headers: { 'Content-Type': 'application/json' }, oidcToken: { serviceAccountEmail: job.serviceAccountEmail, audience: job.uri } } }
    : { ...common, pubsubTarget: { topicName: `projects/${projectId}/topics/${job.topic}`, data } };
}

type JobResource = ReturnType<typeof schedulerJobResource>;
const bytes = (value: unknown) => (value ? Buffer.from(value as Uint8Array).toString('base64') : '');

/** The fields that differ between the job in the cloud and the one wanted (the update mask). */
export function changedJobFields(current: Record<string, unknown>, wanted: JobResource): string[] {
  const changed: string[] = [];
  if (current.schedule !== wanted.schedule) changed.push('schedule');
  if (current.timeZone !== wanted.timeZone) changed.push('time_zone');
  if (Number((current.retryConfig as { retryCount?: number } | null)?.retryCount ?? 0) !== wanted.retryConfig.retryCount) changed.push('retry_config');
  if ('pubsubTarget' in wanted) {
    const target = current.pubsubTarget as { topicName?: string; data?: unknown } | null | undefined;
    if (target?.topicName !== wanted.pubsubTarget.topicName || bytes(target?.data) !== bytes(wanted.pubsubTarget.data)) changed.push('pubsub_target');
  } else {
    const target = current.httpTarget as { uri?: string; body?: unknown; oidcToken?: { serviceAccountEmail?: string; audience?: string } } | null | undefined;
    if (
      target?.uri !== wanted.httpTarget.uri ||
      bytes(target?.body) !== bytes(wanted.httpTarget.body) ||
      target?.oidcToken?.serviceAccountEmail !== wanted.httpTarget.oidcToken.serviceAccountEmail ||
      target?.oidcToken?.audience !== wanted.httpTarget.oidcToken.audience
    ) {
      changed.push('http_target');
    }
  }
  return changed;
}

/** One step per job: created when missing, patched (only the fields that differ) when changed. */
export function schedulerSteps(input: { jobs: SchedulerJobSpec[]; projectId: string; region: string }): DeployStep[] {
  return input.jobs.map((job) => ({
    part: 'scheduler',
    id: `scheduler/job/${job.name}`,
    summary:
      job.target === 'http'
        ? `Cloud Scheduler job ${job.name}: "${job.schedule}" ${job.timeZone}, POST ${job.uri} with an OIDC token of ${job.serviceAccountEmail}, no retries`
        : `Cloud Scheduler job ${job.name}: "${job.schedule}" ${job.timeZone}, publishes ${JSON.stringify(job.body)} to ${job.topic}, no retries`,
    commands: [],
    async apply(context) {
      const scheduler = need(context.scheduler, 'Cloud Scheduler');
      const wanted = schedulerJobResource(job, input.projectId, input.region);
      let current: Record<string, unknown>;
      try {
        [current] = (await scheduler.getJob({ name: wanted.name })) as unknown as [Record<string, unknown>];
      } catch (error) {
        if ((error as { code?: unknown }).code !== NOT_FOUND) throw error;
        await scheduler.createJob({ parent: `projects/${input.projectId}/locations/${input.region}`, job: wanted });
        return 'created';
      }
      const changed = changedJobFields(current, wanted);
      if (changed.length === 0) return 'unchanged';
      await scheduler.updateJob({ job: wanted, updateMask: { paths: changed } });
      return 'updated';
    },
  }));
}
