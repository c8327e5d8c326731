import { accountIdByEmail } from '../testing/encrypted-fields.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordAuditEvent } from '../audit/index.js';
import { createDashboardHarness, type DashboardHarness, mailedToken, refreshCookieOf, TEST_DASHBOARD_ORIGIN } from '../testing/dashboard-api.js';

const PASSWORD = 'correct horse battery';
const HOUR_MS = 3_600_000;
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148';
const LAPTOP = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0';

let h: DashboardHarness;
let n = 0;

beforeAll(async () => {
  h = await createDashboardHarness();
});
afterAll(() => h?.dispose());
beforeEach(() => h.clock.advance(2 * HOUR_MS));

async function account() {
  const email = `secure.${++n}@example.com`;
  await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD }, ip: '198.51.100.1' });
  await h.deliverMails();
  await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) }, ip: '198.51.100.1' });
  const rows = [{ id: (await accountIdByEmail(h.testDb.db, email))! }];
  return { email, accountId: rows[0]!.id };
}

async function logIn(email: string, ip: string, userAgent: string) {
  const response = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip, headers: { 'user-agent': userAgent } });
  expect(response.status).toBe(200);
  return { token: response.json.accessToken as string, refreshToken: refreshCookieOf(response)! };
}

const refresh = (refreshToken: string, ip: string, userAgent = LAPTOP) =>
  h.request('POST', '/auth/session/refresh', { headers: { origin: TEST_DASHBOARD_ORIGIN, cookie: `__Secure-pgp_refresh=${refreshToken}`, 'user-agent': userAgent }, ip });

describe('GET /me/sessions', () => {
  it('lists the live sessions with where they began and when they were last used, marking the current one', async () => {
    const { email } = await account();
    const phone = await logIn(email, '203.0.113.5', PHONE);
    const loginAt = h.clock.now().toISOString();
    h.clock.advance(60_000);
    const laptop = await logIn(email, '2001:db8::7', LAPTOP);
    h.clock.advance(60_000);
    // The phone refreshes: its session was used later than the laptop's.
    const refreshed = await refresh(phone.refreshToken, '198.51.100.77', PHONE);
    expect(refreshed.status).toBe(200);

    const response = await h.request('GET', '/me/sessions', { token: laptop.token });
    expect(response.status).toBe(200);
    expect(response.json.sessions).toEqual([
      { id: expect.stringMatching(/^ses_[A-Za-z0-9_-]{22}$/), createdAt: loginAt, lastUsedAt: h.clock.now().toISOString(), expiresAt: expect.any(String), userAgent: PHONE, ip: '203.0.113.5', current: false },
      { id: expect.stringMatching(/^ses_/), createdAt: expect.any(String), lastUsedAt: expect.any(String), expiresAt: expect.any(String), userAgent: LAPTOP, ip: '2001:db8::7', current: true },
    ]);
    expect((await h.request('GET', '/me/sessions', { token: refreshed.json.accessToken })).json.sessions.map((s: { current: boolean }) => s.current)).toEqual([true, false]);
  });

  it('needs a session', async () => {
    expect((await h.request('GET', '/me/sessions')).status).toBe(401);
  });
});

describe('DELETE /me/sessions/{sessionId}', () => {
  it('ends that session at once (access and refresh token), audited; ending it again, or a stranger’s, is 404', async () => {
    const { email, accountId } = await account();
    const thief = await logIn(email, '203.0.113.66', 'curl/8.0');
    const owner = await logIn(email, '198.51.100.2', LAPTOP);
    const sessions = (await h.request('GET', '/me/sessions', { token: owner.token })).json.sessions as { id: string; current: boolean }[];
    const other = sessions.find((session) => !session.current)!;

    const stranger = await account();
    const strangerSession = await logIn(stranger.email, '198.51.100.3', LAPTOP);
    expect((await h.request('DELETE', `/me/sessions/${other.id}`, { token: strangerSession.token })).status).toBe(404);

    expect((await h.request('DELETE', `/me/sessions/${other.id}`, { token: owner.token })).status).toBe(204);
    expect((await h.request('GET', '/me', { token: thief.token })).status).toBe(401);
    expect((await refresh(thief.refreshToken, '203.0.113.66')).status).toBe(401);
    expect((await h.request('GET', '/me/sessions', { token: owner.token })).json.sessions).toHaveLength(1);
    for (const id of [other.id, 'ses_nonsense', 'revoke-all']) {
      const again = await h.request('DELETE', `/me/sessions/${id}`, { token: owner.token });
      expect(again.status).toBe(404);
      expect(again.json.error.code).toBe('session_not_found');
    }
    const { rows } = await h.testDb.db.query<{ reason: string }>(`SELECT revoked_reason AS reason FROM refresh_tokens WHERE account_id = $1 AND revoked_at IS NOT NULL`, [accountId]);
    expect(rows).toEqual([{ reason: 'logout' }]);
    const audit = await h.testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE actor_id = $1 AND action LIKE 'auth.session%'`, [accountId]);
    expect(audit.rows.map((row) => row.action)).toEqual(['auth.session_revoked']);
  });
});

describe('POST /me/sessions/revoke-all', () => {
  it('logs out everywhere else and keeps the current session', async () => {
    const { email, accountId } = await account();
    const others = [await logIn(email, '203.0.113.1', PHONE), await logIn(email, '203.0.113.2', 'curl/8.0')];
    const current = await logIn(email, '198.51.100.9', LAPTOP);
    const response = await h.request('POST', '/me/sessions/revoke-all', { token: current.token, ip: '198.51.100.9' });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ revoked: 2, currentSessionKept: true });
    for (const other of others) {
      expect((await h.request('GET', '/me', { token: other.token })).status).toBe(401);
      expect((await refresh(other.refreshToken, '203.0.113.1')).status).toBe(401);
    }
    expect((await h.request('GET', '/me', { token: current.token })).status).toBe(200);
    expect((await h.request('GET', '/me/sessions', { token: current.token })).json.sessions).toEqual([expect.objectContaining({ current: true })]);
    const { rows } = await h.testDb.db.query<{ details: { sessionsRevoked: number } }>(`SELECT details FROM audit_log WHERE actor_id = $1 AND action = 'auth.sessions_revoked'`, [accountId]);
    expect(rows.map((row) => row.details.sessionsRevoked)).toEqual([2]);
  });
});

describe('GET /me/activity', () => {
  it('pages the account’s own audit entries newest first: logins, failures, session ends, wallet changes', async () => {
    const { email, accountId } = await account();
    const failed = await h.request('POST', '/auth/login', { body: { email, password: 'not the password' }, ip: '203.0.113.99' });
    expect(failed.status).toBe(401);
    const session = await logIn(email, '198.51.100.20', LAPTOP);
    await logIn(email, '198.51.100.21', PHONE);
    await h.request('POST', '/me/sessions/revoke-all', { token: session.token, ip: '198.51.100.20' });
    await h.testDb.db.transaction((tx) =>
      recordAuditEvent(tx, {
        occurredAt: h.clock.now(),
        actor: { type: 'account', id: accountId },
        action: 'channel.wallet_changed',
        subject: { type: 'channel', id: '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d' },
        details: { from: { wallet: 'TR7NHq…Lj6t' }, to: { wallet: 'bc1qw5…f3t4' } },
      }),
    );
    // Someone else's entries never show.
    const stranger = await account();
    await h.request('POST', '/auth/login', { body: { email: stranger.email, password: 'not the password' }, ip: '203.0.113.98' });

    const items: { action: string; ip: string | null; subject: unknown; details: Record<string, unknown>; occurredAt: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await h.request('GET', `/me/activity?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: session.token });
      expect(page.status).toBe(200);
      items.push(...page.json.items);
      cursor = page.json.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(items.map((item) => item.action)).toEqual([
      'channel.wallet_changed',
      'auth.sessions_revoked',
      'auth.login_succeeded',
      'auth.login_succeeded',
      'auth.login_failed',
      'account.email_verified',
      'account.signed_up',
    ]);
    expect(pages).toBe(4);
    expect(items[0]).toMatchObject({ subject: { type: 'channel', id: expect.stringMatching(/^ch_/) }, details: { to: { wallet: 'bc1qw5…f3t4' } } });
    expect(items[1]).toMatchObject({ ip: '198.51.100.20', details: { sessionsRevoked: 1, kept: expect.stringMatching(/^ses_/) } });
    expect(items[4]).toMatchObject({ ip: '203.0.113.99', subject: { type: 'account', id: expect.stringMatching(/^acc_/) }, details: { reason: 'wrong_password' } });
    expect(items[4]!.details).not.toHaveProperty('ip');
  });

  it('refuses a cursor it did not make and a limit out of range', async () => {
    const { email } = await account();
    const session = await logIn(email, '198.51.100.30', LAPTOP);
    for (const query of ['cursor=bm9wZQ', 'cursor=%25%25', 'limit=0', 'limit=101']) {
      const response = await h.request('GET', `/me/activity?${query}`, { token: session.token });
      expect(response.status, query).toBe(400);
    }
  });
});
