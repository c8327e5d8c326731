import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPubSubCloudEvent } from '../bus/index.js';
import type { ChangeNowClient } from '../changenow/index.js';
import { receiveIpn } from '../payments/index.js';
import { quotePayout } from '../payouts/index.js';
import { consume, deadLetterSink } from '../pubsub-entry/index.js';
import { insertPayout } from '../testing/fixtures.js';
import { compileLogFilter, type LogEntry, logEntryOfLine } from '../testing/log-filter.js';
import { payoutAtStage } from '../testing/payout-steps.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { watchStuckWork } from '../watchdog/index.js';
import type { ApplyContext, CommandRunner, StepOutcome } from './deploy-step.js';
import { EMAIL_CHANNEL_NAME, holdsDesired, type MonitoringDeclarations, monitoringSteps, readMonitoringDeclarations } from './monitoring.js';

const TARGET = { projectId: 'pgp-sample', region: 'europe-west1' };
const FUNCTIONS = ['dashboard-api', 'nowpayments-ipn', 'settle-payment'];
const EMAIL = 'operator@example.com';

type Resource = Record<string, unknown>;

/**
 * gcloud as far as the monitoring steps use it, on in-memory state: `list` answers JSON the way the
 * APIs write resources (their own name and records added, zero values left out), `create`,
 * `update` and `delete` change the state. Every call is recorded.
 */
function createFakeGcloud() {
  const state = { channels: [] as Resource[], metrics: [] as Resource[], uptimeChecks: [] as Resource[], policies: [] as Resource[] };
  const calls: string[][] = [];
  let serial = 0;
  const flag = (args: string[], name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const positional = (args: string[], index: number) => args.filter((arg) => !arg.startsWith('--'))[index] ?? '';
  // proto3 JSON: numbers that are 0 are not written.
  const asApiWrites = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(asApiWrites);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== 0).map(([key, item]) => [key, asApiWrites(item)]));
    }
    return value;
  };
  const uptimeFrom = (args: string[], previous?: Resource): Resource => {
    const labels = Object.fromEntries((flag(args, 'resource-labels') ?? '').split(',').filter(Boolean).map((pair) => pair.split('=') as [string, string]));
    const codes = flag(args, 'status-codes') ?? flag(args, 'set-status-codes');
    const old = (previous?.httpCheck ?? {}) as Resource;
    return {
      name: previous?.name ?? `projects/${TARGET.projectId}/uptimeCheckConfigs/check-${++serial}`,
      displayName: previous?.displayName ?? positional(args, 3),
      monitoredResource: previous?.monitoredResource ?? { type: 'uptime_url', labels },
      httpCheck: {
        ...old,
        path: flag(args, 'path') ?? old.path,
        requestMethod: 'GET',
        useSsl: true,
        acceptedResponseStatusCodes: codes ? codes.split(',').map((code) => ({ statusValue: Number(code) })) : old.acceptedResponseStatusCodes,
      },
      period: `${Number(flag(args, 'period')) * 60}s`,
      timeout: `${flag(args, 'timeout')}s`,
    };
  };
  const runner: CommandRunner = {
    async run(command, args) {
      calls.push([command, ...args]);
      const verb = args.join(' ');
      const ok = (stdout = '') => ({ exitCode: 0, stdout, stderr: '' });
      if (verb.startsWith('beta monitoring channels list')) return ok(JSON.stringify(state.channels));
      if (verb.startsWith('beta monitoring channels create')) {
        state.channels.push({ ...(JSON.parse(flag(args, 'channel-content') ?? '{}') as Resource), name: `projects/${TARGET.projectId}/notificationChannels/${++serial}` });
        return ok();
      }
      if (verb.startsWith('beta monitoring channels update')) {
        const index = state.channels.findIndex((channel) => channel.name === positional(args, 4));
        state.channels[index] = { ...(JSON.parse(flag(args, 'channel-content') ?? '{}') as Resource), name: positional(args, 4) };
        return ok();
      }
      if (verb.startsWith('logging metrics list')) return ok(JSON.stringify(state.metrics));
      if (verb.startsWith('logging metrics create') || verb.startsWith('logging metrics update')) {
        const name = positional(args, 3);
        const metric = { name, description: flag(args, 'description'), filter: flag(args, 'log-filter'), metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64' } };
        state.metrics = [...state.metrics.filter((existing) => existing.name !== name), metric];
        return ok();
      }
      if (verb.startsWith('monitoring uptime list-configs')) return ok(JSON.stringify(state.uptimeChecks));
      if (verb.startsWith('monitoring uptime create')) {
        state.uptimeChecks.push(uptimeFrom(args));
        return ok();
      }
      if (verb.startsWith('monitoring uptime update')) {
        const index = state.uptimeChecks.findIndex((check) => String(check.name).endsWith(`/${positional(args, 3)}`));
        state.uptimeChecks[index] = uptimeFrom(args, state.uptimeChecks[index]);
        return ok();
      }
      if (verb.startsWith('monitoring uptime delete')) {
        state.uptimeChecks = state.uptimeChecks.filter((check) => !String(check.name).endsWith(`/${positional(args, 3)}`));
        return ok();
      }
      if (verb.startsWith('alpha monitoring policies list')) return ok(JSON.stringify(state.policies));
      if (verb.startsWith('alpha monitoring policies create')) {
        const policy = asApiWrites(JSON.parse(flag(args, 'policy') ?? '{}')) as Resource;
        state.policies.push({ ...policy, name: `projects/${TARGET.projectId}/alertPolicies/${++serial}`, creationRecord: { mutateTime: '2026-12-06T00:00:00Z' } });
        return ok();
      }
      if (verb.startsWith('alpha monitoring policies update')) {
        const index = state.policies.findIndex((policy) => policy.name === positional(args, 4));
        state.policies[index] = { ...(asApiWrites(JSON.parse(flag(args, 'policy') ?? '{}')) as Resource), name: positional(args, 4) };
        return ok();
      }
      return { exitCode: 2, stdout: '', stderr: `fake gcloud: unknown command ${verb}` };
    },
  };
  return { runner, state, calls };
}

async function applyAll(input: Parameters<typeof monitoringSteps>[0], runner: CommandRunner, declarations?: MonitoringDeclarations) {
  const lines: string[] = [];
  const context: ApplyContext = { target: TARGET, commands: runner, log: (line) => lines.push(line) };
  const outcomes: Record<string, StepOutcome> = {};
  for (const step of monitoringSteps(input, declarations)) outcomes[step.id] = await step.apply(context);
  return { outcomes, lines };
}

const input = { target: TARGET, functions: FUNCTIONS, operatorEmail: EMAIL };
/** The gcloud calls that change something, as verb and resource (`alpha monitoring policies update projects/…`). */
const mutating = (calls: string[][]) =>
  calls.filter((call) => !call.some((arg) => arg === 'list' || arg === 'list-configs')).map((call) => call.slice(1).filter((arg) => !arg.startsWith('--')).join(' '));

describe('monitoringSteps', () => {
  it('first apply creates every channel, metric, uptime check and policy; a second changes nothing', async () => {
    const gcloud = createFakeGcloud();
    const first = await applyAll(input, gcloud.runner);
    const declarations = readMonitoringDeclarations();
    expect(Object.keys(first.outcomes)).toEqual([
      'monitoring/channel/email',
      ...declarations.metrics.map((metric) => `monitoring/log-metric/${metric.name}`),
      ...declarations.uptimeChecks.map((check) => `monitoring/uptime-check/${check.key}`),
      ...declarations.policies.map((policy) => `monitoring/alert-policy/${policy.key}`),
    ]);
    expect(new Set(Object.values(first.outcomes))).toEqual(new Set(['created']));
    expect(gcloud.state.policies).toHaveLength(declarations.policies.length);
    // Every policy notifies the email channel, by its resource name.
    const channelName = gcloud.state.channels.find((channel) => channel.displayName === EMAIL_CHANNEL_NAME)?.name;
    for (const policy of gcloud.state.policies) expect(policy.notificationChannels).toEqual([channelName]);
    const errorRate = gcloud.state.policies.find((policy) => String(policy.displayName).includes('5xx'));
    expect(JSON.stringify(errorRate)).toContain('one_of(\\"dashboard-api\\", \\"nowpayments-ipn\\", \\"settle-payment\\")');

    gcloud.calls.length = 0;
    const second = await applyAll(input, gcloud.runner);
    expect(new Set(Object.values(second.outcomes))).toEqual(new Set(['unchanged']));
    expect(mutating(gcloud.calls)).toEqual([]);
  });

  it('a changed threshold updates that policy in place, and nothing else', async () => {
    const gcloud = createFakeGcloud();
    await applyAll(input, gcloud.runner);
    const declarations = readMonitoringDeclarations();
    const ipn = declarations.policies.find((policy) => policy.key === 'ipn-signature-failures');
    const condition = ipn?.conditions[0] as { conditionThreshold: { thresholdValue: number } } | undefined;
    if (!condition) throw new Error('no ipn-signature-failures policy');
    condition.conditionThreshold.thresholdValue = 50;
    const before = gcloud.state.policies.find((policy) => policy.displayName === ipn?.displayName)?.name;

    gcloud.calls.length = 0;
    const { outcomes } = await applyAll(input, gcloud.runner, declarations);
    expect(Object.entries(outcomes).filter(([, outcome]) => outcome !== 'unchanged')).toEqual([['monitoring/alert-policy/ipn-signature-failures', 'updated']]);
    expect(mutating(gcloud.calls)).toEqual([`alpha monitoring policies update ${before}`]);
    const after = gcloud.state.policies.find((policy) => policy.displayName === ipn?.displayName);
    expect(after?.name).toBe(before);
    expect(JSON.stringify(after?.conditions)).toContain('"thresholdValue":50');
    expect((await applyAll(input, gcloud.runner, declarations)).outcomes['monitoring/alert-policy/ipn-signature-failures']).toBe('unchanged');
  });

  it('updates a changed metric filter, uptime timeout, operator email; recreates a check on a new host', async () => {
    const gcloud = createFakeGcloud();
    await applyAll(input, gcloud.runner);
    const declarations = readMonitoringDeclarations();
    const held = declarations.metrics.find((metric) => metric.name === 'pgp-payouts-held');
    if (!held) throw new Error('no pgp-payouts-held metric');
    held.filter = `${held.filter} AND severity>=WARNING`;
    const health = declarations.uptimeChecks.find((check) => check.key === 'dashboard-api-health');
    if (!health) throw new Error('no dashboard-api-health check');
    health.timeoutSeconds = 20;

    const { outcomes } = await applyAll({ ...input, operatorEmail: 'ops@example.com' }, gcloud.runner, declarations);
    expect(Object.entries(outcomes).filter(([, outcome]) => outcome !== 'unchanged')).toEqual([
      ['monitoring/channel/email', 'updated'],
      ['monitoring/log-metric/pgp-payouts-held', 'updated'],
      ['monitoring/uptime-check/dashboard-api-health', 'updated'],
    ]);
    expect(gcloud.state.channels).toHaveLength(1);

    const moved = await applyAll({ ...input, operatorEmail: 'ops@example.com', publicBaseUrl: 'https://pay.example.com' }, gcloud.runner, declarations);
    const changed = Object.entries(moved.outcomes).filter(([, outcome]) => outcome !== 'unchanged').map(([id]) => id);
    // Every uptime check (new host) and the endpoint-down policy (its filter names the host).
    expect(changed).toEqual([...declarations.uptimeChecks.map((check) => `monitoring/uptime-check/${check.key}`), 'monitoring/alert-policy/endpoint-down']);
    expect(gcloud.state.uptimeChecks.map((check) => (check.monitoredResource as { labels: { host: string } }).labels.host)).toEqual(declarations.uptimeChecks.map(() => 'pay.example.com'));
  });

  it('adds the Telegram webhook channel when given, and every policy notifies both', async () => {
    const gcloud = createFakeGcloud();
    const { outcomes } = await applyAll({ ...input, telegramWebhookUrl: 'https://europe-west1-pgp-sample.cloudfunctions.net/alert-relay?token=abc' }, gcloud.runner);
    expect(outcomes['monitoring/channel/telegram']).toBe('created');
    for (const policy of gcloud.state.policies) expect(policy.notificationChannels).toHaveLength(2);
  });

  it('prints the plan without the operator’s address or the webhook’s token', () => {
    const steps = monitoringSteps({ ...input, telegramWebhookUrl: 'https://relay.example.com/hook?token=s3cret' });
    const printed = steps.flatMap((step) => [step.summary, ...step.commands]).join('\n');
    expect(printed).not.toContain(EMAIL);
    expect(printed).not.toContain('s3cret');
    expect(printed).toContain('o***@example.com');
    expect(steps.find((step) => step.id === 'monitoring/uptime-check/dashboard-api-health')?.commands[0]).toBe(
      "gcloud monitoring uptime create 'pgp dashboard-api health' --project=pgp-sample --resource-type=uptime-url --resource-labels=host=pgp-sample.web.app,project_id=pgp-sample --protocol=https --path=/api/v1/health --request-method=get --status-codes=200 --period=5 --timeout=10 --user-labels=managed-by=paygateprime-deploy",
    );
  });

  it('stops with gcloud’s own words when a command fails', async () => {
    const failing: CommandRunner = { run: async () => ({ exitCode: 1, stdout: '', stderr: 'ERROR: (gcloud) PERMISSION_DENIED' }) };
    const [first] = monitoringSteps(input);
    await expect(first?.apply({ target: TARGET, commands: failing, log: () => undefined })).rejects.toMatchObject({ code: 'deploy_command_failed', message: expect.stringContaining('PERMISSION_DENIED') });
  });

  it('compares what the API lists by the desired fields only, zero values matching absent ones', () => {
    expect(holdsDesired({ a: 0, b: [1], c: { d: 'x  y' } }, { b: [1], c: { d: 'x y', extra: true }, name: 'n' })).toBe(true);
    expect(holdsDesired({ a: 1 }, {})).toBe(false);
    expect(holdsDesired({ b: [1, 2] }, { b: [1] })).toBe(false);
  });
});

describe('the log filter matcher', () => {
  const entry = (severity: string, payload: Record<string, unknown>): LogEntry => ({ severity, jsonPayload: payload, resource: { type: 'cloud_run_revision', labels: { service_name: 'reconcile' } } });
  it.each([
    ['severity>=CRITICAL', entry('CRITICAL', {}), true],
    ['severity>=CRITICAL', entry('ERROR', {}), false],
    ['jsonPayload.deadLetterId:*', entry('INFO', { deadLetterId: '1' }), true],
    ['NOT jsonPayload.deadLetterId:*', entry('INFO', { deadLetterId: '1' }), false],
    ['jsonPayload.message=("a" OR "b")', entry('INFO', { message: 'b' }), true],
    ['jsonPayload.message=~"^stuck[.]payouts[.]"', entry('INFO', { message: 'stuck.payouts.held' }), true],
    ['jsonPayload.message=~"^stuck[.]payouts[.]"', entry('INFO', { message: 'stuck.payoutsXheld' }), false],
    ['resource.type="cloud_run_revision" AND (severity=ERROR OR severity=CRITICAL)', entry('ERROR', {}), true],
  ])('%s', (filter, logEntry, expected) => {
    expect(compileLogFilter(filter)(logEntry)).toBe(expected);
  });
  it('refuses syntax it does not know', () => {
    expect(() => compileLogFilter('jsonPayload.a = "x" ~ y')).toThrow();
  });
});

/**
 * Each metric's filter against what the code writes: the code paths run with the logger writing to
 * a buffer (the stage harness), each line becomes the entry Cloud Logging would store, and each
 * metric must count exactly the events it is for.
 */
describe('the log-based metrics count lines the code writes', () => {
  let h: StageHarness;
  const entries: { event: string; entry: LogEntry }[] = [];

  beforeAll(async () => {
    h = await createStageHarness();
    const collect = (serviceName: string, run: () => Promise<unknown>) => async () => {
      const from = h.logLines.length;
      await run();
      for (const line of h.logLines.slice(from)) {
        const entry = logEntryOfLine(line, serviceName);
        entries.push({ event: String(entry.jsonPayload.message), entry });
      }
    };

    // A message that exhausted its attempts reaches the dead-letter sink.
    const request = buildPubSubCloudEvent({
      projectId: 'paygateprime-test',
      topic: 'payment-settled-dlq',
      subscription: 'payment-settled-dlq--record-dead-letter',
      pubsubMessageId: 'dlq-1',
      publishTime: h.clock.now(),
      data: JSON.stringify({ paymentId: 'pay_1' }),
      attributes: { CloudPubSubDeadLetterSourceSubscription: 'projects/paygateprime-test/subscriptions/payment-settled--settle-payment', CloudPubSubDeadLetterSourceDeliveryCount: '10' },
    });
    const sink = deadLetterSink({ consumer: 'record-dead-letter' });
    await collect('record-dead-letter', () =>
      sink({ id: request.headers['ce-id'] ?? '', source: request.headers['ce-source'] ?? '', type: request.headers['ce-type'] ?? '', specversion: '1.0', data: JSON.parse(request.body) as unknown }),
    )();

    // A stage receives a message that fails its schema: recorded as a dead letter at once.
    const invalid = buildPubSubCloudEvent({
      projectId: 'paygateprime-test',
      topic: 'payment-settled',
      subscription: 'payment-settled--settle-payment',
      pubsubMessageId: 'bad-1',
      publishTime: h.clock.now(),
      data: JSON.stringify({ notAPaymentId: true }),
      attributes: {},
    });
    const stage = consume({ consumer: 'settle-payment', topic: 'payment-settled', handle: async () => undefined });
    await collect('settle-payment', () =>
      stage({ id: invalid.headers['ce-id'] ?? '', source: invalid.headers['ce-source'] ?? '', type: invalid.headers['ce-type'] ?? '', specversion: '1.0', data: JSON.parse(invalid.body) as unknown }),
    )();

    // An IPN with a wrong signature.
    await collect('nowpayments-ipn', () =>
      receiveIpn(
        { db: h.db, clock: h.clock, logger: h.logger, ipnSecret: 'the-ipn-secret', isAllowedIp: () => true },
        { rawBody: '{"payment_id":1}', signature: 'f'.repeat(128), clientIp: '203.0.113.9', headers: {} },
      ),
    )();

    // A payout over the limits is held (no USD value: held before any provider call).
    const held = await payoutAtStage(h.db, { destination: 'ETH', usdCents: null });
    const changenow = {} as ChangeNowClient;
    await collect('quote-payout', () => quotePayout({ ...h, changenow, limits: { perPayoutMaxUsdCents: 100_000n, dailyCapUsdCents: 150_000n } }, held.id))();

    // A payout sits past its age limit; the watchdog (reconcile) alerts it, and what else the
    // rows above left waiting (the outbox rows nobody relayed, the channel's due tier post).
    await insertPayout(h.db);
    h.clock.advance(61 * 60_000);
    await collect('reconcile', () => watchStuckWork(h))();
  });
  afterAll(() => h?.close());

  const counted = (name: string) => {
    const metric = readMonitoringDeclarations().metrics.find((candidate) => candidate.name === name);
    if (!metric) throw new Error(`no metric ${name}`);
    const matches = compileLogFilter(metric.filter);
    return [...new Set(entries.filter(({ entry }) => matches(entry)).map(({ event }) => event))].sort();
  };

  it('the code paths wrote the lines the metrics are for', () => {
    expect(entries.map(({ event }) => event)).toEqual(expect.arrayContaining(['dead_letter.recorded', 'ipn.signature_invalid', 'payout.held', 'stuck.payouts.requested', 'stuck.outbox.unpublished']));
  });

  it.each([
    ['pgp-dead-letters', ['dead_letter.recorded', 'message.invalid']],
    ['pgp-payouts-held', ['payout.held']],
    ['pgp-payouts-stuck', ['stuck.payouts.requested']],
    ['pgp-ipn-signature-invalid', ['ipn.signature_invalid']],
  ])('%s counts %j', (name, events) => {
    expect(counted(name)).toEqual(events);
  });

  it('pgp-critical-logs counts every other CRITICAL line (each CRITICAL line alerts once)', () => {
    const others = entries
      .filter(({ entry, event }) => entry.severity === 'CRITICAL' && !['dead_letter.recorded', 'message.invalid'].includes(event) && !event.startsWith('stuck.payouts.'))
      .map(({ event }) => event);
    expect(others).toContain('stuck.outbox.unpublished');
    expect(counted('pgp-critical-logs')).toEqual([...new Set(others)].sort());
  });

  it('every metric in log-metrics.yaml is checked here', () => {
    expect(readMonitoringDeclarations().metrics.map((metric) => metric.name).sort()).toEqual(
      ['pgp-critical-logs', 'pgp-dead-letters', 'pgp-ipn-signature-invalid', 'pgp-payouts-held', 'pgp-payouts-stuck'],
    );
  });
});
