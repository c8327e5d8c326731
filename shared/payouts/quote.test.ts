import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectedTransferFeeWei } from '../chain/index.js';
import { balanceOf, ledgerAccountCodes } from '../ledger/index.js';
import { createMemoryChain } from '../testing/fakes/memory-chain.js';
import { countingChangeNowClient, type PayoutAtStage, payoutAtStage, payoutMessages } from '../testing/payout-steps.js';
import { type ChangeNowSimulator, startChangeNowSimulator } from '../testing/simulators/changenow-simulator.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { countStatements } from '../testing/statement-counter.js';
import { DEFERRAL_MS, type QuotePayoutDeps, quotePayout } from './index.js';

const API_KEY = 'quote-test-key';
const DAY_MS = 86_400_000;
const ETH = 1_000_000_000_000_000_000n;
/** $1,000 a payout, $1,500 a day. */
const LIMITS = { perPayoutMaxUsdCents: 100_000n, dailyCapUsdCents: 150_000n };

/**
 * quote-payout's branches, one payout each: the route (same asset on Ethereum: straight to the
 * transfer, ChangeNow never asked; anything else: ChangeNow's minimum and estimate), the outflow
 * limits, the gas share, a bad destination, and what a redelivered message does. The network fee
 * comes from the in-memory chain (10 gwei base fee + 1 gwei tip: 0.000231 ETH for a plain transfer);
 * ChangeNow (its simulator, over HTTP) swaps no less than 0.05 ETH to BTC.
 */
describe('quotePayout', () => {
  let h: StageHarness;
  let changenow: ChangeNowSimulator;
  let requests: string[];
  let deps: QuotePayoutDeps;

  beforeAll(async () => {
    h = await createStageHarness();
    changenow = await startChangeNowSimulator({ apiKey: API_KEY, pollIntervalMs: 0, minAmounts: { 'eth->btc': '0.05' } });
  });
  afterAll(async () => {
    await changenow?.close();
    await h?.close();
  });
  beforeEach(() => {
    // Each test on its own day: the daily cap sees only that test's payouts.
    h.clock.advance(2 * DAY_MS);
    const chain = createMemoryChain();
    const counting = countingChangeNowClient(changenow, API_KEY);
    requests = counting.requests;
    deps = {
      ...h,
      changenow: counting.client,
      limits: LIMITS,
      networkFee: { estimateFeeWei: async (asset) => expectedTransferFeeWei(asset, await chain.estimateFees()), maxShareBps: 500n },
    };
  });

  async function payoutRow(payoutId: string) {
    const { rows } = await h.db.query<Record<string, unknown>>(
      `SELECT state, quoted_to_amount::text AS "quotedToAmount", held_reason AS "heldReason", deferred_reason AS "deferredReason",
              deferral_count AS "deferrals", failure_code AS "failureCode"
         FROM payouts WHERE id = $1`,
      [payoutId],
    );
    return rows[0];
  }

  const ASKED_CHANGENOW = ['GET /v2/exchange/min-amount', 'GET /v2/exchange/estimated-amount'];
  const cases: { name: string; payout: PayoutAtStage; outcome: string; row: Record<string, unknown>; messages: string[]; changenow: string[] }[] = [
    {
      name: 'ETH to an ETH wallet goes straight to the transfer, for the whole amount',
      payout: { destination: 'ETH', amountUnits: ETH / 10n },
      outcome: 'direct',
      row: { state: 'quoted', quotedToAmount: '0.1' },
      messages: ['transfer-requested'],
      changenow: [],
    },
    {
      name: 'USDT to a USDT wallet on Ethereum goes straight to the transfer',
      payout: { destination: 'USDT', asset: 'USDT_ERC20', amountUnits: 250_000_000n },
      outcome: 'direct',
      row: { state: 'quoted', quotedToAmount: '250' },
      messages: ['transfer-requested'],
      changenow: [],
    },
    {
      name: 'ETH to a BTC wallet is quoted by ChangeNow (0.05 BTC per ETH, less 0.5 %)',
      payout: { destination: 'BTC', amountUnits: ETH / 10n },
      outcome: 'quoted',
      row: { state: 'quoted', quotedToAmount: '0.004975' },
      messages: ['payout-quoted'],
      changenow: ASKED_CHANGENOW,
    },
    {
      name: 'a payout over the per-payout maximum is held for an operator',
      payout: { destination: 'BTC', usdCents: 100_001n },
      outcome: 'held',
      row: { state: 'held', heldReason: 'over_payout_limit' },
      messages: [],
      changenow: [],
    },
    {
      name: 'a payout whose USD value is unknown is held, not guessed',
      payout: { destination: 'ETH', usdCents: null },
      outcome: 'held',
      row: { state: 'held', heldReason: 'unknown_usd_value' },
      messages: [],
      changenow: [],
    },
    {
      name: 'a payout below ChangeNow’s minimum (0.05 ETH for BTC) is deferred an hour',
      payout: { destination: 'BTC', amountUnits: ETH / 100n },
      outcome: 'deferred',
      row: { state: 'deferred', deferredReason: 'below_swap_minimum', deferrals: 1 },
      messages: [],
      changenow: ['GET /v2/exchange/min-amount'],
    },
    {
      name: 'an ETH payout whose gas would take more than 5 % of it is deferred',
      payout: { destination: 'ETH', amountUnits: ETH / 1_000n },
      outcome: 'deferred',
      row: { state: 'deferred', deferredReason: 'network_fee_too_high', deferrals: 1 },
      messages: [],
      changenow: [],
    },
    {
      name: 'a destination that is not an address fails the payout',
      payout: { destination: 'ETH', wallet: '0x12345678901234567890' },
      outcome: 'failed',
      row: { state: 'failed', failureCode: 'invalid_wallet_address' },
      messages: [],
      changenow: [],
    },
  ];

  it.each(cases)('$name', async (c) => {
    const payout = await payoutAtStage(h.db, c.payout);
    expect(await quotePayout(deps, payout.id)).toBe(c.outcome);
    expect(await payoutRow(payout.id)).toMatchObject(c.row);
    expect(await payoutMessages(h.db, payout.id)).toEqual(c.messages);
    expect(requests).toEqual(c.changenow);
  });

  it('waits the deferral hour: the deferred payout is not quoted again by a redelivery', async () => {
    const payout = await payoutAtStage(h.db, { destination: 'BTC', amountUnits: ETH / 100n });
    expect(await quotePayout(deps, payout.id)).toBe('deferred');
    const { rows } = await h.db.query<{ deferred_until: Date }>('SELECT deferred_until FROM payouts WHERE id = $1', [payout.id]);
    expect(rows[0]?.deferred_until).toEqual(new Date(h.clock.now().getTime() + DEFERRAL_MS));
    expect(await quotePayout(deps, payout.id)).toBe('skipped');
    expect(requests).toEqual(['GET /v2/exchange/min-amount']);
  });

  it('gives a failed payout’s amount back to its owner', async () => {
    const payout = await payoutAtStage(h.db, { destination: 'ETH', wallet: '0x12345678901234567890' });
    const owner = ledgerAccountCodes.owner(payout.channelId ?? '', 'ETH');
    const before = await balanceOf(h.db, owner, 'ETH');
    expect(await quotePayout(deps, payout.id)).toBe('failed');
    expect(await balanceOf(h.db, owner, 'ETH')).toBe(before + payout.amountUnits);
  });

  it('holds the payout that would pass the daily cap, after one that fits', async () => {
    const first = await payoutAtStage(h.db, { destination: 'ETH', amountUnits: ETH / 10n, usdCents: 90_000n });
    const second = await payoutAtStage(h.db, { destination: 'ETH', amountUnits: ETH / 10n, usdCents: 90_000n });
    expect(await quotePayout(deps, first.id)).toBe('direct');
    expect(await quotePayout(deps, second.id)).toBe('held');
    expect(await payoutRow(second.id)).toMatchObject({ state: 'held', heldReason: 'over_daily_limit' });
    expect(await payoutMessages(h.db, second.id)).toEqual([]);
  });

  it('quotes one and holds the other of two payouts quoted at once that only fit the daily cap one at a time (the move reads the cap after its lock)', async () => {
    const payouts = [
      await payoutAtStage(h.db, { destination: 'ETH', amountUnits: ETH / 10n, usdCents: 90_000n }),
      await payoutAtStage(h.db, { destination: 'ETH', amountUnits: ETH / 10n, usdCents: 90_000n }),
    ];
    const outcomes = await Promise.all(payouts.map((payout) => quotePayout(deps, payout.id)));
    expect([...outcomes].sort()).toEqual(['direct', 'held']);
    const held = payouts[outcomes.indexOf('held')];
    expect(await payoutRow(held?.id ?? '')).toMatchObject({ state: 'held', heldReason: 'over_daily_limit' });
  });

  it('quotes a direct payout within the limits in one transaction of 3 statements: the limits and the cap lock, then the move that reads the cap', async () => {
    const payout = await payoutAtStage(h.db, { destination: 'ETH', amountUnits: ETH / 10n, usdCents: 10_000n });
    const counter = countStatements(h.db);
    expect(await quotePayout({ ...deps, db: counter.db }, payout.id)).toBe('direct');
    // The payout's read (before the node's fee estimate); BEGIN, the limits, the move, COMMIT.
    expect(counter.counts()).toMatchObject({ statements: 5, transactions: 1 });
    expect(await payoutMessages(h.db, payout.id)).toEqual(['transfer-requested']);
  });

  it.each([
    ['a swap', 'BTC', 'quoted', 'payout-quoted', 'one after the other', false],
    ['a swap', 'BTC', 'quoted', 'payout-quoted', 'at the same moment', true],
    ['a direct payout', 'ETH', 'direct', 'transfer-requested', 'one after the other', false],
    ['a direct payout', 'ETH', 'direct', 'transfer-requested', 'at the same moment', true],
  ] as const)('quotes %s once when its message is delivered twice %s', async (_route, destination, quoted, message, _name, isConcurrent) => {
    const payout = await payoutAtStage(h.db, { destination, amountUnits: ETH / 10n });
    const outcomes = isConcurrent
      ? await Promise.all([quotePayout(deps, payout.id), quotePayout(deps, payout.id)])
      : [await quotePayout(deps, payout.id), await quotePayout(deps, payout.id)];
    expect(outcomes.filter((outcome) => outcome === quoted)).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'skipped')).toHaveLength(1);
    expect(await payoutMessages(h.db, payout.id)).toEqual([message]);
  });

  // A direct payout's limits are checked in the transaction that quotes it, or first before any other
  // outcome: over them, it is held, not failed, deferred or retried.
  it.each([
    ['a destination that is not an address', { wallet: '0x12345678901234567890' }],
    ['gas that would take more than 5 % of it', { amountUnits: ETH / 1_000n }],
  ])('holds a direct payout over the per-payout maximum even with %s', async (_name, other) => {
    const payout = await payoutAtStage(h.db, { destination: 'ETH', usdCents: 100_001n, ...other });
    expect(await quotePayout(deps, payout.id)).toBe('held');
    expect(await payoutRow(payout.id)).toMatchObject({ state: 'held', heldReason: 'over_payout_limit', failureCode: null, deferrals: 0 });
    expect(await payoutMessages(h.db, payout.id)).toEqual([]);
  });

  it('holds a direct payout over the limits when the gas estimate fails, and retries one within them', async () => {
    const unreachableNode = { estimateFeeWei: () => Promise.reject(Object.assign(new Error('node down'), { code: 'chain_unavailable' })), maxShareBps: 500n };
    const over = await payoutAtStage(h.db, { destination: 'ETH', usdCents: 100_001n });
    expect(await quotePayout({ ...deps, networkFee: unreachableNode }, over.id)).toBe('held');
    const within = await payoutAtStage(h.db, { destination: 'ETH', amountUnits: ETH / 10n });
    await expect(quotePayout({ ...deps, networkFee: unreachableNode }, within.id)).rejects.toThrow('node down');
    expect(await payoutRow(within.id)).toMatchObject({ state: 'requested', quotedToAmount: null });
    expect(await quotePayout(deps, within.id)).toBe('direct');
  });

  it('leaves the payout requested, with nothing queued, when ChangeNow does not answer (redelivered later)', async () => {
    changenow.failNext('GET /v2/exchange/min-amount', 503);
    const payout = await payoutAtStage(h.db, { destination: 'BTC', amountUnits: ETH / 10n });
    await expect(quotePayout(deps, payout.id)).rejects.toMatchObject({ code: 'changenow_unavailable' });
    expect(await payoutRow(payout.id)).toMatchObject({ state: 'requested', quotedToAmount: null });
    expect(await payoutMessages(h.db, payout.id)).toEqual([]);
    expect(await quotePayout(deps, payout.id)).toBe('quoted');
  });
});
