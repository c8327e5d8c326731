/**
 * Vitest global setup: builds the dashboard app (web/dist) once before any test file runs, when a
 * source changed since the last build. Tests that start the local runtime, in this process or as
 * `npm start`, then all serve the same current build, and none of them rebuilds it while another
 * reads it. CI's `npm run build` has already built it: then this only compares modification times.
 */
import { buildWebApp, webAppStaleness } from '../scripts/web-build.js';

export default async function setup(): Promise<void> {
  const reason = await webAppStaleness();
  if (!reason) return;
  process.stdout.write(`Building the dashboard app for the tests (${reason})…\n`);
  await buildWebApp();
}
