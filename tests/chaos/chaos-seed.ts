/**
 * One chaos run in its own process (functions read their configuration once per process):
 * `tsx tests/chaos/chaos-seed.ts --seed 42 --payments 200`. Progress on stderr, the report as the
 * last line of stdout (JSON). `npm run chaos` runs several of these and prints the table.
 */
import { runChaos } from './chaos-run.js';

const args = process.argv.slice(2);
const value = (name: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
const seed = BigInt(value('seed') ?? '1');
const payments = Number.parseInt(value('payments') ?? '200', 10);
const report = await runChaos({ seed, payments, log: (line) => process.stderr.write(`${line}\n`) });
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
