import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DeployStep } from './deploy-step.js';
import { secretIdFor } from './deployment-plan.js';
import { deployError } from './errors.js';
import { commandLine, describe, need, run } from './gcloud.js';
import { readSecretValue } from './steps-secrets.js';

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

/** The update types the bot handles; `chat_member` is opt-in and the invite-link leak guard needs it. */
export const TELEGRAM_ALLOWED_UPDATES = ['message', 'callback_query', 'chat_member', 'my_chat_member'] as const;

/**
 * Points Telegram at the webhook function with the secret token and the allowed updates. The bot
 * token and the webhook secret are read from Secret Manager and never printed. Telegram does not
 * reveal the secret token it holds, so the step compares the URL and the update types; after
 * rotating `telegram-webhook-secret`, the functions step redeploys and this one must be forced
 * (`--only telegram --force`).
 */
export function telegramSteps(input: { projectId: string; region: string; force?: boolean }): DeployStep[] {
  const tokenSecret = secretIdFor('TELEGRAM_BOT_TOKEN');
  const webhookSecret = secretIdFor('TELEGRAM_WEBHOOK_SECRET');
  const describeArgs = ['functions', 'describe', 'telegram-webhook', '--gen2', `--region=${input.region}`, `--project=${input.projectId}`];
  return [
    {
      part: 'telegram',
      id: 'telegram/webhook/telegram-webhook',
      summary: `Telegram setWebhook: the telegram-webhook function's URL, secret_token from ${webhookSecret}, allowed_updates ${TELEGRAM_ALLOWED_UPDATES.join(', ')} (bot token from ${tokenSecret}, never printed)`,
      commands: [
        `${commandLine('gcloud', describeArgs)}  # serviceConfig.uri`,
        `POST https://api.telegram.org/bot<${tokenSecret}>/setWebhook {"url": "<uri>", "secret_token": "<${webhookSecret}>", "allowed_updates": ${JSON.stringify(TELEGRAM_ALLOWED_UPDATES)}}`,
      ],
      async apply(context) {
        const described = await describe<{ serviceConfig?: { uri?: string } }>(context, describeArgs);
        const url = described?.serviceConfig?.uri;
        if (!url) throw deployError('deploy_state_conflict', 'telegram-webhook is not deployed yet: run the functions part first');
        const client = need(context.secrets, 'Secret Manager');
        const token = (await readSecretValue(client, input.projectId, tokenSecret)).toString('utf8').trim();
        const call = async (method: string, body?: unknown) => {
          const response = await (context.fetch ?? fetch)(`https://api.telegram.org/bot${token}/${method}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body ?? {}),
          });
          const answer = (await response.json().catch(() => ({}))) as { ok?: boolean; result?: { url?: string; allowed_updates?: string[] }; description?: string };
          // Only Telegram's description: the URL carries the token.
          if (!answer.ok) throw deployError('deploy_command_failed', `Telegram ${method} failed: ${answer.description ?? response.status}`);
          return answer.result;
        };
        const info = await call('getWebhookInfo');
        const isSame = info?.url === url && JSON.stringify([...(info.allowed_updates ?? [])].sort()) === JSON.stringify([...TELEGRAM_ALLOWED_UPDATES].sort());
        if (isSame && !input.force) return 'unchanged';
        const secretToken = (await readSecretValue(client, input.projectId, webhookSecret)).toString('utf8').trim();
        await call('setWebhook', { url, secret_token: secretToken, allowed_updates: TELEGRAM_ALLOWED_UPDATES });
        return info?.url ? 'updated' : 'created';
      },
    },
  ];
}
