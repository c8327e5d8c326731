import type { DeployStep, StepOutcome } from './deploy-step.js';
import { secretIdFor } from './deployment-plan.js';
import { deployError } from './errors.js';
import { commandLine, describe, need, run } from './gcloud.js';
import { readSecretValue } from './steps-secrets.js';

/** The Cloud SQL for PostgreSQL instance, database and user, and how migrations reach it. */
export interface DatabaseSpec {
  /** PROJECT:REGION:INSTANCE. */
  connectionName: string;
  databaseVersion: 'POSTGRES_15';
  /** e.g. db-custom-1-3840 (1 vCPU, 3.75 GB). */
  tier: string;
  /** REGIONAL is the high-availability option (a standby in another zone, about twice the cost). */
  availabilityType: 'ZONAL' | 'REGIONAL';
  /** UTC HH:MM when the daily backup starts. */
  backupStartTime: string;
  retainedBackups: number;
  /** Point-in-time recovery window (write-ahead logs kept), days. */
  transactionLogDays: number;
  flags: Record<string, string>;
  database: string;
  user: string;
  /** Local port of the Cloud SQL Auth Proxy the migration step starts. */
  proxyPort: number;
}

export function defaultDatabaseSpec(projectId: string, region: string): DatabaseSpec {
  return {
    connectionName: `${projectId}:${region}:paygateprime`,
    databaseVersion: 'POSTGRES_15',
    tier: 'db-custom-1-3840',
    availabilityType: 'ZONAL',
    backupStartTime: '03:00',
    retainedBackups: 14,
    transactionLogDays: 7,
    // Connections = Σ maxInstances × DB_POOL_MAX (2); slow statements and lock waits are logged.
    flags: { max_connections: '200', log_min_duration_statement: '1000', log_lock_waits: 'on' },
    database: 'paygateprime',
    user: 'paygateprime',
    proxyPort: 5433,
  };
}

interface SqlInstance {
  databaseVersion?: string;
  settings?: {
    tier?: string;
    availabilityType?: string;
    deletionProtectionEnabled?: boolean;
    databaseFlags?: { name: string; value: string }[];
    backupConfiguration?: {
      enabled?: boolean;
      startTime?: string;
      pointInTimeRecoveryEnabled?: boolean;
      transactionLogRetentionDays?: number;
      backupRetentionSettings?: { retainedBackups?: number };
    };
  };
}

const flagList = (flags: Record<string, string>) =>
  Object.entries(flags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`)
    .join(',');

/** The settings of `current` that differ from the spec, by name (empty: nothing to patch). */
export function instanceDifferences(current: SqlInstance, spec: DatabaseSpec): string[] {
  const settings = current.settings ?? {};
  const backups = settings.backupConfiguration ?? {};
  const differences: string[] = [];
  if (settings.tier !== spec.tier) differences.push('tier');
  if (settings.availabilityType !== spec.availabilityType) differences.push('availability-type');
  if (!settings.deletionProtectionEnabled) differences.push('deletion-protection');
  if (!backups.enabled || backups.startTime !== spec.backupStartTime) differences.push('backups');
  if (!backups.pointInTimeRecoveryEnabled || backups.transactionLogRetentionDays !== spec.transactionLogDays) differences.push('point-in-time-recovery');
  if (backups.backupRetentionSettings?.retainedBackups !== spec.retainedBackups) differences.push('retained-backups');
  const currentFlags = Object.fromEntries((settings.databaseFlags ?? []).map((flag) => [flag.name, flag.value]));
  if (flagList(currentFlags) !== flagList(spec.flags)) differences.push('database-flags');
  return differences;
}

/** The secret DATABASE_URL's parts (socket form `postgres://user:password@/db?host=/cloudsql/P:R:I`). */
function databaseUrlParts(url: string): { user: string; password: string; database: string } {
  const match = url.match(/^postgres(?:ql)?:\/\/([^:@/]+):([^@]*)@[^/]*\/([^?]+)/);
  if (!match) throw deployError('deploy_state_conflict', 'the database-url secret is not a postgres://user:password@…/database URL');
  return { user: decodeURIComponent(match[1]!), password: decodeURIComponent(match[2]!), database: match[3]! };
}

export function databaseSteps(spec: DatabaseSpec, projectId: string): DeployStep[] {
  const [, region, instance] = spec.connectionName.split(':') as [string, string, string];
  const settingsFlags = [
    `--tier=${spec.tier}`,
    `--availability-type=${spec.availabilityType.toLowerCase()}`,
    `--backup-start-time=${spec.backupStartTime}`,
    `--retained-backups-count=${spec.retainedBackups}`,
    '--enable-point-in-time-recovery',
    `--retained-transaction-log-days=${spec.transactionLogDays}`,
    '--deletion-protection',
    `--database-flags=${flagList(spec.flags)}`,
  ];
  const create = ['sql', 'instances', 'create', instance, `--project=${projectId}`, `--region=${region}`, `--database-version=${spec.databaseVersion}`, '--edition=enterprise', ...settingsFlags, '--storage-auto-increase'];
  const patch = ['sql', 'instances', 'patch', instance, `--project=${projectId}`, ...settingsFlags];
  const createDatabase = ['sql', 'databases', 'create', spec.database, `--instance=${instance}`, `--project=${projectId}`];
  const databaseUrlSecret = secretIdFor('DATABASE_URL');
  const proxyUrl = `postgres://${spec.user}:<password from secret ${databaseUrlSecret}>@127.0.0.1:${spec.proxyPort}/${spec.database}`;
  // Reads the URL from stdin so the password is on no command line; stops the proxy however migrate ends.
  const migrateScript = [
    'set -euo pipefail',
    'read -r DATABASE_URL; export DATABASE_URL',
    `cloud-sql-proxy ${spec.connectionName} --port=${spec.proxyPort} --quiet & proxy=$!`,
    'trap \'kill "$proxy"\' EXIT',
    `for attempt in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/${spec.proxyPort}) 2>/dev/null && break; sleep 1; done`,
    'npm run --silent migrate',
  ].join('\n');
  return [
    {
      part: 'database',
      id: `database/instance/${instance}`,
      summary: `Cloud SQL ${spec.databaseVersion} instance ${instance} in ${region}: ${spec.tier}, ${spec.availabilityType.toLowerCase()}, daily backups at ${spec.backupStartTime} UTC (${spec.retainedBackups} kept), point-in-time recovery ${spec.transactionLogDays} days, deletion protection, flags ${flagList(spec.flags)}`,
      commands: [commandLine('gcloud', create), `# when it exists with other settings: ${commandLine('gcloud', patch)}`],
      async apply(context): Promise<StepOutcome> {
        const current = await describe<SqlInstance>(context, ['sql', 'instances', 'describe', instance, `--project=${projectId}`]);
        if (!current) {
          await run(context, 'gcloud', create);
          return 'created';
        }
        if (current.databaseVersion !== spec.databaseVersion) {
          throw deployError('deploy_state_conflict', `instance ${instance} runs ${current.databaseVersion}, not ${spec.databaseVersion}: a major upgrade is a manual step`);
        }
        if (instanceDifferences(current, spec).length === 0) return 'unchanged';
        await run(context, 'gcloud', patch);
        return 'updated';
      },
    },
    {
      part: 'database',
      id: `database/database/${spec.database}`,
      summary: `Database ${spec.database} on ${instance}`,
      commands: [commandLine('gcloud', createDatabase)],
      async apply(context) {
        if (await describe(context, ['sql', 'databases', 'describe', spec.database, `--instance=${instance}`, `--project=${projectId}`])) return 'unchanged';
        await run(context, 'gcloud', createDatabase);
        return 'created';
      },
    },
    {
      part: 'database',
      id: `database/user/${spec.user}`,
      summary: `Database user ${spec.user} on ${instance}, password from secret ${databaseUrlSecret} (never printed)`,
      commands: [commandLine('gcloud', ['sql', 'users', 'create', spec.user, `--instance=${instance}`, `--project=${projectId}`, `--password=<from secret ${databaseUrlSecret}>`])],
      async apply(context) {
        const users = (await describe<{ name: string }[]>(context, ['sql', 'users', 'list', `--instance=${instance}`, `--project=${projectId}`])) ?? [];
        if (users.some((user) => user.name === spec.user)) return 'unchanged';
        const url = databaseUrlParts((await readSecretValue(need(context.secrets, 'Secret Manager'), projectId, databaseUrlSecret)).toString('utf8'));
        if (url.user !== spec.user) throw deployError('deploy_state_conflict', `the ${databaseUrlSecret} secret names user ${url.user}, the plan ${spec.user}`);
        await run(context, 'gcloud', ['sql', 'users', 'create', spec.user, `--instance=${instance}`, `--project=${projectId}`, `--password=${url.password}`]);
        return 'created';
      },
    },
    {
      part: 'database',
      id: 'database/migrations/sql',
      summary: `Migrations in sql/ through the Cloud SQL Auth Proxy on 127.0.0.1:${spec.proxyPort} (npm run migrate: forward-only, checksummed)`,
      commands: [`cloud-sql-proxy ${spec.connectionName} --port=${spec.proxyPort} &`, `DATABASE_URL='${proxyUrl}' npm run migrate`],
      async apply(context) {
        const url = databaseUrlParts((await readSecretValue(need(context.secrets, 'Secret Manager'), projectId, databaseUrlSecret)).toString('utf8'));
        const local = `postgres://${encodeURIComponent(url.user)}:${encodeURIComponent(url.password)}@127.0.0.1:${spec.proxyPort}/${url.database}`;
        const output = await run(context, 'bash', ['-c', migrateScript], `${local}\n`);
        const applied = Number(output.match(/(\d+) applied, \d+ already applied/)?.[1] ?? Number.NaN);
        if (Number.isNaN(applied)) throw deployError('deploy_command_failed', 'npm run migrate printed no summary');
        return applied > 0 ? 'updated' : 'unchanged';
      },
    },
  ];
}
