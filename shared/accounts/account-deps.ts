import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { KeyValueStore } from '../kv/index.js';
import type { Logger } from '../logging/index.js';
import type { AccessTokenSettings } from './access-tokens.js';
import type { LoginBurstLimits } from './login-failure-burst.js';
import type { ScryptParameters } from './passwords.js';

/** What account operations need. */
export interface AccountDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Wrong-password counters per (account, client IP). */
  kv: KeyValueStore;
  accessTokens: AccessTokenSettings;
  /** Absolute session lifetime. Default `DEFAULT_SESSION_TTL_SECONDS` (14 days). */
  sessionTtlSeconds?: number;
  /** Default `DEFAULT_SCRYPT_PARAMETERS`; tests pass cheaper ones. */
  passwordParameters?: ScryptParameters;
  /** The login-failure burst alert's limit (`loadBurstLimits`); its default when unset. */
  bursts?: LoginBurstLimits;
}

/** Who is asking, for the audit log and the session list. Never holds a secret. */
export interface RequestOrigin {
  requestId?: string;
  ip?: string;
  /** The User-Agent header as sent; kept (shortened) on the sessions a request starts or refreshes. */
  userAgent?: string;
}
