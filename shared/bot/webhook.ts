import { randomUUID } from 'node:crypto';
import { type Bot, BotError } from 'grammy';
import type { Update } from 'grammy/types';
import { AppError } from '../errors/index.js';
import { errorResult, type HttpResult } from '../http-entry/index.js';
import type { KeyValueStore } from '../kv/index.js';
import type { Clock } from '../clock/index.js';
import type { Logger } from '../logging/index.js';
import { acceptedVersions, matchingVersion, type AcceptedVersion, type RotatingSecret } from '../secrets/index.js';
import type { BotContext } from './context.js';
import { botError } from './errors.js';

export const SECRET_TOKEN_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * Largest webhook body read (the function's limit, `publicHttpFunction`). A Telegram update is a few
 * KiB (message text is at most 4096 characters, a caption 1024); this leaves room for any update
 * with a quoted reply, entities and a keyboard, and refuses the framework's 1 GB default.
 */
export const MAX_UPDATE_BODY_BYTES = 1024 * 1024;

export interface WebhookDeps {
  bot: Bot<BotContext>;
  kv: KeyValueStore;
  logger: Logger;
  clock: Clock;
  /**
   * TELEGRAM_WEBHOOK_SECRET, given to setWebhook as secret_token; or the rotating secret, whose
   * previous value is accepted until its overlap ends (Telegram sends the old token until
   * setWebhook is called again with the new one).
   */
  secretToken: string | RotatingSecret;
  /** Re-reads the secret when a token matches no known value (another instance read a rotation first); undefined = unchanged. Optional. */
  reloadSecretToken?: () => Promise<RotatingSecret | undefined>;
}

/** Status, body (`{ ok: true }` or the error envelope) and headers (`retry-after` on a 503). */
export type WebhookResult = HttpResult;

// An update being processed holds its id this long; a finished one is remembered for a day
// (Telegram redelivers for at most 24 hours).
const PROCESSING_SECONDS = 120;
const DONE_SECONDS = 86_400;

/** The version of the secret `given` is (constant time, every version compared), reloading once when it is none. */
async function matchingSecret(deps: WebhookDeps, given: string | undefined): Promise<AcceptedVersion | undefined> {
  const now = deps.clock.now();
  const match = matchingVersion(given, acceptedVersions(deps.secretToken, now));
  if (match || !given || !deps.reloadSecretToken) return match;
  const reloaded = await deps.reloadSecretToken();
  return reloaded ? matchingVersion(given, acceptedVersions(reloaded, now)) : undefined;
}

/**
 * One webhook delivery: 401 without the right secret token (nothing processed), then each
 * `update_id` handled once — claimed in the key-value store before the bot runs, kept when it
 * succeeds, released when it fails transiently. Every refusal is the error envelope; our own trouble
 * (the store or the database down) is a 503 with `retry-after`, so Telegram redelivers the update.
 * Any other failure is acknowledged with 200 and logged: redelivering it could only loop.
 */
export async function handleWebhookUpdate(deps: WebhookDeps, request: { secretToken: string | undefined; body: unknown; requestId?: string }): Promise<WebhookResult> {
  const requestId = request.requestId ?? randomUUID();
  const secret = await matchingSecret(deps, request.secretToken);
  if (!secret) {
    deps.logger.warn('telegram.webhook_unauthorized', { requestId });
    return errorResult(botError('invalid_secret_token', 'Missing or wrong X-Telegram-Bot-Api-Secret-Token'), requestId);
  }
  // During an overlap: which value Telegram still sends (by kid, never the value), so the operator sees when setWebhook took.
  if (secret.role === 'previous') deps.logger.info('telegram.webhook_previous_secret', { requestId, kid: secret.kid });
  const update = request.body as Update | undefined;
  if (!update || typeof update !== 'object' || !Number.isSafeInteger(update.update_id)) {
    return errorResult(botError('invalid_update', 'The body is not a Telegram Update'), requestId);
  }
  const updateId = update.update_id;
  const key = `tg-update:${updateId}`;
  let isClaimed: boolean;
  try {
    isClaimed = await deps.kv.setIfAbsent(key, 'processing', { ttlSeconds: PROCESSING_SECONDS });
  } catch (error) {
    // Without the claim a redelivery could run the update twice, so it waits for the store.
    deps.logger.error('telegram.update_store_unavailable', { requestId, updateId, error });
    return errorResult(botError('update_store_unavailable', 'Updates cannot be de-duplicated right now', { updateId }, error), requestId);
  }
  if (!isClaimed) {
    deps.logger.info('telegram.update_duplicate', { requestId, updateId });
    return { status: 200, body: { ok: true, duplicate: true } };
  }
  try {
    await deps.bot.handleUpdate(update);
  } catch (error) {
    const cause = error instanceof BotError ? error.error : error;
    if (!(cause instanceof AppError && cause.isRetryable)) {
      // A bug or an update our code cannot take: a redelivery would fail the same way for a day, so
      // it is acknowledged (and stays marked, so a redelivery is a duplicate) and left to the log.
      deps.logger.error('telegram.update_rejected', { requestId, updateId, error: cause });
      await deps.kv.set(key, 'done', { ttlSeconds: DONE_SECONDS }).catch(() => undefined);
      return { status: 200, body: { ok: false } };
    }
    await deps.kv.delete(key).catch(() => undefined);
    deps.logger.error('telegram.update_will_retry', { requestId, updateId, error: cause });
    return errorResult(botError('temporarily_unavailable', 'The update could not be handled now', { updateId }, cause), requestId);
  }
  // Handled: any answer but 200 would make Telegram repeat it. Losing the marker only shortens how
  // long a duplicate is recognised (the claim above still holds for PROCESSING_SECONDS).
  await deps.kv.set(key, 'done', { ttlSeconds: DONE_SECONDS }).catch((error: unknown) => deps.logger.warn('telegram.update_mark_failed', { requestId, updateId, error }));
  return { status: 200, body: { ok: true } };
}
