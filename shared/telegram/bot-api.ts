import { Api, type Transformer } from 'grammy';
import { configVars, loadConfig } from '../config/index.js';
import { assertNoOpenTransaction } from '../db/index.js';

/** Where grammY sends Bot API calls unless told otherwise. */
export const TELEGRAM_API_ROOT = 'https://api.telegram.org';

/**
 * How long one Bot API call may take before it fails as `telegram_unavailable`. grammY's default is
 * 500 s, far past every function's timeout: an unreachable Telegram would hang a webhook update
 * until the platform killed it, with nothing logged. 10 s leaves a 60 s function room to answer.
 */
export const BOT_API_TIMEOUT_SECONDS = 10;

export interface BotApiOptions {
  /** The bot token from @BotFather. It sits in every request URL, so never log it nor any Bot API URL. */
  token: string;
  /** Bot API server without a trailing slash. Default `https://api.telegram.org`; tests pass a simulator's `apiRoot`. */
  apiRoot?: string;
  /** Default `BOT_API_TIMEOUT_SECONDS`. */
  timeoutSeconds?: number;
}

/**
 * A grammY transformer that refuses any Bot API call made inside `Db.transaction`: a transaction held
 * open across a network call holds its row locks as long as Telegram takes, and its rows could commit
 * while the message was never sent (or the reverse). `createBotApi` installs it; install it on a
 * `Bot`'s own `bot.api` too. The refusal is a plain `Error` (a bug to fix, not a Telegram failure).
 */
export const refuseCallsInTransaction: Transformer = (prev, method, payload, signal) => {
  assertNoOpenTransaction(`telegram.${method}`);
  return prev(method, payload, signal);
};

/**
 * A grammY `Api` for pipeline stages (send-invite, notify-owner, expire-subscriptions), with
 * `refuseCallsInTransaction` installed. Failures are grammY's `GrammyError` (Telegram said no) and
 * `HttpError` (no answer); turn them into our errors with `toTelegramError`. No retries happen here:
 * a stage throws the transient error and Pub/Sub redelivers.
 */
export function createBotApi(options: BotApiOptions): Api {
  const api = new Api(options.token, { apiRoot: options.apiRoot ?? TELEGRAM_API_ROOT, timeoutSeconds: options.timeoutSeconds ?? BOT_API_TIMEOUT_SECONDS });
  api.config.use(refuseCallsInTransaction);
  return api;
}

/**
 * The stages' Bot API from TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT (validated; a missing token
 * stops the cold start with its name). Call once at module scope.
 */
export function loadBotApi(env: NodeJS.ProcessEnv = process.env): Api {
  const config = loadConfig({ TELEGRAM_BOT_TOKEN: configVars.TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT: configVars.TELEGRAM_API_ROOT }, env);
  return createBotApi({ token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT });
}
