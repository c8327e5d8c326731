import { accountEmailById, accountIdByEmail } from '../testing/encrypted-fields.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redeemLinkCode } from '../accounts/index.js';
import { createDashboardHarness, type DashboardHarness, mailedToken, refreshCookieOf, TEST_DASHBOARD_ORIGIN } from '../testing/dashboard-api.js';
import { insertChannel } from '../testing/fixtures.js';

const PASSWORD = 'correct horse battery';
const HOUR_MS = 3_600_000;

let h: DashboardHarness;
let n = 0;

beforeAll(async () => {
  h = await createDashboardHarness({ telegramBotUsername: 'PayGatePrimeTestBot' });
});
afterAll(() => h?.dispose());
beforeEach(() => h.clock.advance(2 * HOUR_MS));

const ip = () => `198.51.100.${(n % 250) + 1}`;

async function newSession(options: { verified?: boolean } = {}) {
  const email = `member.${++n}@example.com`;
  await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD }, ip: ip() });
  await h.deliverMails();
  if (options.verified !== false) await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) }, ip: ip() });
  const login = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: ip() });
  expect(login.status).toBe(200);
  const rows = [{ id: (await accountIdByEmail(h.testDb.db, email))! }];
  return { email, accountId: rows[0]!.id, token: login.json.accessToken as string, refreshToken: refreshCookieOf(login)! };
}

describe('bearer authentication', () => {
  it.each([
    ['no Authorization header', {}],
    ['a token of another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a malformed token', { authorization: 'Bearer not.a.jwt' }],
    ['a token signed with another secret', { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' }],
  ])('refuses %s with 401 and WWW-Authenticate', async (_, headers) => {
    const response = await h.request('GET', '/me', { headers });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(['unauthorized', 'invalid_token']).toContain(response.json.error.code);
  });

  it('refuses an access token after its 15 minutes with token_expired', async () => {
    const session = await newSession();
    h.clock.advance(15 * 60_000 + 1000);
    const response = await h.request('GET', '/me', { token: session.token });
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('token_expired');
  });
});

describe('GET /me', () => {
  it('returns the account with a public id and its Telegram link status', async () => {
    const session = await newSession();
    const response = await h.request('GET', '/me', { token: session.token });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      id: expect.stringMatching(/^acc_[A-Za-z0-9_-]{22}$/),
      email: session.email,
      emailVerified: true,
      emailVerifiedAt: expect.any(String),
      createdAt: expect.any(String),
      telegram: { linked: false, userId: null, username: null, linkedAt: null },
      pendingEmailChange: null,
    });
  });
});

describe('POST /me/verification-email', () => {
  it('mails a new link to an unverified account; the old link stops working', async () => {
    const session = await newSession({ verified: false });
    const first = mailedToken(h.outbox, session.email);
    const response = await h.request('POST', '/me/verification-email', { token: session.token, ip: ip() });
    expect(response.status).toBe(202);
    await h.deliverMails();
    const second = mailedToken(h.outbox, session.email);
    expect(second).not.toBe(first);
    expect((await h.request('POST', '/auth/verify-email', { body: { token: first }, ip: ip() })).status).toBe(400);
    expect((await h.request('POST', '/auth/verify-email', { body: { token: second }, ip: ip() })).status).toBe(200);
  });

  it('refuses a verified account with 409', async () => {
    const session = await newSession();
    const response = await h.request('POST', '/me/verification-email', { token: session.token, ip: ip() });
    expect(response.status).toBe(409);
    expect(response.json.error.code).toBe('email_already_verified');
  });

  it('limits resends per account to 3 an hour', async () => {
    const session = await newSession({ verified: false });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await h.request('POST', '/me/verification-email', { token: session.token, ip: `192.0.2.${i + 1}` })).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
  });

  it('needs a session', async () => {
    expect((await h.request('POST', '/me/verification-email', { ip: ip() })).status).toBe(401);
  });
});

describe('POST /me/password', () => {
  it('changes the password, keeps this session and ends the others', async () => {
    const session = await newSession();
    const other = await h.request('POST', '/auth/login', { body: { email: session.email, password: PASSWORD }, ip: ip() });
    const response = await h.request('POST', '/me/password', { token: session.token, body: { currentPassword: PASSWORD, newPassword: 'an entirely new phrase' }, ip: ip() });
    expect(response.status).toBe(204);
    expect((await h.request('GET', '/me', { token: session.token })).status).toBe(200);
    expect((await h.request('GET', '/me', { token: other.json.accessToken })).status).toBe(401);
    const refresh = await h.request('POST', '/auth/session/refresh', { headers: { origin: TEST_DASHBOARD_ORIGIN, cookie: `__Secure-pgp_refresh=${refreshCookieOf(other)}` }, ip: ip() });
    expect(refresh.status).toBe(401);
    expect((await h.request('POST', '/auth/login', { body: { email: session.email, password: 'an entirely new phrase' }, ip: ip() })).status).toBe(200);
    await h.deliverMails();
    expect(h.outbox.latestTo(session.email)?.subject).toContain('password was changed');
  });

  it.each([
    ['a wrong current password', { currentPassword: 'not my password', newPassword: 'an entirely new phrase' }, 'incorrect_password', 'currentPassword'],
    ['the same password again', { currentPassword: PASSWORD, newPassword: PASSWORD }, 'password_unchanged', 'newPassword'],
    ['a common password', { currentPassword: PASSWORD, newPassword: '1234567890' }, 'weak_password', 'newPassword'],
    ['a short password', { currentPassword: PASSWORD, newPassword: 'short' }, 'validation_failed', 'newPassword'],
  ])('refuses %s with a field message', async (_, body, code, field) => {
    const session = await newSession();
    const response = await h.request('POST', '/me/password', { token: session.token, body, ip: ip() });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe(code);
    expect(Object.keys(response.json.error.fields)).toEqual([field]);
  });

  it('limits attempts per account to 5 per 15 minutes', async () => {
    const session = await newSession();
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await h.request('POST', '/me/password', { token: session.token, body: { currentPassword: 'wrong guess', newPassword: 'an entirely new phrase' }, ip: `192.0.2.${20 + i}` })).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
  });

  it('needs a session', async () => {
    expect((await h.request('POST', '/me/password', { body: { currentPassword: PASSWORD, newPassword: 'an entirely new phrase' }, ip: ip() })).status).toBe(401);
  });

  it('makes the old password fail and revokes a reset link mailed before the change', async () => {
    const session = await newSession();
    await h.request('POST', '/auth/forgot-password', { body: { email: session.email }, ip: ip() });
    await h.deliverMails();
    const resetToken = mailedToken(h.outbox, session.email);
    expect((await h.request('POST', '/me/password', { token: session.token, body: { currentPassword: PASSWORD, newPassword: 'an entirely new phrase' }, ip: ip() })).status).toBe(204);
    const old = await h.request('POST', '/auth/login', { body: { email: session.email, password: PASSWORD }, ip: ip() });
    expect(old.status).toBe(401);
    expect(old.json.error.code).toBe('invalid_credentials');
    const reset = await h.request('POST', '/auth/reset-password', { body: { token: resetToken, password: 'an attacker chosen phrase' }, ip: ip() });
    expect(reset.status).toBe(400);
    expect(reset.json.error.code).toBe('invalid_link');
    expect((await h.request('POST', '/auth/login', { body: { email: session.email, password: 'an entirely new phrase' }, ip: ip() })).status).toBe(200);
  });

  it('unlinks nothing: the Telegram link and the channels stay, the other sessions end, and the mail says what stayed linked', async () => {
    const session = await newSession();
    const { code } = (await h.request('POST', '/me/telegram-link', { token: session.token, ip: ip() })).json;
    await redeemLinkCode({ db: h.testDb.db, clock: h.clock }, { code, user: { id: 5_590_000_000n + BigInt(n), username: `keeper${n}`, firstName: 'Owner' } });
    await insertChannel(h.testDb.db, { ownerAccountId: session.accountId });
    const thief = await h.request('POST', '/auth/login', { body: { email: session.email, password: PASSWORD }, ip: ip() });
    const response = await h.request('POST', '/me/password', { token: session.token, body: { currentPassword: PASSWORD, newPassword: 'an entirely new phrase' }, ip: ip() });
    expect(response.status).toBe(204);
    expect((await h.request('GET', '/me', { token: thief.json.accessToken })).status).toBe(401);
    expect((await h.request('GET', '/me', { token: session.token })).json.telegram).toMatchObject({ linked: true, username: `keeper${n}` });
    await h.deliverMails();
    const mail = h.outbox.latestTo(session.email);
    expect(mail?.subject).toContain('password was changed');
    expect(mail?.text).toContain('other sessions were logged out');
    expect(mail?.text).toContain(`@keeper${n}`);
    expect(mail?.text).toContain('stays linked');
    expect(mail?.text).toContain('your channel keeps its chats and payout wallets');
  });
});

describe('POST /me/email and POST /auth/confirm-email-change', () => {
  it('moves the account to the new address once it confirms; the old address is told; sessions end', async () => {
    const session = await newSession();
    const newEmail = `moved.${n}@example.org`;
    const response = await h.request('POST', '/me/email', { token: session.token, body: { newEmail, password: PASSWORD }, ip: ip() });
    expect(response.status).toBe(202);
    await h.deliverMails();
    expect(h.outbox.latestTo(session.email)?.text).toContain(newEmail);
    // Pending once its link is mailed: what the settings page shows after a reload.
    expect((await h.request('GET', '/me', { token: session.token })).json.pendingEmailChange).toEqual({ newEmail, expiresAt: expect.stringMatching(/Z$/) });
    const token = mailedToken(h.outbox, newEmail);
    expect(h.outbox.latestTo(newEmail)?.text).toContain('/confirm-email#token=');
    expect((await h.request('POST', '/auth/confirm-email-change', { body: { token }, ip: ip() })).status).toBe(204);
    expect((await h.request('POST', '/auth/confirm-email-change', { body: { token }, ip: ip() })).json.error.code).toBe('invalid_link');
    expect((await h.request('GET', '/me', { token: session.token })).status).toBe(401);
    const login = await h.request('POST', '/auth/login', { body: { email: newEmail, password: PASSWORD }, ip: ip() });
    expect((await h.request('GET', '/me', { token: login.json.accessToken })).json.email).toBe(newEmail);
    await h.deliverMails();
    expect(h.outbox.latestTo(session.email)?.subject).toContain('address was changed');
    expect(h.outbox.latestTo(newEmail)?.subject).toContain('confirmed');
  });

  it('revokes reset and verification links mailed to the previous address', async () => {
    const session = await newSession();
    await h.request('POST', '/auth/forgot-password', { body: { email: session.email }, ip: ip() });
    await h.deliverMails();
    const resetToken = mailedToken(h.outbox, session.email);
    const newEmail = `revoke.${n}@example.org`;
    await h.request('POST', '/me/email', { token: session.token, body: { newEmail, password: PASSWORD }, ip: ip() });
    await h.deliverMails();
    expect((await h.request('POST', '/auth/confirm-email-change', { body: { token: mailedToken(h.outbox, newEmail) }, ip: ip() })).status).toBe(204);
    const reset = await h.request('POST', '/auth/reset-password', { body: { token: resetToken, password: 'an attacker chosen phrase' }, ip: ip() });
    expect(reset.json.error.code).toBe('invalid_link');
    const { rows } = await h.testDb.db.query<{ count: string }>(
      'SELECT count(*)::text AS count FROM email_tokens WHERE account_id = $1 AND used_at IS NULL AND revoked_at IS NULL',
      [session.accountId],
    );
    expect(rows[0]?.count).toBe('0');
  });

  it('does not reveal a taken address: the request is accepted and the owner of that address gets a notice, no link', async () => {
    const session = await newSession();
    const taken = await newSession();
    const response = await h.request('POST', '/me/email', { token: session.token, body: { newEmail: taken.email.toUpperCase(), password: PASSWORD }, ip: ip() });
    expect(response.status).toBe(202);
    await h.deliverMails();
    const mail = h.outbox.latestTo(taken.email);
    expect(mail?.subject).toContain('offered for another account');
    expect(mail?.text).not.toContain('#token=');
  });

  it('refuses to confirm an address another account took meanwhile (409)', async () => {
    const session = await newSession();
    const newEmail = `race.${n}@example.org`;
    await h.request('POST', '/me/email', { token: session.token, body: { newEmail, password: PASSWORD }, ip: ip() });
    await h.deliverMails();
    const token = mailedToken(h.outbox, newEmail);
    await h.request('POST', '/auth/signup', { body: { email: newEmail, password: PASSWORD }, ip: ip() });
    const response = await h.request('POST', '/auth/confirm-email-change', { body: { token }, ip: ip() });
    expect(response.status).toBe(409);
    expect(response.json.error.code).toBe('email_taken');
  });

  it('refuses a confirmation link older than an hour', async () => {
    const session = await newSession();
    const newEmail = `late.${n}@example.org`;
    await h.request('POST', '/me/email', { token: session.token, body: { newEmail, password: PASSWORD }, ip: ip() });
    await h.deliverMails();
    h.clock.advance(HOUR_MS + 1000);
    expect((await h.request('POST', '/auth/confirm-email-change', { body: { token: mailedToken(h.outbox, newEmail) }, ip: ip() })).json.error.code).toBe('link_expired');
  });

  it.each([
    ['an unverified account', { verified: false }, { newEmail: 'x1@example.org', password: PASSWORD }, 403, 'email_not_verified'],
    ['a wrong password', {}, { newEmail: 'x2@example.org', password: 'wrong password' }, 400, 'incorrect_password'],
    ['the current address', {}, { newEmail: 'SAME', password: PASSWORD }, 400, 'email_unchanged'],
    ['a malformed address', {}, { newEmail: 'nope', password: PASSWORD }, 400, 'validation_failed'],
  ])('refuses %s', async (_, options, body, status, code) => {
    const session = await newSession(options);
    const response = await h.request('POST', '/me/email', { token: session.token, body: { ...body, newEmail: body.newEmail === 'SAME' ? session.email.toUpperCase() : body.newEmail }, ip: ip() });
    expect(response.status).toBe(status);
    expect(response.json.error.code).toBe(code);
  });

  it('needs a session (401 envelope)', async () => {
    for (const headers of [{}, { authorization: 'Bearer not.a.jwt' }] as Record<string, string>[]) {
      const response = await h.request('POST', '/me/email', { headers, body: { newEmail: 'x3@example.org', password: PASSWORD }, ip: ip() });
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.json).toEqual({ error: { code: expect.stringMatching(/^(unauthorized|invalid_token)$/), message: expect.any(String) }, requestId: expect.any(String) });
    }
  });

  it('limits requests per account to 3 an hour', async () => {
    const session = await newSession();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await h.request('POST', '/me/email', { token: session.token, body: { newEmail: `limit${i}.${n}@example.org`, password: PASSWORD }, ip: `192.0.2.${40 + i}` })).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
  });
});

describe('DELETE /me/email', () => {
  it('cancels a pending change: the confirmation link stops working, and it is audited', async () => {
    const session = await newSession();
    const newEmail = `cancel.${n}@example.org`;
    await h.request('POST', '/me/email', { token: session.token, body: { newEmail, password: PASSWORD }, ip: ip() });
    await h.deliverMails();
    const token = mailedToken(h.outbox, newEmail);
    const response = await h.request('DELETE', '/me/email', { token: session.token, ip: ip() });
    expect(response.status).toBe(204);
    expect(response.text).toBeUndefined();
    const confirm = await h.request('POST', '/auth/confirm-email-change', { body: { token }, ip: ip() });
    expect(confirm.status).toBe(400);
    expect(confirm.json.error.code).toBe('invalid_link');
    expect((await h.request('GET', '/me', { token: session.token })).json.email).toBe(session.email);
    const { rows } = await h.testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject_id = $1 AND action = 'account.email_change_cancelled'`, [session.accountId]);
    expect(rows).toHaveLength(1);
  });

  it('answers 204 when nothing is pending, without an audit entry, and leaves other links alone', async () => {
    const session = await newSession({ verified: false });
    const verifyToken = mailedToken(h.outbox, session.email);
    expect((await h.request('DELETE', '/me/email', { token: session.token, ip: ip() })).status).toBe(204);
    const { rows } = await h.testDb.db.query(`SELECT 1 FROM audit_log WHERE subject_id = $1 AND action = 'account.email_change_cancelled'`, [session.accountId]);
    expect(rows).toHaveLength(0);
    expect((await h.request('POST', '/auth/verify-email', { body: { token: verifyToken }, ip: ip() })).status).toBe(200);
  });

  it('needs a session (401 envelope)', async () => {
    for (const headers of [{}, { authorization: 'Bearer not.a.jwt' }] as Record<string, string>[]) {
      const response = await h.request('DELETE', '/me/email', { headers, ip: ip() });
      expect(response.status).toBe(401);
      expect(response.json.error.code).toMatch(/^(unauthorized|invalid_token)$/);
      expect(response.json.requestId).toEqual(expect.any(String));
    }
  });
});

describe('DELETE /me', () => {
  it('needs a session (401 envelope)', async () => {
    for (const headers of [{}, { authorization: 'Bearer not.a.jwt' }] as Record<string, string>[]) {
      const response = await h.request('DELETE', '/me', { headers, body: { password: PASSWORD }, ip: ip() });
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.json).toEqual({ error: { code: expect.stringMatching(/^(unauthorized|invalid_token)$/), message: expect.any(String) }, requestId: expect.any(String) });
    }
  });

  it('deletes softly: sessions end, the cookie is cleared, the address is free again', async () => {
    const session = await newSession();
    const response = await h.request('DELETE', '/me', { token: session.token, body: { password: PASSWORD }, ip: ip() });
    expect(response.status).toBe(204);
    expect(String(response.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await h.request('GET', '/me', { token: session.token })).status).toBe(401);
    expect((await h.request('POST', '/auth/login', { body: { email: session.email, password: PASSWORD }, ip: ip() })).status).toBe(401);
    const { rows } = await h.testDb.db.query<{ status: string; email: string | null }>('SELECT status, email FROM accounts WHERE id = $1', [session.accountId]);
    expect(rows[0]).toEqual({ status: 'deleted', email: null });
    expect(await accountEmailById(h.testDb.db, session.accountId)).toBe(`deleted+${session.accountId}@deleted.invalid`);
    await h.deliverMails();
    expect(h.outbox.latestTo(session.email)?.subject).toContain('deleted');
    expect((await h.request('POST', '/auth/signup', { body: { email: session.email, password: PASSWORD }, ip: ip() })).status).toBe(202);
    await h.deliverMails();
    expect(h.outbox.latestTo(session.email)?.subject).toContain('Verify');
  });

  it('refuses while the account has channels, and with a wrong password', async () => {
    const session = await newSession();
    await insertChannel(h.testDb.db, { ownerAccountId: session.accountId });
    const withChannel = await h.request('DELETE', '/me', { token: session.token, body: { password: PASSWORD }, ip: ip() });
    expect(withChannel.status).toBe(409);
    expect(withChannel.json.error.code).toBe('account_has_channels');
    const wrong = await h.request('DELETE', '/me', { token: session.token, body: { password: 'wrong password' }, ip: ip() });
    expect(wrong.json.error.code).toBe('incorrect_password');
    expect((await h.request('DELETE', '/me', { token: session.token, body: {}, ip: ip() })).json.error.fields).toEqual({ password: expect.any(String) });
  });

  it('limits attempts per account to 5 per 15 minutes', async () => {
    const session = await newSession();
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await h.request('DELETE', '/me', { token: session.token, body: { password: 'wrong' }, ip: `192.0.2.${60 + i}` })).status);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe('POST /me/telegram-link', () => {
  it('issues a 10-minute code with a deep link; the bot redeems it and /me shows the link', async () => {
    const session = await newSession();
    const response = await h.request('POST', '/me/telegram-link', { token: session.token, ip: ip() });
    expect(response.status).toBe(201);
    const { code, deepLink, command, expiresAt } = response.json;
    expect(deepLink).toBe(`https://t.me/PayGatePrimeTestBot?start=link_${code}`);
    expect(command).toBe(`/start link_${code}`);
    expect(new Date(expiresAt).getTime() - h.clock.now().getTime()).toBe(10 * 60_000);
    const telegramUser = { id: 5_550_000_000n + BigInt(n), username: `owner${n}`, firstName: 'Owner', languageCode: 'en' };
    expect(await redeemLinkCode({ db: h.testDb.db, clock: h.clock }, { code, user: telegramUser })).toMatchObject({ outcome: 'linked' });
    const me = await h.request('GET', '/me', { token: session.token });
    expect(me.json.telegram).toEqual({ linked: true, userId: telegramUser.id.toString(), username: telegramUser.username, linkedAt: h.clock.now().toISOString() });
    const { rows } = await h.testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject_id = $1 AND action LIKE 'account.telegram%' ORDER BY id`, [session.accountId]);
    expect(rows.map((row) => row.action)).toEqual(['account.telegram_link_code_issued', 'account.telegram_linked']);
  });

  it('expires codes after 10 minutes', async () => {
    const session = await newSession();
    const { code } = (await h.request('POST', '/me/telegram-link', { token: session.token, ip: ip() })).json;
    h.clock.advance(10 * 60_000 + 1);
    const outcome = await redeemLinkCode({ db: h.testDb.db, clock: h.clock }, { code, user: { id: 5_560_000_000n + BigInt(n), username: null, firstName: 'X' } });
    expect(outcome).toEqual({ outcome: 'refused', reason: 'expired' });
  });

  it('needs a verified address and a session', async () => {
    const session = await newSession({ verified: false });
    expect((await h.request('POST', '/me/telegram-link', { token: session.token, ip: ip() })).json.error.code).toBe('email_not_verified');
    expect((await h.request('POST', '/me/telegram-link', { ip: ip() })).status).toBe(401);
  });

  it('re-links only with the password, and mails the owner about every new link', async () => {
    const session = await newSession();
    const redeem = async (code: string, id: bigint, username: string) =>
      redeemLinkCode({ db: h.testDb.db, clock: h.clock }, { code, user: { id, username, firstName: 'Owner', languageCode: 'en' } });
    // A first link needs no password (the body may be left out).
    const first = await h.request('POST', '/me/telegram-link', { token: session.token, ip: ip() });
    expect(first.status).toBe(201);
    expect(await redeem(first.json.code, 5_570_000_000n + BigInt(n), `first${n}`)).toMatchObject({ outcome: 'linked' });
    await h.deliverMails();
    expect(h.outbox.latestTo(session.email)).toMatchObject({ subject: expect.stringContaining('Telegram account was linked'), text: expect.stringContaining(`@first${n}`) });

    // A stolen access token cannot re-link: the password is required, and a wrong one refused.
    const missing = await h.request('POST', '/me/telegram-link', { token: session.token, ip: ip() });
    expect(missing.status).toBe(403);
    expect(missing.json.error).toMatchObject({ code: 'password_required', fields: { password: expect.any(String) } });
    const empty = await h.request('POST', '/me/telegram-link', { token: session.token, body: {}, ip: ip() });
    expect(empty.status).toBe(403);
    const wrong = await h.request('POST', '/me/telegram-link', { token: session.token, body: { password: 'not my password' }, ip: ip() });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe('incorrect_password');
    const mailsBefore = h.outbox.list().length;
    await h.deliverMails();
    expect(h.outbox.list().length).toBe(mailsBefore);

    const relink = await h.request('POST', '/me/telegram-link', { token: session.token, body: { password: PASSWORD }, ip: ip() });
    expect(relink.status).toBe(201);
    expect(await redeem(relink.json.code, 5_580_000_000n + BigInt(n), `second${n}`)).toMatchObject({ outcome: 'linked' });
    await h.deliverMails();
    const mail = h.outbox.latestTo(session.email);
    expect(mail?.subject).toContain('Telegram account was linked');
    expect(mail?.text).toContain(`@second${n}`);
    expect(mail?.text).toContain('forgot-password');
    const { rows } = await h.testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject_id = $1 AND action LIKE 'account.telegram%' ORDER BY id`, [session.accountId]);
    expect(rows.map((row) => row.action)).toEqual([
      'account.telegram_link_code_issued',
      'account.telegram_linked',
      'account.telegram_link_refused',
      'account.telegram_link_code_issued',
      'account.telegram_linked',
    ]);
  });

  it('limits codes per account to 10 an hour', async () => {
    const session = await newSession();
    let last = 0;
    for (let i = 0; i < 11; i++) last = (await h.request('POST', '/me/telegram-link', { token: session.token, ip: ip() })).status;
    expect(last).toBe(429);
  });
});
