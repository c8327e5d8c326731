/**
 * `npm test`: says which engines the suite runs against and which tests it will skip and why,
 * then runs Vitest (extra arguments pass through, e.g. `npm test -- shared/money`).
 */
import { spawnSync } from 'node:child_process';

const hasDatabaseServer = Boolean(process.env.DATABASE_URL);
const hasGcloud = spawnSync('gcloud', ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;

const describeServer = (url: string) => {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}`; // never the credentials
  } catch {
    return 'the server in DATABASE_URL';
  }
};

const lines = [
  'PayGatePrime test suite',
  hasDatabaseServer
    ? `  database:  PostgreSQL at ${describeServer(process.env.DATABASE_URL ?? '')} (a throw-away database per test file)`
    : '  database:  embedded PGlite (DATABASE_URL is unset). Skipped: tests marked "[skipped: needs DATABASE_URL]",\n' +
      '             which need a real server (concurrent transactions, bundles run as separate processes).',
  hasGcloud
    ? '  emulators: gcloud found: the bus and key-value contracts also run against the Pub/Sub and Firestore emulators'
    : '  emulators: gcloud not found. Skipped: the Pub/Sub and Firestore emulator contract tests ("[skipped without gcloud]").',
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);

const result = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=./scripts/test-summary-reporter.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
