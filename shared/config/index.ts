/**
 * Environment configuration, read and validated once per cold start. Nothing else reads
 * `process.env` (the root logger's LOG_LEVEL aside).
 *
 * Each function declares only the variables it uses, at module scope, so a bad deploy stops the
 * cold start with the name of every missing or invalid variable:
 *
 *   const config = loadConfig({ DATABASE_URL: configVars.DATABASE_URL, PLATFORM_FEE_BPS: configVars.PLATFORM_FEE_BPS });
 *
 * Values are trimmed and '' counts as unset. Variables wrapped in `secret()` (API keys, the IPN
 * secret, the wallet key, DATABASE_URL…) are registered with the logger and print as `[REDACTED]`.
 * `ConfigError` messages name variables and reasons, never values.
 */
export { ConfigError, loadConfig, secret } from './load-config.js';
export { type SecretEncoding, MIN_SECRET_BYTES, burstLimitVar, configVars, fieldKeysVar, integerVar, bigintVar, centsVar, booleanVar, httpsUrlVar, randomSecretVar, secretByteLength } from './config-vars.js';
