import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import * as z from 'zod';
import { repositoryRoot } from '../bus/topology.js';
import type { ApplyContext, DeployStep } from './deploy-step.js';
import type { DeployTarget } from './deployment-plan.js';
import { deployError } from './errors.js';

/**
 * Monitoring as code (`npm run deploy -- --only monitoring`): the operator's notification channels,
 * the log-based metrics, the uptime checks and the alert policies declared in `deploy/monitoring/`.
 * Each step shells out to gcloud (no client library needed), lists what exists by name or display
 * name first (`--format=json`), and creates it, updates it in place when it differs, or reports it
 * unchanged.
 */
export interface MonitoringInput {
  target: DeployTarget;
  /** The deployed function names (Cloud Run service names): the error-rate and latency policies cover them. */
  functions: readonly string[];
  /** Where alerts go: the operator's email notification channel. */
  operatorEmail: string;
  /** Optional second channel: a webhook (type webhook_tokenauth) that relays alerts to the operator's Telegram chat. */
  telegramWebhookUrl?: string;
  /** The public base URL the uptime checks probe (Firebase Hosting). Default `https://<project>.web.app`. */
  publicBaseUrl?: string;
  /** Where `deploy/monitoring/` lives. Default: this repository. */
  root?: string;
}

const MANAGED_BY = { 'managed-by': 'paygateprime-deploy' } as const;

const LogMetricsFileSchema = z.object({
  metrics: z.array(z.object({ name: z.string().regex(/^[a-z][a-z0-9-]*$/), description: z.string().min(1), filter: z.string().min(1) })),
});
export type LogMetricSpec = z.infer<typeof LogMetricsFileSchema>['metrics'][number];

const UptimeChecksFileSchema = z.object({
  checks: z.array(
    z.object({
      key: z.string().regex(/^[a-z][a-z0-9-]*$/),
      displayName: z.string().min(1),
      path: z.string().startsWith('/'),
      statusCodes: z.array(z.number().int().min(100).max(599)).min(1),
      periodMinutes: z.union([z.literal(1), z.literal(5), z.literal(10), z.literal(15)]),
      timeoutSeconds: z.number().int().min(1).max(60),
    }),
  ),
});
type UptimeCheckSpec = z.infer<typeof UptimeChecksFileSchema>['checks'][number];

const AlertPoliciesFileSchema = z.object({
  policies: z.array(
    z.object({
      key: z.string().regex(/^[a-z][a-z0-9-]*$/),
      displayName: z.string().min(1),
      severity: z.enum(['CRITICAL', 'ERROR', 'WARNING']).optional(),
      documentation: z.string().min(1),
      combiner: z.enum(['OR', 'AND']).default('OR'),
      conditions: z.array(z.looseObject({ displayName: z.string().min(1) })).min(1),
      alertStrategy: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});
type AlertPolicySpec = z.infer<typeof AlertPoliciesFileSchema>['policies'][number];

/** What `deploy/monitoring/` declares, parsed and checked. */
export interface MonitoringDeclarations {
  metrics: LogMetricSpec[];
  uptimeChecks: UptimeCheckSpec[];
  policies: AlertPolicySpec[];
}

function readYaml<T>(file: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw deployError('invalid_deploy_settings', `${file} is invalid: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function readMonitoringDeclarations(root = repositoryRoot()): MonitoringDeclarations {
  const folder = path.join(root, 'deploy', 'monitoring');
  return {
    metrics: readYaml(path.join(folder, 'log-metrics.yaml'), LogMetricsFileSchema).metrics,
    uptimeChecks: readYaml(path.join(folder, 'uptime-checks.yaml'), UptimeChecksFileSchema).checks,
    policies: readYaml(path.join(folder, 'alert-policies.yaml'), AlertPoliciesFileSchema).policies,
  };
}

// ---- gcloud ----

const q = (value: string) => (/^[A-Za-z0-9_./:=@,+-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`);
const commandLine = (args: readonly string[]) => `gcloud ${args.map(q).join(' ')}`;

async function gcloud(context: ApplyContext, args: string[]): Promise<string> {
  const result = await context.commands.run('gcloud', args);
  if (result.exitCode !== 0) {
    // The verb only (args hold channel addresses and policies): stderr says what gcloud refused.
    throw deployError('deploy_command_failed', `gcloud ${args.slice(0, 4).join(' ')} failed (exit ${result.exitCode}): ${result.stderr.trim().slice(0, 800)}`);
  }
  return result.stdout;
}

const ListSchema = z.array(z.record(z.string(), z.unknown()));

async function listJson(context: ApplyContext, args: string[]): Promise<Record<string, unknown>[]> {
  const stdout = (await gcloud(context, [...args, '--format=json'])).trim();
  const parsed = ListSchema.safeParse(stdout === '' ? [] : JSON.parse(stdout));
  if (!parsed.success) throw deployError('deploy_command_failed', `gcloud ${args.slice(0, 4).join(' ')} did not answer a JSON list`);
  return parsed.data;
}

const lastSegment = (name: unknown) => String(name ?? '').split('/').pop() ?? '';
const squeeze = (text: unknown) => String(text ?? '').replace(/\s+/g, ' ').trim();

/**
 * Whether `actual` (what gcloud lists) already holds every field of `desired`. The API adds fields of
 * its own (names, creation records) and leaves out zero values (proto3 JSON), so a desired 0, false,
 * '' or [] matches a missing field.
 */
export function holdsDesired(desired: unknown, actual: unknown): boolean {
  if (actual === undefined || actual === null) return desired === 0 || desired === false || desired === '' || (Array.isArray(desired) && desired.length === 0);
  if (Array.isArray(desired)) return Array.isArray(actual) && desired.length === actual.length && desired.every((item, index) => holdsDesired(item, actual[index]));
  if (typeof desired === 'object' && desired !== null) {
    if (typeof actual !== 'object') return false;
    return Object.entries(desired).every(([key, value]) => holdsDesired(value, (actual as Record<string, unknown>)[key]));
  }
  if (typeof desired === 'number') return Number(actual) === desired;
  if (typeof desired === 'string' && typeof actual === 'string') return squeeze(desired) === squeeze(actual);
  return desired === actual;
}

// ---- notification channels ----

export const EMAIL_CHANNEL_NAME = 'PayGatePrime operator email';
export const TELEGRAM_CHANNEL_NAME = 'PayGatePrime operator Telegram';

/** `o***@example.com`: the plan and progress lines never show an address whole. */
function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

/** The webhook's origin only: its path or query may carry a token. */
function maskUrl(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '…';
  }
}

interface ChannelSpec {
  key: string;
  displayName: string;
  type: string;
  labels: Record<string, string>;
  /** The same labels as printed (masked). */
  shownLabels: Record<string, string>;
}

function channelSpecs(input: MonitoringInput): ChannelSpec[] {
  const specs: ChannelSpec[] = [
    {
      key: 'email',
      displayName: EMAIL_CHANNEL_NAME,
      type: 'email',
      labels: { email_address: input.operatorEmail },
      shownLabels: { email_address: maskEmail(input.operatorEmail) },
    },
  ];
  if (input.telegramWebhookUrl) {
    specs.push({
      key: 'telegram',
      displayName: TELEGRAM_CHANNEL_NAME,
      type: 'webhook_tokenauth',
      labels: { url: input.telegramWebhookUrl },
      shownLabels: { url: maskUrl(input.telegramWebhookUrl) },
    });
  }
  return specs;
}

const CHANNELS = ['beta', 'monitoring', 'channels'];

function channelStep(input: MonitoringInput, spec: ChannelSpec): DeployStep {
  const project = `--project=${input.target.projectId}`;
  const content = (labels: Record<string, string>) => JSON.stringify({ type: spec.type, displayName: spec.displayName, labels, enabled: true, userLabels: MANAGED_BY });
  const desired = { type: spec.type, labels: spec.labels, enabled: true };
  return {
    part: 'monitoring',
    id: `monitoring/channel/${spec.key}`,
    summary: `notification channel "${spec.displayName}" (${spec.type} ${Object.values(spec.shownLabels).join(', ')})`,
    commands: [commandLine([...CHANNELS, 'create', project, `--channel-content=${content(spec.shownLabels)}`])],
    async apply(context) {
      const existing = (await listJson(context, [...CHANNELS, 'list', project])).find((channel) => channel.displayName === spec.displayName);
      if (!existing) {
        await gcloud(context, [...CHANNELS, 'create', project, `--channel-content=${content(spec.labels)}`]);
        return 'created';
      }
      if (holdsDesired(desired, existing)) return 'unchanged';
      await gcloud(context, [...CHANNELS, 'update', String(existing.name), project, `--channel-content=${content(spec.labels)}`]);
      return 'updated';
    },
  };
}

// ---- log-based metrics ----

function metricStep(input: MonitoringInput, metric: LogMetricSpec): DeployStep {
  const project = `--project=${input.target.projectId}`;
  const flags = [project, `--description=${squeeze(metric.description)}`, `--log-filter=${squeeze(metric.filter)}`];
  return {
    part: 'monitoring',
    id: `monitoring/log-metric/${metric.name}`,
    summary: `log-based metric ${metric.name} (counter): ${squeeze(metric.filter)}`,
    commands: [commandLine(['logging', 'metrics', 'create', metric.name, ...flags])],
    async apply(context) {
      const existing = (await listJson(context, ['logging', 'metrics', 'list', project])).find((candidate) => lastSegment(candidate.name) === metric.name);
      if (!existing) {
        await gcloud(context, ['logging', 'metrics', 'create', metric.name, ...flags]);
        return 'created';
      }
      if (squeeze(existing.filter) === squeeze(metric.filter) && squeeze(existing.description) === squeeze(metric.description)) return 'unchanged';
      await gcloud(context, ['logging', 'metrics', 'update', metric.name, ...flags]);
      return 'updated';
    },
  };
}

// ---- uptime checks ----

function publicBaseUrlOf(input: MonitoringInput): URL {
  const url = new URL(input.publicBaseUrl ?? `https://${input.target.projectId}.web.app`);
  if (url.protocol !== 'https:') throw deployError('invalid_deploy_settings', `The public base URL must be https: ${url.origin}`);
  return url;
}

const UptimeConfigSchema = z.looseObject({
  name: z.string(),
  displayName: z.string(),
  period: z.string().optional(),
  timeout: z.string().optional(),
  monitoredResource: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }).optional(),
  httpCheck: z
    .looseObject({
      path: z.string().optional(),
      acceptedResponseStatusCodes: z.array(z.looseObject({ statusValue: z.number().optional() })).optional(),
    })
    .optional(),
});

function uptimeCheckStep(input: MonitoringInput, check: UptimeCheckSpec): DeployStep {
  const project = `--project=${input.target.projectId}`;
  const base = publicBaseUrlOf(input);
  // A base URL with a path (https://example.com/pay) prefixes the checked paths.
  const checkedPath = `${base.pathname.replace(/\/$/, '')}${check.path}`;
  const codes = check.statusCodes.join(',');
  const createArgs = [
    'monitoring', 'uptime', 'create', check.displayName, project,
    '--resource-type=uptime-url', `--resource-labels=host=${base.host},project_id=${input.target.projectId}`,
    '--protocol=https', `--path=${checkedPath}`, '--request-method=get', `--status-codes=${codes}`,
    `--period=${check.periodMinutes}`, `--timeout=${check.timeoutSeconds}`, `--user-labels=managed-by=${MANAGED_BY['managed-by']}`,
  ];
  return {
    part: 'monitoring',
    id: `monitoring/uptime-check/${check.key}`,
    summary: `uptime check "${check.displayName}": GET https://${base.host}${checkedPath} answers ${codes}, every ${check.periodMinutes} min`,
    commands: [commandLine(createArgs)],
    async apply(context) {
      const listed = (await listJson(context, ['monitoring', 'uptime', 'list-configs', project])).find((config) => config.displayName === check.displayName);
      if (!listed) {
        await gcloud(context, createArgs);
        return 'created';
      }
      const existing = UptimeConfigSchema.parse(listed);
      const id = lastSegment(existing.name);
      if (existing.monitoredResource?.labels?.host !== base.host) {
        // The checked host cannot be changed in place: the check is made again.
        await gcloud(context, ['monitoring', 'uptime', 'delete', id, project, '--quiet']);
        await gcloud(context, createArgs);
        return 'updated';
      }
      const existingCodes = (existing.httpCheck?.acceptedResponseStatusCodes ?? []).map((code) => code.statusValue).join(',');
      const isSame =
        existing.httpCheck?.path === checkedPath &&
        existingCodes === codes &&
        existing.period === `${check.periodMinutes * 60}s` &&
        existing.timeout === `${check.timeoutSeconds}s`;
      if (isSame) return 'unchanged';
      await gcloud(context, [
        'monitoring', 'uptime', 'update', id, project,
        `--path=${checkedPath}`, `--set-status-codes=${codes}`, `--period=${check.periodMinutes}`, `--timeout=${check.timeoutSeconds}`,
      ]);
      return 'updated';
    },
  };
}

// ---- alert policies ----

const POLICIES = ['alpha', 'monitoring', 'policies'];

/** Fills {{functions}} and {{publicHost}} in every string of a condition. */
function fillPlaceholders(value: unknown, fills: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => fills[name] ?? whole);
  if (Array.isArray(value)) return value.map((item) => fillPlaceholders(item, fills));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillPlaceholders(item, fills)]));
  return value;
}

/** The AlertPolicy resource for `spec`, notifying `channels` (resource names). */
export function renderAlertPolicy(input: MonitoringInput, spec: AlertPolicySpec, channels: readonly string[]): Record<string, unknown> {
  const fills = { functions: input.functions.map((name) => JSON.stringify(name)).join(', '), publicHost: publicBaseUrlOf(input).host };
  return {
    displayName: spec.displayName,
    ...(spec.severity ? { severity: spec.severity } : {}),
    documentation: { content: squeeze(spec.documentation), mimeType: 'text/markdown' },
    combiner: spec.combiner,
    conditions: fillPlaceholders(spec.conditions, fills),
    ...(spec.alertStrategy ? { alertStrategy: spec.alertStrategy } : {}),
    notificationChannels: [...channels].sort(),
    enabled: true,
    userLabels: { ...MANAGED_BY },
  };
}

function policyStep(input: MonitoringInput, spec: AlertPolicySpec, channelNames: readonly string[]): DeployStep {
  const project = `--project=${input.target.projectId}`;
  const placeholders = channelNames.map((name) => `<name of the channel "${name}">`);
  return {
    part: 'monitoring',
    id: `monitoring/alert-policy/${spec.key}`,
    summary: `alert policy "${spec.displayName}" → ${channelNames.join(', ')}`,
    commands: [commandLine([...POLICIES, 'create', project, `--policy=${JSON.stringify(renderAlertPolicy(input, spec, placeholders))}`])],
    async apply(context) {
      const channels = await listJson(context, [...CHANNELS, 'list', project]);
      const names = channelNames.map((displayName) => {
        const channel = channels.find((candidate) => candidate.displayName === displayName);
        if (!channel) throw deployError('deploy_command_failed', `The notification channel "${displayName}" does not exist yet: apply the monitoring part from its start`);
        return String(channel.name);
      });
      const desired = renderAlertPolicy(input, spec, names);
      const existing = (await listJson(context, [...POLICIES, 'list', project])).find((policy) => policy.displayName === spec.displayName);
      if (!existing) {
        await gcloud(context, [...POLICIES, 'create', project, `--policy=${JSON.stringify(desired)}`]);
        return 'created';
      }
      const { notificationChannels, ...rest } = desired;
      const existingChannels = Array.isArray(existing.notificationChannels) ? existing.notificationChannels.map(String).sort() : [];
      if (holdsDesired(rest, existing) && holdsDesired(notificationChannels, existingChannels)) return 'unchanged';
      await gcloud(context, [...POLICIES, 'update', String(existing.name), project, `--policy=${JSON.stringify(desired)}`]);
      return 'updated';
    },
  };
}

/**
 * The monitoring part, in order: notification channels, log-based metrics (the policies count
 * them), uptime checks, alert policies (each notifying every channel).
 */
export function monitoringSteps(input: MonitoringInput, declarations = readMonitoringDeclarations(input.root)): DeployStep[] {
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(input.operatorEmail)) throw deployError('invalid_deploy_settings', 'The operator email for alerts is not an email address');
  const channels = channelSpecs(input);
  return [
    ...channels.map((spec) => channelStep(input, spec)),
    ...declarations.metrics.map((metric) => metricStep(input, metric)),
    ...declarations.uptimeChecks.map((check) => uptimeCheckStep(input, check)),
    ...declarations.policies.map((policy) =>
      policyStep(
        input,
        policy,
        channels.map((spec) => spec.displayName),
      ),
    ),
  ];
}

