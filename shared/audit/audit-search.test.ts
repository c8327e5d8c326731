import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { insertChannel, insertPayout } from '../testing/fixtures.js';
import { listOwnerAudit, recordAuditEvent, recordSecretRotation, searchAuditLog } from './index.js';

const AT = new Date('2026-12-01T10:00:00Z');
const later = (minutes: number) => new Date(AT.getTime() + minutes * 60_000);

let testDb: TestDatabase;
let ownerId: string;
let strangerId: string;
let payoutId: string;
let channelId: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  const channel = await insertChannel(testDb.db);
  channelId = channel.id;
  ownerId = channel.ownerAccountId;
  strangerId = (await insertChannel(testDb.db)).ownerAccountId;
  payoutId = (await insertPayout(testDb.db, { channelId })).id;
  const db = testDb.db;
  await recordAuditEvent(db, { occurredAt: AT, actor: { type: 'account', id: ownerId }, action: 'auth.login_succeeded', subject: { type: 'account', id: ownerId }, requestId: 'req-login', ip: '198.51.100.7' });
  await recordAuditEvent(db, { occurredAt: later(1), actor: { type: 'account', id: ownerId }, action: 'channel.wallet_changed', subject: { type: 'channel', id: channelId }, requestId: 'req-wallet', ip: '198.51.100.7' });
  await recordAuditEvent(db, { occurredAt: later(2), actor: { type: 'system' }, action: 'payout.held', subject: { type: 'payout', id: payoutId }, details: { reason: 'destination_recently_changed' } });
  await recordAuditEvent(db, { occurredAt: later(3), actor: { type: 'operator', id: 'ops@example.com' }, action: 'payout.approved', subject: { type: 'payout', id: payoutId } });
  await recordAuditEvent(db, { occurredAt: later(4), actor: { type: 'account', id: strangerId }, action: 'auth.login_succeeded', subject: { type: 'account', id: strangerId }, requestId: 'req-other' });
  await recordAuditEvent(db, { occurredAt: later(5), actor: { type: 'operator', id: 'ops@example.com' }, action: 'dead_letter.redriven', subject: { type: 'dead_letter', id: '9' } });
});
afterAll(() => testDb?.dispose());

describe('searchAuditLog', () => {
  it.each([
    [{ action: 'payout.held' }, ['payout.held']],
    [{ action: 'payout.*' }, ['payout.held', 'payout.approved']],
    [{ since: later(4) }, ['auth.login_succeeded', 'dead_letter.redriven']],
    [{ requestId: 'req-wallet' }, ['channel.wallet_changed']],
    [{ ownerAccountId: 'OWNER' }, ['auth.login_succeeded', 'channel.wallet_changed', 'payout.held', 'payout.approved']],
    [{ ownerAccountId: 'OWNER', action: 'auth.*' }, ['auth.login_succeeded']],
  ])('filters by %j', async (filter, actions) => {
    const resolved = { ...filter, ...('ownerAccountId' in filter ? { ownerAccountId: ownerId } : {}) };
    const rows = await searchAuditLog(testDb.db, { ...resolved, order: 'oldest_first', limit: 100 });
    expect(rows.map((row) => row.action)).toEqual(actions);
  });

  it.each([{ action: 'payout.' }, { action: "x' OR 1=1 --" }, { ownerAccountId: 'acc_not-a-uuid' }])('refuses the filter %j', async (filter) => {
    await expect(searchAuditLog(testDb.db, { ...filter, limit: 10 })).rejects.toMatchObject({ code: 'invalid_audit_filter' });
  });
});

describe('listOwnerAudit', () => {
  it('pages the owner’s entries newest first with public ids, the request id and IP apart, nobody else’s', async () => {
    const first = await listOwnerAudit(testDb.db, { accountId: ownerId, limit: 3 });
    expect(first.items.map((item) => item.action)).toEqual(['payout.approved', 'payout.held', 'channel.wallet_changed']);
    expect(first.items[0]).toMatchObject({ actorType: 'operator', subject: { type: 'payout', id: formatPublicId('payout', payoutId) }, requestId: null, ip: null });
    expect(first.items[0]).not.toHaveProperty('actorId');
    expect(first.items[2]).toMatchObject({ subject: { type: 'channel', id: formatPublicId('channel', channelId) }, requestId: 'req-wallet', ip: '198.51.100.7', details: {} });
    const second = await listOwnerAudit(testDb.db, { accountId: ownerId, limit: 3, cursor: first.nextCursor! });
    expect(second.items.map((item) => item.action)).toEqual(['auth.login_succeeded']);
    expect(second.nextCursor).toBeNull();
  });

  it('refuses a cursor it did not make', async () => {
    await expect(listOwnerAudit(testDb.db, { accountId: ownerId, cursor: Buffer.from('activity:5').toString('base64url') })).rejects.toMatchObject({ code: 'invalid_cursor' });
  });
});

describe('recordSecretRotation', () => {
  it('records secret.rotated with names and versions only', async () => {
    await recordSecretRotation(testDb.db, { secret: 'NOWPAYMENTS_IPN_SECRET', fromVersion: '2', toVersion: '3', at: later(10) });
    const [row] = await searchAuditLog(testDb.db, { action: 'secret.rotated', limit: 1 });
    expect(row).toMatchObject({ actorType: 'system', actorId: null, subjectType: 'secret', subjectId: 'NOWPAYMENTS_IPN_SECRET', details: { fromVersion: '2', toVersion: '3', overlapEndsAt: null } });
  });

  it.each([
    { secret: 'DSCSjlz6b9GaJwDYoBbY/u6OZjdpu247KvTzbmV8wQ4=' },
    { secret: 'JWT_SECRET', toVersion: 'DSCSjlz6b9GaJwDYoBbY/u6OZjdpu247KvTzbmV8wQ4=' },
  ])('refuses what looks like a value (%j), and stores nothing', async (input) => {
    await expect(recordSecretRotation(testDb.db, { ...input, at: later(11) })).rejects.toMatchObject({ code: 'invalid_secret_name' });
    expect(await searchAuditLog(testDb.db, { action: 'secret.rotated', since: later(11), limit: 5 })).toEqual([]);
  });
});
