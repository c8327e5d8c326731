import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DeployStep } from './deploy-step.js';
import { deployError } from './errors.js';
import { commandLine, run } from './gcloud.js';

/**
 * Firebase Hosting: the dashboard app (web/dist) with firebase.json's rewrites to the functions.
 * Unchanged when the live site serves the index.html just built (its asset names carry content
 * hashes, so the same index means the same app).
 */
export function hostingSteps(input: { root: string; projectId: string; region: string }): DeployStep[] {
  const deploy = ['deploy', '--only', 'hosting', `--project=${input.projectId}`, '--non-interactive'];
  const site = `https://${input.projectId}.web.app`;
  const config = JSON.parse(readFileSync(path.join(input.root, 'firebase.json'), 'utf8')) as { hosting?: { rewrites?: { source: string; run?: { serviceId: string; region: string } }[] } };
  const rewrites = (config.hosting?.rewrites ?? []).filter((rewrite) => rewrite.run);
  return [
    {
      part: 'hosting',
      id: 'hosting/site/web',
      summary: `Firebase Hosting ${site}: web/dist and the rewrites ${rewrites.map((rewrite) => `${rewrite.source} → ${rewrite.run!.serviceId}`).join(', ')}`,
      commands: [commandLine('firebase', deploy)],
      async apply(context) {
        const misplaced = rewrites.filter((rewrite) => rewrite.run!.region !== input.region);
        if (misplaced.length > 0) {
          throw deployError('deploy_state_conflict', `firebase.json rewrites ${misplaced.map((rewrite) => rewrite.source).join(', ')} to ${misplaced[0]!.run!.region}, the deploy is in ${input.region}: edit their region`);
        }
        const index = path.join(input.root, 'web', 'dist', 'index.html');
        if (!existsSync(index)) throw deployError('deploy_state_conflict', 'web/dist/index.html is missing: run npm run build first');
        const live = await (context.fetch ?? fetch)(`${site}/index.html`).catch(() => undefined);
        const liveText = live?.ok ? await live.text() : undefined;
        if (liveText === readFileSync(index, 'utf8')) return 'unchanged';
        await run(context, 'firebase', deploy);
        return live?.ok ? 'updated' : 'created';
      },
    },
  ];
}
