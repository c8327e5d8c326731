import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSecretRotation } from '../../shared/audit/index.js';
import { recordDeadLetter, redriveDeadLetter, resolveDeadLetter } from '../../shared/bus/index.js';
import { setOwnerNotifications } from '../../shared/channels/index.js';
import { parsePublicId } from '../../shared/ids/index.js';
import { approvePayout, holdPayout, rejectPayout } from '../../shared/payouts/index.js';
import { createBotApi } from '../../shared/telegram/index.js';
import { addOwnedChats, channelInput } from '../../shared/testing/channel-setup.js';
import { createDashboardHarness, type DashboardHarness, mailedToken, TEST_JWT_SECRET, type TestResponse } from '../../shared/testing/dashboard-api.js';
import { insertPayout, insertTelegramUser } from '../../shared/testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../../shared/testing/simulators/telegram-simulator.js';

/**
 * Audit coverage: every money-moving and security-relevant action, done the way it is done in
 * production (the dashboard API, the operators' functions behind the CLIs, the rotation hook), leaves
 * exactly one `audit_log` row saying who (the owner's account, `operator` by name, `system`), what,
 * before and after where it applies, and, for a request, its `x-request-id` and client IP. None of
 * the rows holds a password, a secret or a whole wallet address.
 */

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a different horse staple';
const WALLET = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const NEW_WALLET = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
const OWNER_IP = '198.51.100.23';
const THIEF_IP = '203.0.113.66';

let h: DashboardHarness;
let telegram: TelegramSimulator;

beforeAll(async () => {
  telegram = await startTelegramSimulator();
  h = await createDashboardHarness({
    channels: {
      telegram: createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot }),
      bot: { id: telegram.botInfo.id, username: telegram.botInfo.username },
      limits: { minTierPriceCents: 499n, minPayoutThresholdCents: 2000n },
    },
  });
});
afterAll(async () => {
  await h?.dispose();
  await telegram?.close();
});

interface Owner {
  email: string;
  accountId: string;
  token: string;
  telegramUserId: number;
  channelPublicId?: string;
}
const owner: Owner = { email: 'audited.owner@example.com', accountId: '', token: '', telegramUserId: 7_100_000_001 };

/** What a case's row must say. `request`: the answer whose x-request-id and IP (OWNER_IP unless `ip`) it carries. */
interface Expected {
  actor: { type: string; id: string | null };
  subject: { type: string; id: string } | null;
  request?: TestResponse;
  ip?: string;
  details?: Record<string, unknown>;
}

interface Case {
  action: string;
  act: () => Promise<Expected>;
}

const requestIdOf = (response: TestResponse) => response.headers['x-request-id'] as string;
const asOwner = () => ({ type: 'account', id: owner.accountId });
const ownerAccount = () => ({ type: 'account', id: owner.accountId });
const channelUuid = () => parsePublicId('channel', owner.channelPublicId!);
const expectStatus = (response: TestResponse, status: number) => {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  return response;
};

async function logIn(ip = OWNER_IP): Promise<TestResponse> {
  const response = expectStatus(await h.request('POST', '/auth/login', { body: { email: owner.email, password: PASSWORD }, ip }), 200);
  owner.token = response.json.accessToken as string;
  return response;
}

async function heldPayout(): Promise<string> {
  const payout = await insertPayout(h.testDb.db, { channelId: channelUuid(), amountUsdCents: 500_000n });
  return payout.id;
}

const CASES: Case[] = [
  {
    action: 'account.signed_up',
    act: async () => {
      const response = expectStatus(await h.request('POST', '/auth/signup', { body: { email: owner.email, password: PASSWORD }, ip: OWNER_IP }), 202);
      await h.deliverMails();
      expectStatus(await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, owner.email) }, ip: OWNER_IP }), 200);
      await logIn();
      owner.accountId = parsePublicId('account', (await h.request('GET', '/me', { token: owner.token })).json.id as string);
      return { actor: asOwner(), subject: ownerAccount(), request: response, details: { emailDomain: 'example.com' } };
    },
  },
  {
    action: 'auth.login_succeeded',
    act: async () => ({ actor: asOwner(), subject: ownerAccount(), request: await logIn() }),
  },
  {
    action: 'auth.login_failed',
    act: async () => {
      const response = await h.request('POST', '/auth/login', { body: { email: owner.email, password: 'not the password at all' }, ip: THIEF_IP });
      expect(response.status).toBe(401);
      return { actor: asOwner(), subject: ownerAccount(), request: response, ip: THIEF_IP };
    },
  },
  {
    action: 'auth.session_revoked',
    act: async () => {
      await logIn(THIEF_IP);
      const thief = owner.token;
      await logIn();
      const sessions = (await h.request('GET', '/me/sessions', { token: owner.token })).json.sessions as { id: string; ip: string }[];
      const other = sessions.find((session) => session.ip === THIEF_IP)!;
      const response = expectStatus(await h.request('DELETE', `/me/sessions/${other.id}`, { token: owner.token, ip: OWNER_IP }), 204);
      expect((await h.request('GET', '/me', { token: thief })).status).toBe(401);
      return { actor: asOwner(), subject: ownerAccount(), request: response };
    },
  },
  {
    action: 'auth.sessions_revoked',
    act: async () => ({ actor: asOwner(), subject: ownerAccount(), request: expectStatus(await h.request('POST', '/me/sessions/revoke-all', { token: owner.token, ip: OWNER_IP }), 200) }),
  },
  {
    action: 'account.password_changed',
    act: async () => {
      const response = expectStatus(await h.request('POST', '/me/password', { token: owner.token, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, ip: OWNER_IP }), 204);
      // Back to the first password for the cases below (a second change, audited the same way).
      const again = await logInWith(NEW_PASSWORD);
      expectStatus(await h.request('POST', '/me/password', { token: again, body: { currentPassword: NEW_PASSWORD, newPassword: PASSWORD }, ip: OWNER_IP }), 204);
      await logIn();
      return { actor: asOwner(), subject: ownerAccount(), request: response };
    },
  },
  {
    action: 'account.email_change_requested',
    act: async () => ({
      actor: asOwner(),
      subject: ownerAccount(),
      request: expectStatus(await h.request('POST', '/me/email', { token: owner.token, body: { newEmail: 'audited.moved@example.org', password: PASSWORD }, ip: OWNER_IP }), 202),
      details: { newEmailDomain: 'example.org' },
    }),
  },
  {
    action: 'account.email_changed',
    act: async () => {
      await h.deliverMails();
      const response = expectStatus(await h.request('POST', '/auth/confirm-email-change', { body: { token: mailedToken(h.outbox, 'audited.moved@example.org') }, ip: OWNER_IP }), 204);
      owner.email = 'audited.moved@example.org';
      await logIn();
      return { actor: asOwner(), subject: ownerAccount(), request: response, details: { fromDomain: 'example.com', toDomain: 'example.org' } };
    },
  },
  {
    action: 'channel.created',
    act: async () => {
      await insertTelegramUser(h.testDb.db, { id: BigInt(owner.telegramUserId) });
      await h.testDb.db.query('UPDATE accounts SET telegram_user_id = $2, telegram_linked_at = $3 WHERE id = $1', [owner.accountId, owner.telegramUserId, h.clock.now()]);
      telegram.addUser({ id: owner.telegramUserId, first_name: 'Owner' });
      const chats = addOwnedChats(telegram, owner.telegramUserId);
      const response = expectStatus(await h.request('POST', '/channels', { token: owner.token, body: { ...channelInput(chats), currentPassword: PASSWORD }, ip: OWNER_IP }), 201);
      owner.channelPublicId = response.json.id as string;
      return { actor: asOwner(), subject: { type: 'channel', id: channelUuid() }, request: response, details: { payoutWallet: 'TR7NHq…Lj6t' } };
    },
  },
  {
    action: 'channel.wallet_changed',
    act: async () => {
      const response = expectStatus(
        await h.request('PATCH', `/channels/${owner.channelPublicId}`, {
          token: owner.token,
          body: { payoutDestination: { currency: 'BTC', network: 'BTC', wallet: NEW_WALLET }, currentPassword: PASSWORD },
          ip: OWNER_IP,
        }),
        200,
      );
      return {
        actor: asOwner(),
        subject: { type: 'channel', id: channelUuid() },
        request: response,
        details: { from: { currency: 'USDT', network: 'TRX', wallet: 'TR7NHq…Lj6t' }, to: { currency: 'BTC', network: 'BTC', wallet: 'bc1qw5…f3t4' } },
      };
    },
  },
  {
    action: 'channel.payout_settings_changed',
    act: async () => ({
      actor: asOwner(),
      subject: { type: 'channel', id: channelUuid() },
      request: expectStatus(
        await h.request('PATCH', `/channels/${owner.channelPublicId}`, { token: owner.token, body: { payoutStrategy: { strategy: 'threshold', thresholdUsd: '50' }, currentPassword: PASSWORD }, ip: OWNER_IP }),
        200,
      ),
      details: { from: { strategy: 'instant', thresholdUsd: null }, to: { strategy: 'threshold', thresholdUsd: '50.00' } },
    }),
  },
  {
    action: 'channel.updated',
    act: async () => ({
      actor: asOwner(),
      subject: { type: 'channel', id: channelUuid() },
      request: expectStatus(await h.request('PATCH', `/channels/${owner.channelPublicId}`, { token: owner.token, body: { openChat: { title: 'Renamed' } }, ip: OWNER_IP }), 200),
      details: { sections: ['openChat'] },
    }),
  },
  {
    action: 'channel.broadcast_requested',
    act: async () => ({
      actor: asOwner(),
      subject: { type: 'channel', id: channelUuid() },
      request: expectStatus(await h.request('POST', `/channels/${owner.channelPublicId}/broadcast`, { token: owner.token, ip: OWNER_IP }), 202),
    }),
  },
  {
    action: 'channel.notifications_switched',
    act: async () => {
      expect(await setOwnerNotifications({ db: h.testDb.db, clock: h.clock }, { accountId: owner.accountId, isOn: true, chatId: owner.telegramUserId })).toBe(1);
      return { actor: { type: 'telegram_user', id: String(owner.telegramUserId) }, subject: ownerAccount(), details: { isOn: true, channels: 1 } };
    },
  },
  {
    action: 'payout.held',
    act: async () => {
      const payoutId = await heldPayout();
      expect(await h.testDb.db.transaction((tx) => holdPayout(tx, payoutId, 'over_payout_limit', h.clock.now()))).toBe(true);
      return { actor: { type: 'system', id: null }, subject: { type: 'payout', id: payoutId }, details: { reason: 'over_payout_limit', from: 'requested', to: 'held' } };
    },
  },
  {
    action: 'payout.approved',
    act: async () => {
      const payoutId = await heldPayout();
      await h.testDb.db.transaction((tx) => holdPayout(tx, payoutId, 'over_payout_limit', h.clock.now()));
      await approvePayout(h.testDb.db, { payoutId, operator: 'ops@example.com', at: h.clock.now() });
      return { actor: { type: 'operator', id: 'ops@example.com' }, subject: { type: 'payout', id: payoutId }, details: { from: 'held', to: 'requested' } };
    },
  },
  {
    action: 'payout.rejected',
    act: async () => {
      const payoutId = await heldPayout();
      await h.testDb.db.transaction((tx) => holdPayout(tx, payoutId, 'over_daily_limit', h.clock.now()));
      await rejectPayout(h.testDb.db, { payoutId, operator: 'ops@example.com', reason: 'not the owner asking', at: h.clock.now() });
      return { actor: { type: 'operator', id: 'ops@example.com' }, subject: { type: 'payout', id: payoutId }, details: { reason: 'not the owner asking', from: 'held', to: 'cancelled' } };
    },
  },
  {
    action: 'dead_letter.redriven',
    act: async () => {
      const id = await deadLetter();
      await redriveDeadLetter(h.testDb.db, { deadLetterId: id, operator: 'ops@example.com', at: h.clock.now() });
      return { actor: { type: 'operator', id: 'ops@example.com' }, subject: { type: 'dead_letter', id: String(id) } };
    },
  },
  {
    action: 'dead_letter.resolved',
    act: async () => {
      const id = await deadLetter();
      await resolveDeadLetter(h.testDb.db, { deadLetterId: id, operator: 'ops@example.com', reason: 'handled by hand', at: h.clock.now() });
      return { actor: { type: 'operator', id: 'ops@example.com' }, subject: { type: 'dead_letter', id: String(id) } };
    },
  },
  {
    action: 'secret.rotated',
    act: async () => {
      await recordSecretRotation(h.testDb.db, { secret: 'JWT_SECRET', operator: 'ops@example.com', fromVersion: '3', toVersion: '4', overlapEndsAt: new Date('2026-12-02T00:00:00Z'), at: h.clock.now() });
      return { actor: { type: 'operator', id: 'ops@example.com' }, subject: { type: 'secret', id: 'JWT_SECRET' }, details: { fromVersion: '3', toVersion: '4', overlapEndsAt: '2026-12-02T00:00:00.000Z' } };
    },
  },
  {
    action: 'earnings.payments_exported',
    act: async () => ({
      actor: asOwner(),
      subject: ownerAccount(),
      request: expectStatus(await h.request('GET', `/exports/payments?channelId=${owner.channelPublicId}`, { token: owner.token, ip: OWNER_IP }), 200),
      details: { filters: { channelId: owner.channelPublicId }, rows: 0 },
    }),
  },
  {
    action: 'earnings.payouts_exported',
    act: async () => ({
      actor: asOwner(),
      subject: ownerAccount(),
      request: expectStatus(await h.request('GET', '/exports/payouts', { token: owner.token, ip: OWNER_IP }), 200),
      details: { filters: {}, rows: 3 },
    }),
  },
  {
    action: 'channel.deleted',
    act: async () => ({
      actor: asOwner(),
      subject: { type: 'channel', id: channelUuid() },
      request: expectStatus(await h.request('DELETE', `/channels/${owner.channelPublicId}`, { token: owner.token, body: { currentPassword: PASSWORD }, ip: OWNER_IP }), 204),
    }),
  },
];

async function logInWith(password: string): Promise<string> {
  const response = expectStatus(await h.request('POST', '/auth/login', { body: { email: owner.email, password }, ip: OWNER_IP }), 200);
  return response.json.accessToken as string;
}

let letters = 0;
async function deadLetter(): Promise<bigint> {
  const messageId = `00000000-0000-4000-8000-${String(++letters).padStart(12, '0')}`;
  const { id } = await recordDeadLetter(h.testDb.db, {
    source: 'invite-requested--send-invite',
    topic: 'invite-requested',
    messageId,
    reasonCode: 'max_delivery_attempts',
    reason: 'Delivery failed 10 times',
    data: JSON.stringify({ paymentId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' }),
    attributes: { pgp_message_id: messageId },
    deliveryAttempt: 10,
    at: h.clock.now(),
  });
  return id;
}

interface AuditRow {
  actor_type: string;
  actor_id: string | null;
  subject_type: string | null;
  subject_id: string | null;
  details: Record<string, unknown>;
  request_id: string | null;
}

describe('audit coverage: each action leaves its row', () => {
  it.each(CASES.map((entry) => [entry.action, entry] as const))('%s', async (action, entry) => {
    const { rows: before } = await h.testDb.db.query<{ last: bigint | null }>('SELECT max(id) AS last FROM audit_log');
    const expected = await entry.act();
    const { rows } = await h.testDb.db.query<AuditRow>(
      'SELECT actor_type, actor_id, subject_type, subject_id, details, request_id FROM audit_log WHERE action = $1 AND id > $2 ORDER BY id',
      [action, before[0]?.last ?? 0n],
    );
    expect(rows.length, `${action}: rows`).toBeGreaterThanOrEqual(1);
    const row = rows[0]!;
    expect({ type: row.actor_type, id: row.actor_id }).toEqual(expected.actor);
    expect(row.subject_type === null ? null : { type: row.subject_type, id: row.subject_id }).toEqual(expected.subject);
    expect(row.request_id).toBe(expected.request ? requestIdOf(expected.request) : null);
    expect(row.details.ip ?? null).toBe(expected.request ? (expected.ip ?? OWNER_IP) : null);
    if (expected.details) expect(row.details).toMatchObject(expected.details);
  });

  it('keeps no password, secret, whole wallet address or whole email address in any row', async () => {
    const { rows } = await h.testDb.db.query<{ text: string }>(`SELECT concat_ws(' ', actor_id, subject_id, details::text, request_id) AS text FROM audit_log`);
    const all = rows.map((row) => row.text).join('\n');
    for (const secret of [PASSWORD, NEW_PASSWORD, 'not the password at all', WALLET, NEW_WALLET, TEST_JWT_SECRET, 'audited.owner@example.com', 'audited.moved@example.org']) {
      expect(all).not.toContain(secret);
    }
  });

  it('shows the owner, at GET /me/audit, their own entries: what they did and what was done to their channels and payouts', async () => {
    const token = await logInWith(PASSWORD);
    const actions: string[] = [];
    let cursor: string | null = null;
    do {
      const page: TestResponse = expectStatus(await h.request('GET', `/me/audit?limit=7${cursor ? `&cursor=${cursor}` : ''}`, { token }), 200);
      actions.push(...(page.json.items as { action: string }[]).map((item) => item.action));
      cursor = page.json.nextCursor as string | null;
    } while (cursor);
    for (const action of CASES.map((entry) => entry.action).filter((action) => !action.startsWith('dead_letter.') && action !== 'secret.rotated')) {
      expect(actions, action).toContain(action);
    }
    expect(actions).not.toContain('dead_letter.redriven');
    expect(actions).not.toContain('secret.rotated');
    // /me/activity, the security view, keeps to the account's own doings and what was done to the account.
    const activity = expectStatus(await h.request('GET', '/me/activity?limit=100', { token }), 200);
    expect((activity.json.items as { action: string }[]).map((item) => item.action)).not.toContain('payout.held');
  });
});
