import { emailIndexOf } from '../testing/encrypted-fields.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../accounts/index.js';
import { createDashboardHarness, type DashboardHarness, deviceCookieOf, mailedToken, refreshCookieOf, TEST_DASHBOARD_ORIGIN, TEST_PASSWORD_PARAMETERS, TEST_PUBLIC_BASE_URL } from '../testing/dashboard-api.js';

const PASSWORD = 'correct horse battery';
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

let h: DashboardHarness;
let n = 0;

beforeAll(async () => {
  h = await createDashboardHarness();
});
afterAll(() => h?.dispose());
beforeEach(async () => {
  // Every test starts with fresh rate-limit windows.
  h.clock.advance(2 * HOUR_MS);
});

/** A new address per test, with a random-looking IP so per-IP limits do not collide. */
function newEmail(): string {
  return `Owner.${++n}.${Date.now()}@Example.com`;
}
function ip(): string {
  return `198.51.100.${(n % 250) + 1}`;
}

const cookieHeaders = (token: string) => ({ origin: TEST_DASHBOARD_ORIGIN, cookie: `__Secure-pgp_refresh=${token}` });
const deviceHeaders = (token: string) => ({ cookie: `__Secure-pgp_device=${token}` });

async function signUp(email: string, password = PASSWORD) {
  return h.request('POST', '/auth/signup', { body: { email, password }, ip: ip() });
}

async function signUpAndVerify(email = newEmail(), password = PASSWORD) {
  expect((await signUp(email, password)).status).toBe(202);
  await h.deliverMails();
  expect((await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) }, ip: ip() })).status).toBe(200);
  return email;
}

async function logIn(email: string, password = PASSWORD) {
  const response = await h.request('POST', '/auth/login', { body: { email, password }, ip: ip() });
  return { response, accessToken: response.json?.accessToken as string, refreshToken: refreshCookieOf(response) };
}

async function auditActions(email?: string): Promise<string[]> {
  const { rows } = await h.testDb.db.query<{ action: string }>(
    email
      ? `SELECT l.action FROM audit_log l JOIN accounts a ON a.id::text = l.subject_id WHERE a.email_index = $1 ORDER BY l.id`
      : 'SELECT action FROM audit_log ORDER BY id',
    email ? [emailIndexOf(email)] : [],
  );
  return rows.map((row) => row.action);
}

describe('POST /auth/signup', () => {
  it('creates an unverified account and mails a verification link built from PUBLIC_BASE_URL', async () => {
    const email = newEmail();
    const response = await signUp(email);
    expect(response.status).toBe(202);
    expect(response.json).toEqual({ message: expect.any(String) });
    await h.deliverMails();
    const mail = h.outbox.latestTo(email);
    expect(mail?.subject).toContain('Verify');
    expect(mail?.text).toContain(`${TEST_PUBLIC_BASE_URL}/verify-email#token=`);
    expect(mail?.html).toContain('href="https://pay.example.test/verify-email#token=');
    expect(await auditActions(email)).toEqual(['account.signed_up']);
  });

  it('answers an existing address exactly like a new one, and mails its owner a notice instead', async () => {
    const email = newEmail();
    const first = await signUp(email);
    const again = await signUp(email.toUpperCase(), 'another long passphrase');
    expect(again.status).toBe(first.status);
    expect(again.json).toEqual(first.json);
    await h.deliverMails();
    expect(h.outbox.latestTo(email)?.subject).toContain('Someone tried to sign up');
    const { rows } = await h.testDb.db.query('SELECT 1 FROM accounts WHERE email_index = $1', [emailIndexOf(email)]);
    expect(rows).toHaveLength(1);
  });

  it.each([
    ['a malformed address', { email: 'not-an-address', password: PASSWORD }, 'email'],
    ['a missing address', { password: PASSWORD }, 'email'],
    ['a short password', { email: 'short@example.com', password: 'short' }, 'password'],
    ['a password over 128 characters', { email: 'long@example.com', password: 'x'.repeat(129) }, 'password'],
  ])('refuses %s with a field message', async (_, body, field) => {
    const response = await h.request('POST', '/auth/signup', { body, ip: ip() });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
    expect(Object.keys(response.json.error.fields)).toEqual([field]);
    expect(response.json.requestId).toEqual(expect.any(String));
  });

  it.each([
    ['a common password', 'password123'],
    ['the email address itself', 'common-check@example.com'],
  ])('refuses %s', async (_, password) => {
    const response = await h.request('POST', '/auth/signup', { body: { email: 'common-check@example.com', password }, ip: ip() });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('weak_password');
    expect(response.json.error.fields.password).toEqual(expect.any(String));
  });

  it('limits sign-ups per address to 3 an hour, with Retry-After', async () => {
    const email = newEmail();
    for (let i = 0; i < 3; i++) expect((await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD }, ip: `192.0.2.${i + 1}` })).status).toBe(202);
    const limited = await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD }, ip: '192.0.2.99' });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(3600);
  });

  it('limits sign-ups per IP to 10 an hour', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await h.request('POST', '/auth/signup', { body: { email: newEmail(), password: PASSWORD }, ip: '192.0.2.200' })).status);
    expect(statuses.slice(0, 10).every((status) => status === 202)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe('POST /auth/verify-email', () => {
  it('verifies once; the same link then fails', async () => {
    const email = newEmail();
    await signUp(email);
    await h.deliverMails();
    const token = mailedToken(h.outbox, email);
    expect((await h.request('POST', '/auth/verify-email', { body: { token }, ip: ip() })).json).toEqual({ emailVerified: true });
    const again = await h.request('POST', '/auth/verify-email', { body: { token }, ip: ip() });
    expect(again.status).toBe(400);
    expect(again.json.error.code).toBe('invalid_link');
    const { rows } = await h.testDb.db.query<{ email_verified_at: Date | null }>('SELECT email_verified_at FROM accounts WHERE email_index = $1', [emailIndexOf(email)]);
    expect(rows[0]?.email_verified_at).toEqual(h.clock.now());
  });

  it('refuses a link older than 24 hours', async () => {
    const email = newEmail();
    await signUp(email);
    await h.deliverMails();
    h.clock.advance(24 * HOUR_MS + 1000);
    const response = await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) }, ip: ip() });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('link_expired');
  });

  it('refuses a reset token (tokens are bound to their purpose) and garbage', async () => {
    const email = await signUpAndVerify();
    await h.request('POST', '/auth/forgot-password', { body: { email }, ip: ip() });
    await h.deliverMails();
    for (const token of [mailedToken(h.outbox, email), 'x'.repeat(43), 'nonsense']) {
      const response = await h.request('POST', '/auth/verify-email', { body: { token }, ip: ip() });
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('invalid_link');
    }
    expect((await h.request('POST', '/auth/verify-email', { body: {}, ip: ip() })).json.error.fields).toEqual({ token: expect.any(String) });
  });

  it('limits attempts per IP to 30 per 15 minutes', async () => {
    let last = 0;
    for (let i = 0; i < 31; i++) last = (await h.request('POST', '/auth/verify-email', { body: { token: 'guess' }, ip: '192.0.2.31' })).status;
    expect(last).toBe(429);
  });
});

describe('POST /auth/login', () => {
  it('returns a 15-minute access token and sets the refresh cookie (httpOnly, Secure, SameSite=Strict, session path)', async () => {
    const email = await signUpAndVerify();
    const { response, refreshToken } = await logIn(email.toLowerCase());
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900, expiresAt: new Date(h.clock.now().getTime() + 900_000).toISOString() });
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/api/v1/auth/session;');
    expect(cookie).toContain(`Max-Age=${14 * 86_400}`);
    expect(response.json.accessToken).not.toContain(refreshToken);
    expect((await h.request('GET', '/me', { token: response.json.accessToken })).json.email).toBe(email);
  });

  it('answers an unknown address exactly like a wrong password', async () => {
    const email = await signUpAndVerify();
    const wrong = await h.request('POST', '/auth/login', { body: { email, password: 'wrong password!' }, ip: ip() });
    const unknown = await h.request('POST', '/auth/login', { body: { email: `nobody.${n}@example.com`, password: 'wrong password!' }, ip: ip() });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect({ ...wrong.json, requestId: 'x' }).toEqual({ ...unknown.json, requestId: 'x' });
    expect(wrong.json.error.code).toBe('invalid_credentials');
  });

  it('after 10 wrong passwords from one IP refuses that IP for 15 minutes (same 401), but not the owner on another IP', async () => {
    const email = await signUpAndVerify();
    const attacker = '192.0.2.100';
    for (let i = 0; i < 10; i++) {
      expect((await h.request('POST', '/auth/login', { body: { email, password: `wrong-${i}-password` }, ip: attacker })).status).toBe(401);
    }
    const blocked = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: attacker });
    expect(blocked.status).toBe(401);
    expect(blocked.json.error.code).toBe('invalid_credentials');
    expect(await auditActions(email)).toContain('auth.login_blocked_for_ip');
    // The owner, elsewhere, logs in as usual.
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '192.0.2.101' })).status).toBe(200);
    h.clock.advance(15 * MINUTE_MS + 1000);
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: attacker })).status).toBe(200);
  });

  it('clears the failures of an IP when the right password logs in from it', async () => {
    const email = await signUpAndVerify();
    for (let i = 0; i < 9; i++) await h.request('POST', '/auth/login', { body: { email, password: `wrong-${i}-password` }, ip: '192.0.2.110' });
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '192.0.2.110' })).status).toBe(200);
    for (let i = 0; i < 9; i++) await h.request('POST', '/auth/login', { body: { email, password: `wrong-${i}-password` }, ip: '192.0.2.110' });
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '192.0.2.110' })).status).toBe(200);
  });

  it('ignores unknown body fields (they are dropped, not refused)', async () => {
    const email = await signUpAndVerify();
    const response = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD, isAdmin: true, accountId: 'someone-else' }, ip: ip() });
    expect(response.status).toBe(200);
  });

  it('refuses disabled accounts like any other failure', async () => {
    const email = await signUpAndVerify();
    await h.testDb.db.query(`UPDATE accounts SET status = 'disabled', disabled_at = $2 WHERE email_index = $1`, [emailIndexOf(email), h.clock.now()]);
    const response = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: ip() });
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('invalid_credentials');
  });

  it('rehashes a password stored with other scrypt parameters', async () => {
    const email = await signUpAndVerify();
    const old = await hashPassword(PASSWORD, { ln: 5, r: 8, p: 1 });
    await h.testDb.db.query('UPDATE accounts SET password_hash = $2 WHERE email_index = $1', [emailIndexOf(email), old]);
    expect((await logIn(email)).response.status).toBe(200);
    const { rows } = await h.testDb.db.query<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE email_index = $1', [emailIndexOf(email)]);
    expect(rows[0]?.password_hash).toMatch(new RegExp(`^\\$scrypt\\$ln=${TEST_PASSWORD_PARAMETERS.ln},r=8,p=1\\$`));
  });

  it('sets a device cookie (httpOnly, Secure, SameSite=Strict, auth path, 180 days) that names no account', async () => {
    const email = await signUpAndVerify();
    const { response } = await logIn(email);
    const device = deviceCookieOf(response);
    expect(device).toMatch(/^[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    const cookie = (response.headers['set-cookie'] as string[]).find((value) => value.startsWith('__Secure-pgp_device='))!;
    expect(cookie).toContain('Path=/api/v1/auth;');
    expect(cookie).toContain(`Max-Age=${180 * 86_400}`);
    for (const flag of ['HttpOnly', 'Secure', 'SameSite=Strict']) expect(cookie).toContain(flag);
    const { rows } = await h.testDb.db.query<{ id: string }>('SELECT id FROM accounts WHERE email_index = $1', [emailIndexOf(email)]);
    expect(device).not.toContain(rows[0]!.id);
    // The next login from this browser keeps its device id.
    const again = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: ip(), headers: deviceHeaders(device!) });
    expect(deviceCookieOf(again)!.split('.')[0]).toBe(device!.split('.')[0]);
  });

  it("does not let strangers lock the owner out: failures from many IPs stop unrecognised clients only, and nobody can brute force", async () => {
    const email = await signUpAndVerify();
    const home = '198.18.0.1';
    const owner = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: home });
    expect(owner.status).toBe(200);
    const device = deviceCookieOf(owner)!;

    // An attacker guesses from 40 IPs: after 20 failures every unrecognised client is refused for this address.
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await h.request('POST', '/auth/login', { body: { email, password: `guess-${i}-password` }, ip: `203.0.113.${100 + i}` })).status);
    expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(20).every((status) => status === 429)).toBe(true);
    // Even the right guess gets nowhere from an unrecognised client, with the same answer.
    const rightGuess = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '203.0.113.200' });
    expect(rightGuess.status).toBe(429);
    expect(rightGuess.json.error.code).toBe('rate_limited');
    expect(Number(rightGuess.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(rightGuess.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    // An unknown address answers the same way once strangers failed on it as often (nothing to enumerate).
    const nobody = `nobody.${n}@example.com`;
    for (let i = 0; i < 20; i++) await h.request('POST', '/auth/login', { body: { email: nobody, password: `guess-${i}-password` }, ip: `203.0.114.${100 + i}` });
    const unknown = await h.request('POST', '/auth/login', { body: { email: nobody, password: PASSWORD }, ip: '203.0.113.201' });
    expect({ ...unknown.json, requestId: 'x' }).toEqual({ ...rightGuess.json, requestId: 'x' });

    // The owner's browser (its device cookie) logs in from anywhere; so does any client on the owner's network.
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '192.0.2.250', headers: deviceHeaders(device) })).status).toBe(200);
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: home })).status).toBe(200);
    // Another account's device cookie, or a forged one, is no recognition.
    const other = deviceCookieOf((await logIn(await signUpAndVerify())).response)!;
    const forged = `${device.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`;
    for (const cookie of [other, forged]) {
      expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '192.0.2.251', headers: deviceHeaders(cookie) })).status).toBe(429);
    }
    expect(await auditActions(email)).toContain('auth.login_blocked_for_unrecognised_clients');
    // The window ends: strangers (and a new device of the owner's) may try again.
    h.clock.advance(15 * MINUTE_MS + 1000);
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '192.0.2.252' })).status).toBe(200);
  });

  it("counts a recognised browser's failures per device: guesses from the owner's network do not lock the owner's browser there", async () => {
    const email = await signUpAndVerify();
    const office = '198.18.1.1';
    const device = deviceCookieOf(await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: office }))!;
    for (let i = 0; i < 10; i++) await h.request('POST', '/auth/login', { body: { email, password: `guess-${i}-password` }, ip: office });
    // That network (without the cookie) is refused for this address, the owner's browser on it is not.
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: office })).status).toBe(401);
    expect((await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: office, headers: deviceHeaders(device) })).status).toBe(200);
    // A browser with the cookie gets its own 10 guesses, then it is refused too (a stolen cookie is no brute-force pass).
    for (let i = 0; i < 10; i++) await h.request('POST', '/auth/login', { body: { email, password: `guess-${i}-password` }, ip: ip(), headers: deviceHeaders(device) });
    const locked = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: ip(), headers: deviceHeaders(device) });
    expect(locked.status).toBe(401);
    expect(await auditActions(email)).toEqual(expect.arrayContaining(['auth.login_blocked_for_ip', 'auth.login_blocked_for_device']));
  });

  it('limits attempts per address to 20 per 15 minutes, across IPs', async () => {
    const email = await signUpAndVerify();
    let last = 0;
    let limited;
    for (let i = 0; i < 21; i++) {
      limited = await h.request('POST', '/auth/login', { body: { email, password: 'wrong password!' }, ip: `192.0.2.${150 + i}` });
      last = limited.status;
    }
    expect(last).toBe(429);
    expect(limited!.json.error.code).toBe('rate_limited');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited!.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
  });

  it('refuses a missing password with a field message', async () => {
    const response = await h.request('POST', '/auth/login', { body: { email: 'a@example.com' }, ip: ip() });
    expect(response.status).toBe(400);
    expect(response.json.error.fields).toEqual({ password: expect.any(String) });
  });

  it('audits success and failure', async () => {
    const email = await signUpAndVerify();
    await h.request('POST', '/auth/login', { body: { email, password: 'wrong password!' }, ip: ip() });
    await logIn(email);
    expect(await auditActions(email)).toEqual(['account.signed_up', 'account.email_verified', 'auth.login_failed', 'auth.login_succeeded']);
  });
});

describe('POST /auth/session/refresh', () => {
  it('rotates the refresh token and issues a new access token', async () => {
    const email = await signUpAndVerify();
    const { refreshToken } = await logIn(email);
    const response = await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders(refreshToken!), ip: ip() });
    expect(response.status).toBe(200);
    const rotated = refreshCookieOf(response);
    expect(rotated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated).not.toBe(refreshToken);
    expect((await h.request('GET', '/me', { token: response.json.accessToken })).status).toBe(200);
  });

  it('treats reuse of a rotated token as theft: the whole session ends and the newest token fails too', async () => {
    const email = await signUpAndVerify();
    const { refreshToken: first, accessToken } = await logIn(email);
    const second = refreshCookieOf(await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders(first!), ip: ip() }))!;
    const reuse = await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders(first!), ip: ip() });
    expect(reuse.status).toBe(401);
    expect(reuse.json.error.code).toBe('invalid_refresh_token');
    const newest = await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders(second), ip: ip() });
    expect(newest.status).toBe(401);
    expect((await h.request('GET', '/me', { token: accessToken })).status).toBe(401);
    expect(await auditActions(email)).toContain('auth.refresh_reuse_detected');
    const { rows } = await h.testDb.db.query<{ revoked_reason: string }>(
      `SELECT t.revoked_reason FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id WHERE a.email_index = $1 AND t.revoked_at IS NOT NULL`,
      [emailIndexOf(email)],
    );
    expect(rows.map((row) => row.revoked_reason)).toEqual(['reuse_detected']);
  });

  it('ends sessions 14 days after login, whatever the rotations', async () => {
    const email = await signUpAndVerify();
    let { refreshToken } = await logIn(email);
    for (let day = 0; day < 13; day++) {
      h.clock.advance(24 * HOUR_MS);
      refreshToken = refreshCookieOf(await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders(refreshToken!), ip: ip() }));
      expect(refreshToken).toBeDefined();
    }
    h.clock.advance(24 * HOUR_MS);
    expect((await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders(refreshToken!), ip: ip() })).status).toBe(401);
  });

  it.each([
    ['no Origin header', { cookie: '__Secure-pgp_refresh=x' }],
    ['a foreign Origin', { origin: 'https://evil.example', cookie: '__Secure-pgp_refresh=x' }],
    ['a cross-site fetch', { origin: TEST_DASHBOARD_ORIGIN, 'sec-fetch-site': 'cross-site', cookie: '__Secure-pgp_refresh=x' }],
  ])('refuses a cookie request with %s (CSRF)', async (_, headers) => {
    const response = await h.request('POST', '/auth/session/refresh', { headers, ip: ip() });
    expect(response.status).toBe(403);
    expect(['csrf_rejected', 'origin_not_allowed']).toContain(response.json.error.code);
  });

  it('refuses a missing or unknown cookie with 401', async () => {
    for (const headers of [{ origin: TEST_DASHBOARD_ORIGIN }, cookieHeaders('A'.repeat(43))]) {
      const response = await h.request('POST', '/auth/session/refresh', { headers, ip: ip() });
      expect(response.status).toBe(401);
      expect(response.json.error.code).toBe('invalid_refresh_token');
    }
  });

  it('limits refreshes per IP to 60 a minute', async () => {
    let last = 0;
    let limited;
    for (let i = 0; i < 61; i++) {
      limited = await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders('B'.repeat(43)), ip: '192.0.2.61' });
      last = limited.status;
    }
    expect(last).toBe(429);
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited!.headers['retry-after'])).toBeLessThanOrEqual(60);
  });
});

describe('POST /auth/session/logout', () => {
  it('ends the session: the refresh token and the access tokens stop working, the cookie is cleared', async () => {
    const email = await signUpAndVerify();
    const { refreshToken, accessToken } = await logIn(email);
    const response = await h.request('POST', '/auth/session/logout', { headers: cookieHeaders(refreshToken!), ip: ip() });
    expect(response.status).toBe(204);
    expect(response.text).toBeUndefined();
    expect(String(response.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders(refreshToken!), ip: ip() })).status).toBe(401);
    expect((await h.request('GET', '/me', { token: accessToken })).status).toBe(401);
    expect(await auditActions(email)).toContain('auth.logged_out');
  });

  it('is idempotent without a session', async () => {
    expect((await h.request('POST', '/auth/session/logout', { headers: { origin: TEST_DASHBOARD_ORIGIN }, ip: ip() })).status).toBe(204);
  });

  it('requires an allowed Origin', async () => {
    expect((await h.request('POST', '/auth/session/logout', { headers: { cookie: '__Secure-pgp_refresh=x' }, ip: ip() })).status).toBe(403);
  });
});

describe('POST /auth/forgot-password and /auth/reset-password', () => {
  it('answers identically for a known and an unknown address', async () => {
    const email = await signUpAndVerify();
    const known = await h.request('POST', '/auth/forgot-password', { body: { email }, ip: ip() });
    const unknown = await h.request('POST', '/auth/forgot-password', { body: { email: `nobody.${n}@example.com` }, ip: ip() });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(known.json).toEqual(unknown.json);
  });

  it('resets with the mailed token once, ends every session and sends a notice', async () => {
    const email = await signUpAndVerify();
    const session = await logIn(email);
    for (let i = 0; i < 10; i++) await h.request('POST', '/auth/login', { body: { email, password: `wrong-${i}-password` }, ip: `192.0.2.${170 + i}` });
    await h.request('POST', '/auth/forgot-password', { body: { email }, ip: ip() });
    await h.deliverMails();
    const token = mailedToken(h.outbox, email);
    expect(h.outbox.latestTo(email)?.text).toContain(`${TEST_PUBLIC_BASE_URL}/reset-password#token=`);
    const reset = await h.request('POST', '/auth/reset-password', { body: { token, password: 'a brand new passphrase' }, ip: ip() });
    expect(reset.status).toBe(204);
    expect((await h.request('POST', '/auth/reset-password', { body: { token, password: 'another new passphrase' }, ip: ip() })).json.error.code).toBe('invalid_link');
    expect((await h.request('GET', '/me', { token: session.accessToken })).status).toBe(401);
    expect((await h.request('POST', '/auth/session/refresh', { headers: cookieHeaders(session.refreshToken!), ip: ip() })).status).toBe(401);
    expect((await logIn(email, PASSWORD)).response.status).toBe(401);
    expect((await logIn(email, 'a brand new passphrase')).response.status).toBe(200);
    await h.deliverMails();
    expect(h.outbox.latestTo(email)?.subject).toContain('password was changed');
    expect(await auditActions(email)).toEqual(expect.arrayContaining(['account.password_reset_requested', 'account.password_reset']));
  });

  it('keeps the link usable when the new password is refused', async () => {
    const email = await signUpAndVerify();
    await h.request('POST', '/auth/forgot-password', { body: { email }, ip: ip() });
    await h.deliverMails();
    const token = mailedToken(h.outbox, email);
    const weak = await h.request('POST', '/auth/reset-password', { body: { token, password: 'qwertyuiop' }, ip: ip() });
    expect(weak.json.error.code).toBe('weak_password');
    expect((await h.request('POST', '/auth/reset-password', { body: { token, password: 'a brand new passphrase' }, ip: ip() })).status).toBe(204);
  });

  it('refuses a reset link older than an hour', async () => {
    const email = await signUpAndVerify();
    await h.request('POST', '/auth/forgot-password', { body: { email }, ip: ip() });
    await h.deliverMails();
    h.clock.advance(HOUR_MS + 1000);
    const response = await h.request('POST', '/auth/reset-password', { body: { token: mailedToken(h.outbox, email), password: 'a brand new passphrase' }, ip: ip() });
    expect(response.json.error.code).toBe('link_expired');
  });

  it('only the newest reset link works', async () => {
    const email = await signUpAndVerify();
    await h.request('POST', '/auth/forgot-password', { body: { email }, ip: ip() });
    await h.deliverMails();
    const first = mailedToken(h.outbox, email);
    await h.request('POST', '/auth/forgot-password', { body: { email }, ip: ip() });
    await h.deliverMails();
    expect((await h.request('POST', '/auth/reset-password', { body: { token: first, password: 'a brand new passphrase' }, ip: ip() })).json.error.code).toBe('invalid_link');
  });

  it('refuses a verify token as a reset token (tokens are bound to their purpose)', async () => {
    const email = newEmail();
    await signUp(email);
    await h.deliverMails();
    const verifyToken = mailedToken(h.outbox, email);
    const response = await h.request('POST', '/auth/reset-password', { body: { token: verifyToken, password: 'a brand new passphrase' }, ip: ip() });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalid_link');
    // The verify link still works for what it is for.
    expect((await h.request('POST', '/auth/verify-email', { body: { token: verifyToken }, ip: ip() })).status).toBe(200);
  });

  it('validates both bodies', async () => {
    expect((await h.request('POST', '/auth/forgot-password', { body: { email: 'nope' }, ip: ip() })).json.error.fields).toEqual({ email: expect.any(String) });
    expect((await h.request('POST', '/auth/reset-password', { body: { token: 'x', password: 'short' }, ip: ip() })).json.error.fields).toEqual({ password: expect.any(String) });
  });

  it("caps strangers' reset mails per address without refusing the owner", async () => {
    const email = await signUpAndVerify();
    const owner = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: '198.18.2.1' });
    const device = deviceCookieOf(owner)!;
    const resetMails = () => h.outbox.list().filter((mail) => mail.to.toLowerCase() === email.toLowerCase() && mail.subject.startsWith('Reset')).length;
    // 10 requests from 10 IPs: every one is answered alike, the inbox gets 3 links.
    for (let i = 0; i < 10; i++) expect((await h.request('POST', '/auth/forgot-password', { body: { email }, ip: `203.0.115.${10 + i}` })).status).toBe(202);
    await h.deliverMails();
    expect(resetMails()).toBe(3);
    expect(await auditActions(email)).toContain('account.password_reset_suppressed');
    // The newest link mailed still works for the owner.
    expect((await h.request('POST', '/auth/reset-password', { body: { token: mailedToken(h.outbox, email), password: 'a brand new passphrase' }, ip: ip() })).status).toBe(204);
    // The owner's browser, and the owner's network, still get fresh links.
    expect((await h.request('POST', '/auth/forgot-password', { body: { email }, ip: '192.0.2.240', headers: deviceHeaders(device) })).status).toBe(202);
    expect((await h.request('POST', '/auth/forgot-password', { body: { email }, ip: '198.18.2.1' })).status).toBe(202);
    await h.deliverMails();
    expect(resetMails()).toBe(5);
  });

  it('limits reset requests per address from one IP to 3 an hour, with Retry-After', async () => {
    const email = newEmail();
    let limited;
    for (let i = 0; i < 4; i++) limited = await h.request('POST', '/auth/forgot-password', { body: { email }, ip: '192.0.2.210' });
    expect(limited!.status).toBe(429);
    expect(limited!.json.error.code).toBe('rate_limited');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited!.headers['retry-after'])).toBeLessThanOrEqual(3600);
    // Another IP, or another address from this IP, is not affected.
    expect((await h.request('POST', '/auth/forgot-password', { body: { email }, ip: '192.0.2.211' })).status).toBe(202);
    expect((await h.request('POST', '/auth/forgot-password', { body: { email: newEmail() }, ip: '192.0.2.210' })).status).toBe(202);
  });

  it('recognises the browser that reset the password at its next login', async () => {
    const email = await signUpAndVerify();
    await h.request('POST', '/auth/forgot-password', { body: { email }, ip: ip() });
    await h.deliverMails();
    const reset = await h.request('POST', '/auth/reset-password', { body: { token: mailedToken(h.outbox, email), password: 'a brand new passphrase' }, ip: '192.0.2.230' });
    const device = deviceCookieOf(reset)!;
    expect(device).toBeDefined();
    for (let i = 0; i < 20; i++) await h.request('POST', '/auth/login', { body: { email, password: `guess-${i}-password` }, ip: `203.0.116.${10 + i}` });
    expect((await h.request('POST', '/auth/login', { body: { email, password: 'a brand new passphrase' }, ip: '192.0.2.231' })).status).toBe(429);
    expect((await h.request('POST', '/auth/login', { body: { email, password: 'a brand new passphrase' }, ip: '192.0.2.231', headers: deviceHeaders(device) })).status).toBe(200);
  });

  it('limits reset attempts per IP to 10 per 15 minutes', async () => {
    let last = 0;
    let limited;
    for (let i = 0; i < 11; i++) {
      limited = await h.request('POST', '/auth/reset-password', { body: { token: 'guess', password: 'a brand new passphrase' }, ip: '192.0.2.77' });
      last = limited.status;
    }
    expect(last).toBe(429);
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited!.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
  });
});

describe('POST /auth/confirm-email-change', () => {
  it('refuses a missing token with a field message and a garbage one with invalid_link', async () => {
    const missing = await h.request('POST', '/auth/confirm-email-change', { body: {}, ip: ip() });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatchObject({ code: 'validation_failed', fields: { token: expect.any(String) } });
    for (const token of ['garbage', 'x'.repeat(43)]) {
      const response = await h.request('POST', '/auth/confirm-email-change', { body: { token }, ip: ip() });
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('invalid_link');
    }
  });

  it('limits attempts per IP to 10 per 15 minutes, with Retry-After', async () => {
    let limited;
    for (let i = 0; i < 11; i++) limited = await h.request('POST', '/auth/confirm-email-change', { body: { token: 'guess' }, ip: '192.0.2.88' });
    expect(limited!.status).toBe(429);
    expect(limited!.json.error.code).toBe('rate_limited');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited!.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
  });
});

describe('control characters in account texts', () => {
  it.each([
    ['a NUL in the email', '/auth/signup', () => ({ email: `a\u0000${newEmail()}`, password: PASSWORD }), 'email'],
    ['an escape in the email', '/auth/signup', () => ({ email: `${newEmail()}\u001b`, password: PASSWORD }), 'email'],
    ['a NUL in a new password', '/auth/signup', () => ({ email: newEmail(), password: `${PASSWORD}\u0000` }), 'password'],
    ['a lone surrogate in a new password', '/auth/signup', () => ({ email: newEmail(), password: `${PASSWORD}\ud800` }), 'password'],
    ['a NUL in a mailed token', '/auth/verify-email', () => ({ token: 'Zm9vYmFy\u0000YmF6' }), 'token'],
    ['a NUL in the reset token', '/auth/reset-password', () => ({ token: '\u0000', password: PASSWORD }), 'token'],
  ])('refuses %s with 400 naming the field, writing nothing', async (_name, path, body, field) => {
    const accountsBefore = (await h.testDb.db.query('SELECT count(*)::int AS n FROM accounts')).rows[0];
    const response = await h.request('POST', path, { body: body(), ip: ip() });
    expect(response.status, JSON.stringify(response.json)).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'validation_failed', fields: { [field]: expect.stringContaining('control characters') } });
    expect((await h.testDb.db.query('SELECT count(*)::int AS n FROM accounts')).rows[0]).toEqual(accountsBefore);
  });

  it('still takes an email with surrounding whitespace, trimmed', async () => {
    const email = newEmail();
    expect((await signUp(` ${email}\n`)).status).toBe(202);
  });
});
