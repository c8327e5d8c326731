/**
 * `npm run deploy -- --project=P --region=R [--apply] [--only <part>]`: prints the plan (every step's
 * summary and exact commands; needs no credentials) or, with `--apply`, carries it out step by step.
 * Every step reads the current state first, so a second `--apply` changes nothing and says so.
 * See docs/deploy.md.
 */
import { runDeployCli } from '../shared/deploy/index.js';

process.exitCode = await runDeployCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
