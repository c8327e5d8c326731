import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangeNowClient } from '../changenow/index.js';
import { createChain } from '../chain/index.js';
import { createChainProvider } from '../testing/ethers-provider.js';
import { balanceOf, ledgerAccountCodes, postLedgerTransaction } from '../ledger/index.js';
import { createLogger } from '../logging/index.js';
import { formatUnits } from '../money/index.js';
import { startChangeNowSimulator, type ChangeNowSimulator } from '../testing/simulators/changenow-simulator.js';
import { FIXTURE_NOW, insertChannel, insertConversionBatch, insertPayout, insertSwap, movePayout, type PayoutFixture } from '../testing/fixtures.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { createSwap, trackPayout, trackPayouts } from './index.js';

const MINUTE = 60_000;
const HOT_WALLET = '0x1111111111111111111111111111111111111111';
const BTC_WALLET = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';

/**
 * How a funded swap payout ends when ChangeNow's exchange does not simply finish: `failed` is not
 * final at ChangeNow (the deposit is with their support), so the payout waits in `needs_attention`
 * with its amount held until the exchange is refunded or finished.
 */
describe('swap outcomes', () => {
  let h: StageHarness;
  let changenow: ChangeNowSimulator;
  const db = () => h.db;
  const client = () => createChangeNowClient({ apiUrl: changenow.apiUrl, apiKey: 'test-key' });

  beforeAll(async () => {
    h = await createStageHarness();
    changenow = await startChangeNowSimulator({ apiKey: 'test-key', pollIntervalMs: 0 });
  });
  afterAll(async () => {
    await changenow?.close();
    await h?.close();
  });

  const deps = () => ({
    db: db(),
    clock: h.clock,
    logger: h.logger,
    changenow: client(),
    // Nothing here is signed or broadcast: a node that is never asked.
    chain: createChain(createChainProvider('http://127.0.0.1:9', { chainId: 31337 })),
    settings: { chainId: 31337n, maxFeePerGasCapWei: 1n, tokenContracts: {} },
    confirmations: 1,
  });

  /** A payout whose transfer to its exchange confirmed (`payout_funded` booked), and the exchange, deposit seen. */
  async function fundedSwap(payout: PayoutFixture, toCurrency: 'btc' | 'usdt', toNetwork: 'btc' | 'eth'): Promise<string> {
    await movePayout(db(), payout.id, 'awaiting_swap', { at: h.clock.now() });
    const amount = formatUnits(payout.amountUnits, 18);
    const exchange = await client().createExchange({
      pair: { fromCurrency: 'eth', fromNetwork: 'eth', toCurrency, toNetwork },
      fromAmount: amount,
      address: payout.destinationWallet,
      refundAddress: HOT_WALLET,
    });
    await insertSwap(db(), payout, { providerExchangeId: exchange.id });
    await db().transaction((tx) =>
      postLedgerTransaction(tx, {
        kind: 'payout_funded',
        idempotencyKey: `funded:${payout.id}`,
        occurredAt: h.clock.now(),
        payoutId: payout.id,
        entries: [
          { account: ledgerAccountCodes.payoutsInFlight('ETH'), asset: 'ETH', amount: payout.amountUnits },
          { account: ledgerAccountCodes.hotWallet('ETH'), asset: 'ETH', amount: -payout.amountUnits },
        ],
      }),
    );
    changenow.markDeposited(exchange.id, amount);
    return exchange.id;
  }

  /** A failed exchange that ChangeNow support has not settled yet. */
  async function failedSwap(payout: PayoutFixture, toCurrency: 'btc' | 'usdt' = 'btc', toNetwork: 'btc' | 'eth' = 'btc'): Promise<string> {
    const exchangeId = await fundedSwap(payout, toCurrency, toNetwork);
    changenow.setOutcome(exchangeId, 'failed', { support: 'held' });
    await changenow.advanceUntil(exchangeId, ['failed']);
    return exchangeId;
  }

  const stateOf = async (payoutId: string) => (await db().query<{ state: string }>('SELECT state FROM payouts WHERE id = $1', [payoutId])).rows[0]?.state;
  const alertsOf = async (payoutId: string) =>
    (await db().query<{ alert: string; message: string }>('SELECT alert, message FROM operator_alerts WHERE subject_id = $1', [payoutId])).rows;
  const noticesOf = async (payoutId: string) =>
    (
      await db().query<{ kind: string }>(`SELECT payload->>'kind' AS kind FROM outbox WHERE topic = 'owner-notification-requested' AND payload->>'subjectId' = $1`, [
        payoutId,
      ])
    ).rows.map((row) => row.kind);
  const isReturned = async (payoutId: string) => (await db().query('SELECT 1 FROM ledger_transactions WHERE idempotency_key = $1', [`return:${payoutId}`])).rows.length > 0;
  const balances = async (channelId: string) => ({
    owner: await balanceOf(db(), ledgerAccountCodes.owner(channelId, 'ETH'), 'ETH'),
    hotWallet: await balanceOf(db(), ledgerAccountCodes.hotWallet('ETH'), 'ETH'),
    inFlight: await balanceOf(db(), ledgerAccountCodes.payoutsInFlight('ETH'), 'ETH'),
  });

  it('holds the amount of a failed exchange: needs_attention, nothing returned, the operator alerted once, the owner not told', async () => {
    const channel = await insertChannel(db(), { payoutCurrency: 'BTC', payoutNetwork: 'BTC', payoutWallet: BTC_WALLET });
    const payout = await insertPayout(db(), { channelId: channel.id });
    const exchangeId = await failedSwap(payout);
    const before = await balances(channel.id);

    expect(await trackPayout(deps(), payout.id)).toBe('needs_attention');
    expect(await trackPayout(deps(), payout.id)).toBe('needs_attention');

    expect(await balances(channel.id)).toEqual(before);
    expect(await isReturned(payout.id)).toBe(false);
    expect(await noticesOf(payout.id)).toEqual([]);
    const alerts = await alertsOf(payout.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.alert).toBe('payout.swap_needs_attention');
    expect(alerts[0]?.message).toContain(exchangeId);
  });

  it('asks ChangeNow about a needs_attention payout on every tracking run', async () => {
    h.clock.set(new Date(FIXTURE_NOW.getTime() + 86_400_000));
    const channel = await insertChannel(db(), { payoutCurrency: 'BTC', payoutNetwork: 'BTC', payoutWallet: BTC_WALLET });
    const payout = await insertPayout(db(), { channelId: channel.id });
    await failedSwap(payout);
    expect(await trackPayout(deps(), payout.id)).toBe('needs_attention');
    for (let run = 0; run < 2; run += 1) {
      h.clock.advance(MINUTE);
      await trackPayouts(deps());
      const { rows } = await db().query<{ status_checked_at: Date }>('SELECT status_checked_at FROM swaps WHERE payout_id = $1', [payout.id]);
      expect(rows[0]?.status_checked_at).toEqual(h.clock.now());
    }
    expect(await stateOf(payout.id)).toBe('needs_attention');
  });

  it('stores ChangeNow’s status as is, along the swap graph only: an answer older than the row changes nothing', async () => {
    const lines: string[] = [];
    const channel = await insertChannel(db(), { payoutCurrency: 'BTC', payoutNetwork: 'BTC', payoutWallet: BTC_WALLET });
    const payout = await insertPayout(db(), { channelId: channel.id });
    const exchangeId = await fundedSwap(payout, 'btc', 'btc');
    const swapStatus = async () => (await db().query<{ status: string }>('SELECT status FROM swaps WHERE payout_id = $1', [payout.id])).rows[0]?.status;
    const track = () => trackPayout({ ...deps(), logger: createLogger({ write: (line) => lines.push(line) }) }, payout.id);

    // The row says 'waiting' (insertSwap); ChangeNow still answers 'new', which cannot follow it.
    expect(await track()).toBe('awaiting_swap');
    expect(await swapStatus()).toBe('waiting');
    expect(lines.some((line) => line.includes('payout.swap_status_stale'))).toBe(true);

    await changenow.advanceUntil(exchangeId, ['confirming']);
    expect(await track()).toBe('awaiting_swap');
    expect(await swapStatus()).toBe('confirming');
    await changenow.advanceUntil(exchangeId, ['finished']);
    expect(await track()).toBe('completed');
    expect(await swapStatus()).toBe('finished');
  });

  it('books the refund into the hot wallet and owes the owner again when ChangeNow support refunds: refunded, owner told', async () => {
    const channel = await insertChannel(db(), { payoutCurrency: 'BTC', payoutNetwork: 'BTC', payoutWallet: BTC_WALLET });
    const payout = await insertPayout(db(), { channelId: channel.id });
    const exchangeId = await failedSwap(payout);
    expect(await trackPayout(deps(), payout.id)).toBe('needs_attention');
    const before = await balances(channel.id);

    changenow.settleBySupport(exchangeId, 'refunded');
    await changenow.advanceUntil(exchangeId, ['refunded']);
    expect(await trackPayout(deps(), payout.id)).toBe('refunded');
    expect(await trackPayout(deps(), payout.id)).toBe('refunded');

    expect(await balances(channel.id)).toEqual({ ...before, owner: before.owner + payout.amountUnits, hotWallet: before.hotWallet + payout.amountUnits });
    expect(await noticesOf(payout.id)).toEqual(['payout_failed']);
    expect(await alertsOf(payout.id)).toHaveLength(1);
  });

  it('completes a needs_attention payout when ChangeNow support finishes the exchange: nothing returned, owner told it was sent', async () => {
    const channel = await insertChannel(db(), { payoutCurrency: 'BTC', payoutNetwork: 'BTC', payoutWallet: BTC_WALLET });
    const payout = await insertPayout(db(), { channelId: channel.id });
    const exchangeId = await failedSwap(payout);
    expect(await trackPayout(deps(), payout.id)).toBe('needs_attention');
    const before = await balances(channel.id);

    changenow.settleBySupport(exchangeId, 'finished');
    await changenow.advanceUntil(exchangeId, ['finished']);
    expect(await trackPayout(deps(), payout.id)).toBe('completed');

    expect(await balances(channel.id)).toEqual(before);
    expect(await isReturned(payout.id)).toBe(false);
    expect(await noticesOf(payout.id)).toEqual(['payout_completed']);
    const { rows } = await db().query<{ status: string; received_to_amount: string | null }>('SELECT status, received_to_amount::text FROM swaps WHERE payout_id = $1', [payout.id]);
    expect(rows[0]).toMatchObject({ status: 'finished', received_to_amount: expect.stringMatching(/^\d+\.\d+$/) });
  });

  it('distributes a conversion batch whose failed exchange ChangeNow support finishes', async () => {
    const first = await insertChannel(db(), { payoutStrategy: 'threshold' });
    const second = await insertChannel(db(), { payoutStrategy: 'threshold' });
    const batch = await insertConversionBatch(db(), [
      { channelId: first.id, fromUnits: 3_000_000_000_000_000n },
      { channelId: second.id, fromUnits: 4_000_000_000_000_000n },
    ]);
    const exchangeId = await failedSwap(batch.payout, 'usdt', 'eth');
    expect(await trackPayout(deps(), batch.payout.id)).toBe('needs_attention');
    const { rows: converting } = await db().query<{ state: string }>('SELECT state FROM conversion_batches WHERE id = $1', [batch.id]);
    expect(converting[0]?.state).toBe('converting');

    changenow.settleBySupport(exchangeId, 'finished');
    await changenow.advanceUntil(exchangeId, ['finished']);
    expect(await trackPayout(deps(), batch.payout.id)).toBe('completed');
    const { rows } = await db().query<{ state: string }>('SELECT state FROM conversion_batches WHERE id = $1', [batch.id]);
    expect(rows[0]?.state).toBe('distributed');
    expect(await balanceOf(db(), ledgerAccountCodes.owner(first.id, 'USDT_ERC20'), 'USDT_ERC20')).toBeGreaterThan(0n);
    expect(await isReturned(batch.payout.id)).toBe(false);
  });

  it('refuses an exchange whose answer carries a memo that was not asked for: never funded, the payout fails, the balance returns', async () => {
    const channel = await insertChannel(db(), { payoutCurrency: 'BTC', payoutNetwork: 'BTC', payoutWallet: BTC_WALLET });
    const payout = await insertPayout(db(), { channelId: channel.id });
    await movePayout(db(), payout.id, 'quoted', { at: h.clock.now() });
    const ownerBefore = await balanceOf(db(), ledgerAccountCodes.owner(channel.id, 'ETH'), 'ETH');
    changenow.failNext('POST /v2/exchange', 200, {
      id: 'abcdef12345670', payinAddress: '0x2222222222222222222222222222222222222222', payoutAddress: BTC_WALLET, payoutExtraId: '4242',
      fromAmount: formatUnits(payout.amountUnits, 18), toAmount: '0.0001', fromCurrency: 'eth', toCurrency: 'btc',
    });

    expect(await createSwap({ ...h, changenow: client(), refundAddress: HOT_WALLET }, payout.id)).toBe('failed');

    const { rows } = await db().query<{ state: string; failure_code: string }>('SELECT state, failure_code FROM payouts WHERE id = $1', [payout.id]);
    expect(rows[0]).toEqual({ state: 'failed', failure_code: 'changenow_exchange_mismatch' });
    expect((await db().query('SELECT 1 FROM swaps WHERE payout_id = $1', [payout.id])).rows).toEqual([]);
    expect(await balanceOf(db(), ledgerAccountCodes.owner(channel.id, 'ETH'), 'ETH')).toBe(ownerBefore + payout.amountUnits);
    expect(await noticesOf(payout.id)).toEqual(['payout_failed']);
  });
});
