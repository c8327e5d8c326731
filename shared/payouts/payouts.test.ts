import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, ledgerAccountCodes, postLedgerTransaction, type PostLedgerTransactionInput } from '../ledger/index.js';
import { outboxMessage, trackQueuedMessages } from '../bus/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { insertPayout, type PayoutFixture } from '../testing/fixtures.js';
import { countStatements } from '../testing/statement-counter.js';
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

  describe('a move that books a ledger transaction in its own statement', () => {
    const funded = (payout: PayoutFixture, amountUnits = payout.amountUnits): PostLedgerTransactionInput => ({
      kind: 'payout_funded',
      idempotencyKey: `funded:${payout.id}`,
      occurredAt: NOW,
      payoutId: payout.id,
      description: 'Transfer sent',
      entries: [
        { account: ledgerAccountCodes.payoutsInFlight(payout.asset), asset: payout.asset, amount: amountUnits },
        { account: ledgerAccountCodes.hotWallet(payout.asset), asset: payout.asset, amount: -amountUnits },
      ],
    });
    const signedPayout = async (options: { asset?: string } = {}) => {
      const payout = await insertPayout(testDb.db, { kind: 'instant', ...options });
      await testDb.db.transaction(async (tx) => {
        await transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'quoted', at: NOW });
        await transitionPayout(tx, { payoutId: payout.id, from: 'quoted', to: 'transfer_signed', at: NOW });
      });
      return payout;
    };
    const stateOf = async (payoutId: string) => (await testDb.db.query<{ state: string }>('SELECT state FROM payouts WHERE id = $1', [payoutId])).rows[0]?.state;
    const postingsOf = async (payoutId: string) =>
      (await testDb.db.query<{ kind: string }>("SELECT kind FROM ledger_transactions WHERE payout_id = $1 AND kind <> 'payout_claimed' ORDER BY kind", [payoutId])).rows.map((row) => row.kind);

    it('moves the payout and posts what the move means in one statement, without a transaction, once', async () => {
      await signedPayout(); // the ETH accounts exist from here on
      const payout = await signedPayout();
      const counter = countStatements(testDb.db);
      const broadcast = () => transitionPayout(counter.db, { payoutId: payout.id, from: 'transfer_signed', to: 'transfer_broadcast', at: NOW, posting: { when: 'moved', transaction: funded(payout) } });
      const hotWalletBefore = await balanceOf(testDb.db, ledgerAccountCodes.hotWallet('ETH'), 'ETH');
      expect(await broadcast()).toBe(true);
      expect(counter.counts()).toMatchObject({ statements: 1, transactions: 0 });
      expect(await broadcast()).toBe(false); // a re-broadcast: moved already, nothing posted again
      expect(await stateOf(payout.id)).toBe('transfer_broadcast');
      expect(await postingsOf(payout.id)).toEqual(['payout_funded']);
      expect(await balanceOf(testDb.db, ledgerAccountCodes.hotWallet('ETH'), 'ETH')).toBe(hotWalletBefore - payout.amountUnits);
    });

    it('moves a payout whose posting uses an account for the first time only together with that posting', async () => {
      const payout = await signedPayout();
      // Accounts nothing in this database has used yet.
      const firstUse = { ...funded(payout), idempotencyKey: `first-use:${payout.id}`, kind: 'adjustment' as const };
      firstUse.entries = [
        { account: ledgerAccountCodes.swapLosses('USDT_ERC20'), asset: 'USDT_ERC20', amount: 5n },
        { account: ledgerAccountCodes.refundLosses('USDT_ERC20'), asset: 'USDT_ERC20', amount: -5n },
      ];
      const codes = firstUse.entries.map((entry) => entry.account);
      expect((await testDb.db.query('SELECT 1 FROM ledger_accounts WHERE code = ANY($1::text[])', [codes])).rows).toHaveLength(0);
      const counter = countStatements(testDb.db);
      expect(await transitionPayout(counter.db, { payoutId: payout.id, from: 'transfer_signed', to: 'transfer_broadcast', at: NOW, posting: { when: 'moved', transaction: firstUse } })).toBe(true);
      // The first run found the accounts missing and wrote nothing; they were created; the second run moved and posted.
      const moves = [...counter.counts().byLabel].filter(([label]) => label.startsWith('WITH ledger_locked'));
      expect(moves).toEqual([[expect.any(String), 2]]);
      expect(await stateOf(payout.id)).toBe('transfer_broadcast');
      expect(await postingsOf(payout.id)).toEqual(['adjustment']);
    });

    it("posts an 'always' posting also when the payout was moved by another", async () => {
      const payout = await signedPayout();
      const gas = { ...funded(payout, 21_000n), kind: 'network_fee' as const, idempotencyKey: `gas:${payout.id}` };
      gas.entries = [
        { account: ledgerAccountCodes.networkFees('ETH'), asset: 'ETH', amount: 21_000n },
        { account: ledgerAccountCodes.hotWallet('ETH'), asset: 'ETH', amount: -21_000n },
      ];
      const moved = await testDb.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'quoted', to: 'transfer_signed', at: NOW, posting: { when: 'always', transaction: gas } }));
      expect(moved).toBe(false);
      expect(await postingsOf(payout.id)).toEqual(['network_fee']);
    });

    it('rolls the move back with the transaction when its key was posted before with other entries', async () => {
      const payout = await signedPayout();
      await testDb.db.transaction((tx) => postLedgerTransaction(tx, funded(payout, payout.amountUnits - 1n)));
      await expect(
        testDb.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'transfer_signed', to: 'transfer_broadcast', at: NOW, posting: { when: 'moved', transaction: funded(payout) } })),
      ).rejects.toMatchObject({ code: 'ledger_idempotency_conflict' });
      expect(await stateOf(payout.id)).toBe('transfer_signed');
    });

    it('refuses a posting that lowers an owner balance (it locks the balance first, in its own statement), and outside a transaction a move that tells webhooks', async () => {
      const payout = await signedPayout();
      const claim = { ...funded(payout), idempotencyKey: `claim:${payout.id}` };
      claim.entries = [
        { account: ledgerAccountCodes.owner(payout.channelId ?? '', 'ETH'), asset: 'ETH', amount: 1n },
        { account: ledgerAccountCodes.payoutsInFlight('ETH'), asset: 'ETH', amount: -1n },
      ];
      await expect(
        transitionPayout(testDb.db, { payoutId: payout.id, from: 'transfer_signed', to: 'transfer_broadcast', at: NOW, posting: { when: 'moved', transaction: claim } }),
      ).rejects.toMatchObject({ code: 'ledger_invalid_transaction' });
      await expect(transitionPayout(testDb.db, { payoutId: payout.id, from: 'requested', to: 'failed', at: NOW })).rejects.toMatchObject({ code: 'payout_transition_refused' });
      expect(await stateOf(payout.id)).toBe('transfer_signed');
    });
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
