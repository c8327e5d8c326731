/** `npm run bench [-- name]`: runs bench/<name>.ts, or every benchmark. Figures only, no pass/fail. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const requested = process.argv.slice(2);
const all = readdirSync(new URL('.', import.meta.url)).filter((file) => file.endsWith('.ts') && file !== 'run.ts').map((file) => file.slice(0, -3));
for (const name of requested.length > 0 ? requested : all) {
  console.log(`\n== ${name}`);
  const result = spawnSync('npx', ['tsx', `bench/${name}.ts`], { stdio: 'inherit' });
  if (result.status !== 0) process.exitCode = 1;
}
