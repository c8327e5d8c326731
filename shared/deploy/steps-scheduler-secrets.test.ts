import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadTopology } from '../bus/topology.js';
import { type FakeGoogleRest, startFakeGoogleRest } from '../testing/fakes/google-rest.js';
import type { ApplyContext } from './deploy-step.js';
import { runDeployCli } from './deploy-cli.js';
import { applySteps } from './deploy-plan.js';
import type { FunctionUses } from './function-access.js';
import { type SchedulerJobSpec, schedulerSteps } from './steps-scheduler.js';
import { newestEnabledVersion, secretSteps } from './steps-secrets.js';

const PROJECT = 'pgp-test';
const REGION = 'europe-west1';

describe('Cloud Scheduler and Secret Manager steps against a local REST fake', () => {
  let fake: FakeGoogleRest;
  let scheduler: CloudSchedulerClient;
  let secrets: SecretManagerServiceClient;
  const lines: string[] = [];
  const context = (): ApplyContext => ({
    target: { projectId: PROJECT, region: REGION },
    commands: { run: async () => ({ exitCode: 1, stdout: '', stderr: 'no gcloud in this test' }) },
    log: (line) => lines.push(line),
    scheduler,
    secrets,
  });

  beforeAll(async () => {
    fake = await startFakeGoogleRest();
    scheduler = new CloudSchedulerClient(fake.clientOptions as never);
    secrets = new SecretManagerServiceClient(fake.clientOptions as never);
  });
  afterAll(async () => {
    await scheduler?.close();
    await secrets?.close();
    await fake?.close();
  });
  beforeEach(() => {
    lines.length = 0;
  });

  describe('scheduler jobs', () => {
    const jobs: SchedulerJobSpec[] = [
      ...loadTopology().schedulerJobs,
      { target: 'http', name: 'ping-dashboard', schedule: '*/10 * * * *', timeZone: 'Etc/UTC', uri: 'https://dashboard-api-abc-ew.a.run.app/healthz', body: {}, serviceAccountEmail: `eventarc-invoker@${PROJECT}.iam.gserviceaccount.com` },
    ];

    it('creates every job (Pub/Sub target or OIDC HTTP target, UTC, no retries) on the first apply', async () => {
      const report = await applySteps(schedulerSteps({ jobs, projectId: PROJECT, region: REGION }), context());
      expect(report.counts).toEqual({ created: jobs.length, updated: 0, unchanged: 0 });
      const relay = fake.jobs.get(`projects/${PROJECT}/locations/${REGION}/jobs/relay-outbox-every-minute`)!;
      expect(relay).toMatchObject({ schedule: '* * * * *', timeZone: 'Etc/UTC', pubsubTarget: { topicName: `projects/${PROJECT}/topics/outbox-relay-requested` }, retryConfig: { retryCount: 0 } });
      expect(JSON.parse(Buffer.from(String((relay.pubsubTarget as { data: string }).data), 'base64').toString('utf8'))).toEqual({ job: 'relay-outbox' });
      expect(fake.jobs.get(`projects/${PROJECT}/locations/${REGION}/jobs/ping-dashboard`)).toMatchObject({
        httpTarget: { uri: 'https://dashboard-api-abc-ew.a.run.app/healthz', httpMethod: 'POST', oidcToken: { serviceAccountEmail: `eventarc-invoker@${PROJECT}.iam.gserviceaccount.com` } },
      });
    });

    it('leaves every job unchanged on a second apply', async () => {
      const report = await applySteps(schedulerSteps({ jobs, projectId: PROJECT, region: REGION }), context());
      expect(report.counts).toEqual({ created: 0, updated: 0, unchanged: jobs.length });
      expect(lines.at(-1)).toBe(`nothing changed: all ${jobs.length} steps unchanged`);
    });

    it('patches only what changed (schedule, target body) and leaves the rest', async () => {
      fake.requests.length = 0;
      const changed = jobs.map((job) =>
        job.name === 'reconcile-every-5-minutes' ? { ...job, schedule: '*/2 * * * *' } : job.name === 'broadcast-tiers-every-5-minutes' ? { ...job, body: { job: 'broadcast-tiers', channelIds: ['x'] } } : job,
      );
      const report = await applySteps(schedulerSteps({ jobs: changed, projectId: PROJECT, region: REGION }), context());
      expect(report.outcomes.filter((entry) => entry.outcome !== 'unchanged')).toEqual([
        { id: 'scheduler/job/reconcile-every-5-minutes', outcome: 'updated' },
        { id: 'scheduler/job/broadcast-tiers-every-5-minutes', outcome: 'updated' },
      ]);
      expect(fake.requests.filter((request) => request.startsWith('PATCH'))).toEqual([
        `PATCH /v1/projects/${PROJECT}/locations/${REGION}/jobs/reconcile-every-5-minutes`,
        `PATCH /v1/projects/${PROJECT}/locations/${REGION}/jobs/broadcast-tiers-every-5-minutes`,
      ]);
      expect(fake.jobs.get(`projects/${PROJECT}/locations/${REGION}/jobs/reconcile-every-5-minutes`)?.schedule).toBe('*/2 * * * *');
    });
  });

  describe('secrets', () => {
    const uses = (name: string, variables: string[]): FunctionUses => ({ name, secrets: variables, database: true, firestore: false, publishes: [], subscribes: [] });
    const USES = [uses('send-transfer', ['DATABASE_URL', 'HOST_WALLET_PRIVATE_KEY']), uses('relay-outbox', ['DATABASE_URL'])];
    const accessors = (secretId: string) =>
      (fake.secrets.get(`projects/${PROJECT}/secrets/${secretId}`)?.policy.bindings as { role: string; members: string[] }[] | undefined)?.find((binding) => binding.role === 'roles/secretmanager.secretAccessor')?.members;

    it('creates missing secrets with an accessor binding for exactly the functions that name each', async () => {
      const report = await applySteps(secretSteps({ uses: USES, projectId: PROJECT }), context());
      expect(report.counts).toEqual({ created: 4, updated: 0, unchanged: 0 });
      expect(accessors('host-wallet-private-key')).toEqual([`serviceAccount:fn-send-transfer@${PROJECT}.iam.gserviceaccount.com`]);
      expect(accessors('database-url')).toEqual([`serviceAccount:fn-relay-outbox@${PROJECT}.iam.gserviceaccount.com`, `serviceAccount:fn-send-transfer@${PROJECT}.iam.gserviceaccount.com`]);
    });

    it('leaves them unchanged on a second apply, and removes an accessor no function needs', async () => {
      expect((await applySteps(secretSteps({ uses: USES, projectId: PROJECT }), context())).counts).toEqual({ created: 0, updated: 0, unchanged: 4 });
      const entry = fake.secrets.get(`projects/${PROJECT}/secrets/host-wallet-private-key`)!;
      entry.policy = { ...entry.policy, bindings: [{ role: 'roles/secretmanager.secretAccessor', members: [`serviceAccount:fn-send-transfer@${PROJECT}.iam.gserviceaccount.com`, 'user:someone@example.com'] }] };
      const report = await applySteps(secretSteps({ uses: USES, projectId: PROJECT }), context());
      expect(report.outcomes.filter((outcome) => outcome.outcome !== 'unchanged')).toEqual([{ id: 'secrets/accessors/host-wallet-private-key', outcome: 'updated' }]);
      expect(accessors('host-wallet-private-key')).toEqual([`serviceAccount:fn-send-transfer@${PROJECT}.iam.gserviceaccount.com`]);
    });

    describe('a value added with npm run deploy -- --only secrets --secret NAME --from-file F --apply', () => {
      const VALUE = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
      const NEXT = '0x' + 'ab'.repeat(32);
      let folder: string;
      let out = '';
      let err = '';
      const cli = (args: string[]) =>
        runDeployCli(['--project', PROJECT, '--region', REGION, '--only', 'secrets', ...args], {
          out: (text) => (out += text),
          err: (text) => (err += text),
          functions: ['send-transfer', 'relay-outbox'],
          context: async (target) => ({ ...context(), target, log: (line) => (out += `${line}\n`) }),
        });

      beforeAll(() => {
        folder = mkdtempSync(path.join(tmpdir(), 'pgp-deploy-secret-'));
        writeFileSync(path.join(folder, 'key'), VALUE);
        writeFileSync(path.join(folder, 'next'), NEXT);
      });
      afterAll(() => rmSync(folder, { recursive: true, force: true }));

      it('adds the version once, reports it unchanged when the same value comes again, and a new value as updated', async () => {
        expect(await cli(['--secret', 'HOST_WALLET_PRIVATE_KEY', '--from-file', path.join(folder, 'key'), '--apply'])).toBe(0);
        expect(out).toMatch(/\] secrets\/version\/host-wallet-private-key … created\n/);
        expect(await newestEnabledVersion(secrets, PROJECT, 'host-wallet-private-key')).toBe('1');
        expect(await cli(['--secret', 'host-wallet-private-key', '--from-file', path.join(folder, 'key'), '--apply'])).toBe(0);
        expect(out).toMatch(/\] secrets\/version\/host-wallet-private-key … unchanged\nnothing changed: all \d+ steps unchanged\n$/);
        expect(await cli(['--secret', 'HOST_WALLET_PRIVATE_KEY', '--from-file', path.join(folder, 'next'), '--apply'])).toBe(0);
        expect(out).toMatch(/\] secrets\/version\/host-wallet-private-key … updated\n/);
        expect(await newestEnabledVersion(secrets, PROJECT, 'host-wallet-private-key')).toBe('2');
        expect(Buffer.from(fake.secrets.get(`projects/${PROJECT}/secrets/host-wallet-private-key`)!.versions[1]!.data, 'base64').toString()).toBe(NEXT);
      });

      it('never prints the value, in the plan, the progress lines, errors or the requests made', async () => {
        expect(await cli(['--secret', 'HOST_WALLET_PRIVATE_KEY', '--from-file', path.join(folder, 'key')])).toBe(0); // plan only
        expect(out).toContain(`New version of secret host-wallet-private-key from ${path.join(folder, 'key')}`);
        expect(await cli(['--secret', 'HOST_WALLET_PRIVATE_KEY', '--from-file', path.join(folder, 'missing'), '--apply'])).toBe(1);
        expect(err).toContain('deploy stopped:');
        for (const value of [VALUE, NEXT, VALUE.slice(2, 18), NEXT.slice(2, 18)]) {
          expect(out).not.toContain(value);
          expect(err).not.toContain(value);
          expect(lines.join('\n')).not.toContain(value);
          expect(fake.requests.join('\n')).not.toContain(value);
        }
      });
    });
  });
});
