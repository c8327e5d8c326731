import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOwnerWebhookEvents } from '../owner-webhooks/index.js';
import { createDashboardHarness, type DashboardHarness, mailedToken } from '../testing/dashboard-api.js';
import { accountIdByEmail } from '../testing/encrypted-fields.js';

const PASSWORD = 'correct horse battery';

let h: DashboardHarness;
let n = 0;

async function session(): Promise<{ accountId: string; token: string }> {
  const email = `hooked.${++n}@example.com`;
  const ip = `192.0.2.${n}`;
  await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD }, ip });
  await h.deliverMails();
  await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) }, ip });
  const login = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip });
  const accountId = await accountIdByEmail(h.testDb.db, email);
  return { accountId: accountId!, token: login.json.accessToken as string };
}

beforeAll(async () => {
  h = await createDashboardHarness();
});
afterAll(() => h?.dispose());

describe('webhook routes', () => {
  it('creates an endpoint with its secret, lists, updates, rotates and deletes it; audited; others see none of it', async () => {
    const owner = await session();
    const stranger = await session();
    const created = await h.request('POST', '/webhook-endpoints', {
      token: owner.token,
      body: { url: 'https://hooks.example.com/paygate', description: 'CRM', events: ['payment.settled', 'payout.failed'], currentPassword: PASSWORD },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toMatchObject({ url: 'https://hooks.example.com/paygate', enabled: true, secretVersion: 1, previousSecretUntil: null });
    expect(created.json.secret).toMatch(/^whsec_/);
    const id = created.json.id as string;

    const listed = await h.request('GET', '/webhook-endpoints', { token: owner.token });
    expect(listed.json.items).toHaveLength(1);
    expect(listed.json.items[0].secret).toBeUndefined();
    expect((await h.request('GET', '/webhook-endpoints', { token: stranger.token })).json.items).toEqual([]);
    expect((await h.request('PATCH', `/webhook-endpoints/${id}`, { token: stranger.token, body: { enabled: false } })).status).toBe(404);

    const disabled = await h.request('PATCH', `/webhook-endpoints/${id}`, { token: owner.token, body: { enabled: false, events: ['payout.completed'] } });
    expect(disabled.json).toMatchObject({ enabled: false, events: ['payout.completed'] });

    const rotated = await h.request('POST', `/webhook-endpoints/${id}/rotate-secret`, { token: owner.token, body: { overlapHours: 48, currentPassword: PASSWORD } });
    expect(rotated.status).toBe(200);
    expect(rotated.json.secretVersion).toBe(2);
    expect(rotated.json.secret).not.toBe(created.json.secret);
    expect(Date.parse(rotated.json.previousSecretUntil as string) - h.clock.now().getTime()).toBe(48 * 3_600_000);
    expect((await h.request('POST', `/webhook-endpoints/${id}/rotate-secret`, { token: owner.token, body: { overlapHours: 169, currentPassword: PASSWORD } })).status).toBe(400);

    expect((await h.request('DELETE', `/webhook-endpoints/${id}`, { token: owner.token })).status).toBe(204);
    expect((await h.request('GET', '/webhook-endpoints', { token: owner.token })).json.items).toEqual([]);
    const { rows } = await h.testDb.db.query<{ action: string; details: Record<string, unknown> }>(
      `SELECT action, details FROM audit_log WHERE actor_id = $1 AND action LIKE 'webhook_%' ORDER BY id`,
      [owner.accountId],
    );
    expect(rows.map((row) => row.action)).toEqual(['webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.secret_rotated', 'webhook_endpoint.deleted']);
    expect(JSON.stringify(rows)).not.toContain('whsec_');
  });

  it('needs the password to add an endpoint, change its URL or rotate its secret (a stolen token is not enough), and mails the owner', async () => {
    const owner = await session();
    const mailsOf = async () =>
      (await h.testDb.db.query<{ kind: string }>(`SELECT payload->>'kind' AS kind FROM outbox WHERE topic = 'account-mail-requested' AND payload->>'accountId' = $1`, [owner.accountId])).rows
        .map((row) => row.kind)
        .filter((kind) => kind === 'webhook_endpoint_changed').length;
    const body = { url: 'https://hooks.example.com/guarded', events: ['payment.settled'] };
    const missing = await h.request('POST', '/webhook-endpoints', { token: owner.token, body });
    expect(missing.status).toBe(403);
    expect(missing.json.error).toMatchObject({ code: 'password_required', fields: { currentPassword: expect.any(String) } });
    const wrong = await h.request('POST', '/webhook-endpoints', { token: owner.token, body: { ...body, currentPassword: 'not the password' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toMatchObject({ code: 'incorrect_password', fields: { currentPassword: expect.any(String) } });
    expect((await h.request('GET', '/webhook-endpoints', { token: owner.token })).json.items).toEqual([]);
    expect(await mailsOf()).toBe(0);

    const created = await h.request('POST', '/webhook-endpoints', { token: owner.token, body: { ...body, currentPassword: PASSWORD } });
    expect(created.status).toBe(201);
    expect(await mailsOf()).toBe(1);
    const path = `/webhook-endpoints/${created.json.id as string}`;

    // Events, description, enabled and the stored URL again: no password, no mail.
    const plain = await h.request('PATCH', path, { token: owner.token, body: { url: body.url, events: ['payout.failed'], description: 'CRM', enabled: false } });
    expect(plain.status).toBe(200);
    const moved = await h.request('PATCH', path, { token: owner.token, body: { url: 'https://attacker.example.net/steal' } });
    expect(moved.status).toBe(403);
    expect(moved.json.error.code).toBe('password_required');
    const rotate = await h.request('POST', `${path}/rotate-secret`, { token: owner.token, body: {} });
    expect(rotate.status).toBe(403);
    expect((await h.request('GET', '/webhook-endpoints', { token: owner.token })).json.items[0]).toMatchObject({ url: body.url, secretVersion: 1 });
    expect(await mailsOf()).toBe(1);

    expect((await h.request('PATCH', path, { token: owner.token, body: { url: 'https://hooks.example.com/moved', currentPassword: PASSWORD } })).status).toBe(200);
    expect((await h.request('POST', `${path}/rotate-secret`, { token: owner.token, body: { currentPassword: PASSWORD } })).status).toBe(200);
    expect(await mailsOf()).toBe(3);
    const { rows } = await h.testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE actor_id = $1 AND action = 'webhook_endpoint.change_refused'`, [owner.accountId]);
    expect(rows).toHaveLength(1);
  });

  it('refuses a private or non-https URL with a field error, and an eleventh endpoint', async () => {
    const owner = await session();
    for (const url of ['https://10.0.0.1/x', 'https://169.254.169.254/', 'http://hooks.example.com/x', 'https://a:b@hooks.example.com/']) {
      const refused = await h.request('POST', '/webhook-endpoints', { token: owner.token, body: { url, events: ['payment.settled'], currentPassword: PASSWORD } });
      expect(refused.status, url).toBe(400);
      expect(refused.json.error.code).toBe('validation_failed');
      expect(refused.json.error.fields.url).toEqual(expect.any(String));
    }
    expect((await h.request('POST', '/webhook-endpoints', { token: owner.token, body: { url: 'https://hooks.example.com/', events: [], currentPassword: PASSWORD } })).json.error.fields.events).toBeDefined();
    for (let i = 0; i < 10; i++) {
      const created = await h.request('POST', '/webhook-endpoints', { token: owner.token, body: { url: `https://hooks.example.com/${i}`, events: ['payment.settled'], currentPassword: PASSWORD } });
      expect(created.status).toBe(201);
    }
    const eleventh = await h.request('POST', '/webhook-endpoints', { token: owner.token, body: { url: 'https://hooks.example.com/11', events: ['payment.settled'], currentPassword: PASSWORD } });
    expect(eleventh.status).toBe(409);
    expect(eleventh.json.error.code).toBe('webhook_endpoint_limit_reached');
  });

  it('pages the delivery log newest first and resends a delivery as a new one', async () => {
    const owner = await session();
    const stranger = await session();
    const created = await h.request('POST', '/webhook-endpoints', { token: owner.token, body: { url: 'https://hooks.example.com/log', events: ['payout.failed'], currentPassword: PASSWORD } });
    const endpointId = created.json.id as string;
    for (let i = 0; i < 3; i++) {
      h.clock.advance(1_000);
      await h.testDb.db.transaction((tx) =>
        recordOwnerWebhookEvents(tx, [{ accountId: owner.accountId, type: 'payout.failed', sourceKey: `test:${endpointId}:${i}`, at: h.clock.now(), data: { n: String(i) } }]),
      );
    }
    const first = await h.request('GET', `/webhook-endpoints/${endpointId}/deliveries?limit=2`, { token: owner.token });
    expect(first.status).toBe(200);
    expect(first.json.items).toHaveLength(2);
    expect(first.json.items[0]).toMatchObject({ state: 'pending', attempts: 0, eventType: 'payout.failed', attemptLog: [] });
    const second = await h.request('GET', `/webhook-endpoints/${endpointId}/deliveries?limit=2&cursor=${first.json.nextCursor}`, { token: owner.token });
    expect(second.json.items).toHaveLength(1);
    expect(second.json.nextCursor).toBeNull();
    expect(new Set([...first.json.items, ...second.json.items].map((item: { id: string }) => item.id)).size).toBe(3);
    expect((await h.request('GET', `/webhook-endpoints/${endpointId}/deliveries?cursor=bogus`, { token: owner.token })).status).toBe(400);
    expect((await h.request('GET', `/webhook-endpoints/${endpointId}/deliveries`, { token: stranger.token })).status).toBe(404);

    const deliveryId = first.json.items[0].id as string;
    expect((await h.request('POST', `/webhook-deliveries/${deliveryId}/resend`, { token: stranger.token })).status).toBe(404);
    const resent = await h.request('POST', `/webhook-deliveries/${deliveryId}/resend`, { token: owner.token });
    expect(resent.status, JSON.stringify(resent.json)).toBe(201);
    expect(resent.json).toMatchObject({ state: 'pending', resendOf: deliveryId, eventId: first.json.items[0].eventId });
    const { rows } = await h.testDb.db.query(`SELECT 1 FROM outbox WHERE topic = 'owner-webhook-requested' AND payload->>'deliveryId' IS NOT NULL`);
    expect(rows).toHaveLength(4);
  });

  it('answers 503 for writes on an instance without OWNER_WEBHOOK_SIGNING_KEY', async () => {
    const bare = await createDashboardHarness({ ownerWebhooks: undefined });
    try {
      const email = 'bare@example.com';
      await bare.request('POST', '/auth/signup', { body: { email, password: PASSWORD } });
      await bare.deliverMails();
      await bare.request('POST', '/auth/verify-email', { body: { token: mailedToken(bare.outbox, email) } });
      const login = await bare.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
      const refused = await bare.request('POST', '/webhook-endpoints', { token: login.json.accessToken as string, body: { url: 'https://hooks.example.com/', events: ['payment.settled'] } });
      expect(refused.status).toBe(503);
      expect(refused.json.error.code).toBe('webhooks_not_configured');
    } finally {
      await bare.dispose();
    }
  });
});
