import type { DeployStep } from './deploy-step.js';
import { secretIdFor } from './deployment-plan.js';
import { deployError } from './errors.js';
import { commandLine, describe, need } from './gcloud.js';
import { readSecretValue } from './steps-secrets.js';

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
