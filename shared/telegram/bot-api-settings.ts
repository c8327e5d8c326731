import type { Api, Transformer } from 'grammy';
import { assertNoOpenTransaction } from '../db/index.js';

// No value import of grammY here: the dashboard reaches these through `createOnDemandBotApi` and
// must not load grammY at cold start (an import of it, even unused, is kept in the bundle).

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

/** A grammY `Api` (of the module given: loaded statically or on demand) with our root, timeout and transaction guard. */
export function configuredApi(GrammyApi: typeof Api, options: BotApiOptions): Api {
  const api = new GrammyApi(options.token, { apiRoot: options.apiRoot ?? TELEGRAM_API_ROOT, timeoutSeconds: options.timeoutSeconds ?? BOT_API_TIMEOUT_SECONDS });
  api.config.use(refuseCallsInTransaction);
  return api;
}
