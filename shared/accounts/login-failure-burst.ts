import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { type BurstLimits, type BurstRule, countBurstEvent, DEFAULT_BURST_LIMITS } from '../watchdog/index.js';
import type { AccountDeps } from './account-deps.js';

/** The login-failure burst limit (`loadBurstLimits(['loginFailures'])`); its default when unset. */
export type LoginBurstLimits = Partial<Pick<BurstLimits, 'loginFailures'>>;

/**
 * The network an address belongs to, as one attacker usually holds it: its /24 for IPv4, its /64 for
 * IPv6 (a single host is routinely given a whole /64). IPv4-mapped IPv6 counts as IPv4. `unknown`
 * when there is no valid address.
 */
export function networkOf(ip: string | undefined): string {
  const address = ip?.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '') ?? '';
  if (isIPv4(address)) return `${address.split('.').slice(0, 3).join('.')}.0/24`;
  const bare = address.split('%')[0] ?? '';
  if (!isIPv6(bare)) return 'unknown';
  // An embedded dotted quad (::1.2.3.4) is the last two groups.
  const hex = bare.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const [head = '', tail] = hex.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}

function loginFailuresRule(limits: LoginBurstLimits | undefined): BurstRule {
  return {
    kind: 'auth.login_failures_burst',
    subjectType: 'network',
    limit: limits?.loginFailures ?? DEFAULT_BURST_LIMITS.loginFailures,
    describe: (network, counts) =>
      `${counts.events} failed logins for ${counts.actors} different addresses from network ${network} within ${counts.windowMinutes} minutes: ` +
      'credential stuffing or password spraying. Per-address and per-IP limits hold each account; consider blocking the network ' +
      '(Cloud Armor, Firebase Hosting) and look for successful logins from it (audit_log auth.login_succeeded).',
  };
}

/**
 * Counts one failed login against the client's network (`auth.login_failures_burst`), with a digest
 * of the address tried, so the alert can require several addresses; never the address itself, and
 * the alert names only the network. Every failure counts the same way, for known and unknown
 * addresses alike (no timing difference). A failure to count is logged and swallowed: the caller's
 * answer stands.
 */
export async function noteLoginFailure(deps: Pick<AccountDeps, 'db' | 'logger'> & { bursts?: LoginBurstLimits | undefined }, failure: { ip: string | undefined; email: string; at: Date }): Promise<void> {
  const actorKey = createHash('sha256').update(failure.email.trim().toLowerCase()).digest('base64url').slice(0, 32);
  try {
    await countBurstEvent(deps.db, deps.logger, loginFailuresRule(deps.bursts), { subjectId: networkOf(failure.ip), actorKey, at: failure.at });
  } catch (error) {
    deps.logger.error('auth.login_failure_not_counted', { error });
  }
}
