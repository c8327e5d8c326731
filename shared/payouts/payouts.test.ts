import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, ledgerAccountCodes } from '../ledger/index.js';
import { outboxMessage, trackQueuedMessages } from '../bus/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { insertPayout } from '../testing/fixtures.js';
import { approvePayout, checkOutflowLimits, holdPayout, rejectPayout, transitionPayout } from './index.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const LIMITS = { perPayoutMaxUsdCents: 100_000n, dailyCapUsdCents: 250_000n };

describe('payouts', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());


  it('moves a payout only from the state it is in (a stale or forged message changes nothing)', async () => {
    const payout = await insertPayout(testDb.db);
    const move = (from: 'requested' | 'quoted') => testDb.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from, to: 'deferred', at: NOW, deferredUntil: NOW, deferredReason: 'below_swap_minimum' }));
    expect(await move('quoted')).toBe(false);
    expect(await move('requested')).toBe(true);
    expect(await move('requested')).toBe(false);
  });

  it('writes the messages a move queues in the move\'s own statement, only when it moved the payout, and hands them to the request after commit', async () => {
    const payout = await insertPayout(testDb.db);
    const message = (key: string) => outboxMessage('transfer-requested', { payoutId: payout.id }, { at: NOW, dedupeKey: `${key}:${payout.id}` });
    const move = (key: string) =>
      trackQueuedMessages(() => testDb.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'quoted', at: NOW, queue: [message(key)] })));
    const moved = await move('first-move');
    expect(moved.result).toBe(true);
    const repeat = await move('repeat-move'); // the payout is quoted already: no move, no message
    expect(repeat).toEqual({ result: false, queued: [] });
    expect(moved.queued).toEqual([{ id: expect.any(BigInt), leased: expect.objectContaining({ topic: 'transfer-requested', payload: { payoutId: payout.id } }) }]);
    const { rows } = await testDb.db.query<{ dedupeKey: string; id: bigint }>(`SELECT dedupe_key AS "dedupeKey", id FROM outbox WHERE payload->>'payoutId' = $1`, [payout.id]);
    expect(rows).toEqual([{ dedupeKey: `first-move:${payout.id}`, id: moved.queued[0]?.id }]);
  });

  it('holds a payout over the per-payout maximum, and one that would pass the daily cap', async () => {
    const big = await insertPayout(testDb.db, { amountUsdCents: 100_001n });
    expect(await testDb.db.transaction((tx) => checkOutflowLimits(tx, big.id, LIMITS, NOW))).toEqual({ isWithinLimits: false, reason: 'over_payout_limit' });

    const sent = await insertPayout(testDb.db, { amountUsdCents: 90_000n });
    await testDb.db.transaction((tx) => transitionPayout(tx, { payoutId: sent.id, from: 'requested', to: 'quoted', at: NOW }));
    const sentToo = await insertPayout(testDb.db, { amountUsdCents: 90_000n });
    await testDb.db.transaction((tx) => transitionPayout(tx, { payoutId: sentToo.id, from: 'requested', to: 'quoted', at: NOW }));
    const next = await insertPayout(testDb.db, { amountUsdCents: 80_000n });
    expect(await testDb.db.transaction((tx) => checkOutflowLimits(tx, next.id, LIMITS, NOW))).toEqual({ isWithinLimits: false, reason: 'over_daily_limit' });
    // A day later the earlier outflow no longer counts.
    expect(await testDb.db.transaction((tx) => checkOutflowLimits(tx, next.id, LIMITS, new Date(NOW.getTime() + 86_400_001)))).toEqual({ isWithinLimits: true });

    const unknown = await insertPayout(testDb.db, { amountUsdCents: null });
    expect(await testDb.db.transaction((tx) => checkOutflowLimits(tx, unknown.id, LIMITS, NOW))).toEqual({ isWithinLimits: false, reason: 'unknown_usd_value' });
  });

  it('checks the daily cap one payout at a time: two checked at once cannot pass it together', async () => {
    const capped = { perPayoutMaxUsdCents: 10_000_000n, dailyCapUsdCents: 10_000_000n };
    const { rows } = await testDb.db.query<{ total: bigint | null }>(
      `SELECT sum(amount_usd_cents)::int8 AS total FROM payouts WHERE state IN ('quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap', 'completed')`,
    );
    const room = 60_000n; // each payout fits under the cap alone, the two together do not
    const limits = { ...capped, dailyCapUsdCents: (rows[0]?.total ?? 0n) + room };
    const first = await insertPayout(testDb.db, { amountUsdCents: 40_000n });
    const second = await insertPayout(testDb.db, { amountUsdCents: 40_000n });
    // Each transaction checks, then quotes (counts as outflow) before it commits, as quote-payout does.
    const checkAndQuote = (payoutId: string) =>
      testDb.db.transaction(async (tx) => {
        const verdict = await checkOutflowLimits(tx, payoutId, limits, NOW);
        if (verdict.isWithinLimits) await transitionPayout(tx, { payoutId, from: 'requested', to: 'quoted', at: NOW });
        return verdict.isWithinLimits;
      });
    const verdicts = await Promise.all([checkAndQuote(first.id), checkAndQuote(second.id)]);
    expect(verdicts.filter(Boolean)).toHaveLength(1);
  });

  it('releases an approved held payout into the pipeline, where limits no longer stop it', async () => {
    const payout = await insertPayout(testDb.db, { amountUsdCents: 500_000n });
    expect(await testDb.db.transaction((tx) => holdPayout(tx, payout.id, 'over_payout_limit', NOW))).toBe(true);
    await approvePayout(testDb.db, { payoutId: payout.id, operator: 'ops@example.com', at: NOW });
    const { rows } = await testDb.db.query<{ state: string; approved_by: string }>('SELECT state, approved_by FROM payouts WHERE id = $1', [payout.id]);
    expect(rows[0]).toEqual({ state: 'requested', approved_by: 'ops@example.com' });
    expect(await testDb.db.transaction((tx) => checkOutflowLimits(tx, payout.id, LIMITS, NOW))).toEqual({ isWithinLimits: true });
    const { rows: outbox } = await testDb.db.query(`SELECT 1 FROM outbox WHERE dedupe_key = $1`, [`payout-approved:${payout.id}`]);
    expect(outbox).toHaveLength(1);
    const { rows: audit } = await testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject_id = $1 ORDER BY id`, [payout.id]);
    expect(audit.map((row) => row.action)).toEqual(['payout.held', 'payout.approved']);
    await expect(approvePayout(testDb.db, { payoutId: payout.id, operator: 'ops@example.com', at: NOW })).rejects.toMatchObject({ code: 'payout_not_held' });
  });

  it('returns a rejected held payout to the owner balance, once', async () => {
    const payout = await insertPayout(testDb.db);
    const owner = ledgerAccountCodes.owner(payout.channelId as string, 'ETH');
    const before = await balanceOf(testDb.db, owner, 'ETH');
    await testDb.db.transaction((tx) => holdPayout(tx, payout.id, 'over_daily_limit', NOW));
    await rejectPayout(testDb.db, { payoutId: payout.id, operator: 'ops@example.com', reason: 'looks wrong', at: NOW });
    expect(await balanceOf(testDb.db, owner, 'ETH')).toBe(before + payout.amountUnits);
    await expect(rejectPayout(testDb.db, { payoutId: payout.id, operator: 'ops@example.com', reason: 'again', at: NOW })).rejects.toMatchObject({ code: 'payout_not_held' });
    expect(await balanceOf(testDb.db, owner, 'ETH')).toBe(before + payout.amountUnits);
  });
});
