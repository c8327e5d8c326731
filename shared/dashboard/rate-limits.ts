import { createHash } from 'node:crypto';
import { PermanentError } from '../errors/index.js';
import type { KeyValueStore } from '../kv/index.js';
import type { AuthContext, RateLimitRule } from './route-definition.js';

/**
 * Counts one hit for every rule and refuses when any is over its limit: `PermanentError
 * ('rate_limited')` with `retryAfterSeconds` (the longest wait among the exceeded rules), which the
 * mapper turns into 429 + `Retry-After`. Every rule counts even when an earlier one is exceeded, so a
 * client cannot dodge the per-account counter by tripping the per-IP one.
 */
export async function enforceRateLimits<I>(
  kv: KeyValueStore,
  rules: readonly RateLimitRule<I>[],
  subject: { ip: string | undefined; auth: AuthContext | undefined; input: I },
  now: Date,
): Promise<void> {
  let retryAfterSeconds = 0;
  for (const rule of rules) {
    const value = rule.key === 'ip' ? subject.ip : rule.key === 'account' ? subject.auth?.accountId : rule.key(subject.input);
    if (value === undefined || value === '') continue;
    const digest = createHash('sha256').update(value.toLowerCase()).digest('base64url').slice(0, 32);
    const { count, resetAt } = await kv.increment(`rate:dashboard:${rule.name}:${digest}`, { windowSeconds: rule.windowSeconds });
    if (count > rule.limit) retryAfterSeconds = Math.max(retryAfterSeconds, Math.max(1, Math.ceil((resetAt.getTime() - now.getTime()) / 1000)));
  }
  if (retryAfterSeconds > 0) {
    throw new PermanentError('rate_limited', `Too many requests; try again in ${retryAfterSeconds} seconds`, { retryAfterSeconds });
  }
}
