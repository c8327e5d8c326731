import { timingSafeEqual } from 'node:crypto';
import type { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import type { KeyValueStore } from '../../kv/index.js';
import type { Logger } from '../../logging/index.js';
import type { BotContext } from './context.js';

export const SECRET_TOKEN_HEADER = 'x-telegram-bot-api-secret-token';

export interface WebhookDeps {
  bot: Bot<BotContext>;
  kv: KeyValueStore;
  logger: Logger;
  /** TELEGRAM_WEBHOOK_SECRET, given to setWebhook as secret_token. */
  secretToken: string;
}

export interface WebhookResult {
  status: number;
  body: unknown;
}

// An update being processed holds its id this long; a finished one is remembered for a day
// (Telegram redelivers for at most 24 hours).
const PROCESSING_SECONDS = 120;
const DONE_SECONDS = 86_400;

function isSecretValid(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * One webhook delivery: 401 without the right secret token (nothing processed), then each
 * `update_id` handled once — claimed in the key-value store before the bot runs, kept when it
 * succeeds, released when it fails transiently (answered 500 so Telegram redelivers it).
 */
export async function handleWebhookUpdate(deps: WebhookDeps, request: { secretToken: string | undefined; body: unknown }): Promise<WebhookResult> {
  if (!isSecretValid(request.secretToken, deps.secretToken)) {
    deps.logger.warn('telegram.webhook_unauthorized');
    return { status: 401, body: { error: { code: 'invalid_secret_token', message: 'Missing or wrong X-Telegram-Bot-Api-Secret-Token' } } };
  }
  const update = request.body as Update | undefined;
  if (!update || typeof update !== 'object' || !Number.isSafeInteger(update.update_id)) {
    return { status: 400, body: { error: { code: 'invalid_update', message: 'The body is not a Telegram Update' } } };
  }
  const key = `tg-update:${update.update_id}`;
  if (!(await deps.kv.setIfAbsent(key, 'processing', { ttlSeconds: PROCESSING_SECONDS }))) {
    deps.logger.info('telegram.update_duplicate', { updateId: update.update_id });
    return { status: 200, body: { ok: true, duplicate: true } };
  }
  try {
    await deps.bot.handleUpdate(update);
  } catch (error) {
    await deps.kv.delete(key).catch(() => undefined);
    deps.logger.error('telegram.update_will_retry', { updateId: update.update_id, error });
    return { status: 500, body: { error: { code: 'temporarily_unavailable', message: 'Please retry' } } };
  }
  await deps.kv.set(key, 'done', { ttlSeconds: DONE_SECONDS });
  return { status: 200, body: { ok: true } };
}
