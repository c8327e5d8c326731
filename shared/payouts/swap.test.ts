import { fieldContext, loadFieldCipher } from '../field-crypto/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeNowClient } from '../changenow/index.js';
import { createCountingWallet, createMemoryChain } from '../testing/fakes/memory-chain.js';
import { BTC_WALLET, countingChangeNowClient, payoutAtStage, payoutMessages } from '../testing/payout-steps.js';
import { type ChangeNowSimulator, startChangeNowSimulator } from '../testing/simulators/changenow-simulator.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { createSwap, type CreateSwapDeps, sendTransfer } from './index.js';

const API_KEY = 'swap-test-key';
const HOT_WALLET = '0x1111111111111111111111111111111111111111';
const AMOUNT = 100_000_000_000_000_000n; // 0.1 ETH

/**
 * create-swap against the ChangeNow simulator (over HTTP): a quoted swap payout gets exactly one
 * stored exchange, refunds to the hot wallet, and its transfer goes to that exchange's deposit
 * address, however often and however concurrently its message is delivered.
 */
describe('createSwap', () => {
  let h: StageHarness;
  let changenow: ChangeNowSimulator;
  let client: ChangeNowClient;
  let requests: string[];

  beforeAll(async () => {
    h = await createStageHarness();
    changenow = await startChangeNowSimulator({ apiKey: API_KEY, pollIntervalMs: 0 });
  });
  afterAll(async () => {
    await changenow?.close();
    await h?.close();
  });
  beforeEach(() => {
    ({ client, requests } = countingChangeNowClient(changenow, API_KEY));
  });

  const deps = (): CreateSwapDeps => ({ ...h, changenow: client, refundAddress: HOT_WALLET });
  const quotedSwapPayout = () => payoutAtStage(h.db, { destination: 'BTC', amountUnits: AMOUNT, state: 'quoted' });

  async function swapsOf(payoutId: string) {
    const { rows } = await h.db.query<Record<string, string>>(
      `SELECT s.provider_exchange_id AS "exchangeId", s.deposit_address AS "depositAddress", s.payout_address AS "payoutAddress",
              s.payout_address_ciphertext AS "sealed", p.owner_account_id AS "owner",
              s.refund_address AS "refundAddress", s.from_amount_units::text AS "fromUnits", s.status
         FROM swaps s JOIN payouts p ON p.id = s.payout_id WHERE s.payout_id = $1`,
      [payoutId],
    );
    // The owner's address is sealed at rest (copied from the payout): opened here to compare.
    return rows.map(({ sealed, owner, ...row }): Record<string, string> => ({ ...row, payoutAddress: row.payoutAddress ?? loadFieldCipher().decrypt(sealed ?? '', fieldContext.payoutWallet(owner ?? '')) }));
  }
  const stateOf = async (payoutId: string) => (await h.db.query<{ state: string }>('SELECT state FROM payouts WHERE id = $1', [payoutId])).rows[0]?.state;
  /** The simulator's exchanges paying out to this test's owner wallet, made since `before`. */
  const exchangesSince = (before: number) => changenow.exchanges().slice(before);

  it('stores the one exchange of a quoted swap payout (refunds to the hot wallet) and asks for its transfer', async () => {
    const payout = await quotedSwapPayout();
    const before = changenow.exchanges().length;
    expect(await createSwap(deps(), payout.id)).toBe('created');

    const [exchange] = exchangesSince(before);
    expect(exchange).toMatchObject({ fromCurrency: 'eth', toCurrency: 'btc', expectedAmountFrom: '0.1', payoutAddress: BTC_WALLET, refundAddress: HOT_WALLET });
    expect(await swapsOf(payout.id)).toEqual([
      { exchangeId: exchange?.id, depositAddress: exchange?.payinAddress, payoutAddress: BTC_WALLET, refundAddress: HOT_WALLET, fromUnits: AMOUNT.toString(), status: 'new' },
    ]);
    expect(await stateOf(payout.id)).toBe('swap_created');
    expect(await payoutMessages(h.db, payout.id)).toEqual(['transfer-requested']);
    expect(requests).toEqual(['POST /v2/exchange']);
  });

  it('creates nothing more when the message is delivered again', async () => {
    const payout = await quotedSwapPayout();
    const before = changenow.exchanges().length;
    expect(await createSwap(deps(), payout.id)).toBe('created');
    expect(await createSwap(deps(), payout.id)).toBe('skipped');

    expect(exchangesSince(before)).toHaveLength(1);
    expect(await swapsOf(payout.id)).toHaveLength(1);
    expect(await payoutMessages(h.db, payout.id)).toEqual(['transfer-requested']);
    expect(requests).toEqual(['POST /v2/exchange']);
  });

  it('stores one exchange when the message is delivered twice at the same moment; an exchange it lost the race with is never stored', async () => {
    const payout = await quotedSwapPayout();
    const before = changenow.exchanges().length;
    const outcomes = await Promise.all([createSwap(deps(), payout.id), createSwap(deps(), payout.id)]);

    expect([...outcomes].sort()).toEqual(['created', 'skipped']);
    const stored = await swapsOf(payout.id);
    expect(stored).toHaveLength(1);
    const created = exchangesSince(before);
    expect(created.map((exchange) => exchange.id)).toContain(stored[0]?.exchangeId);
    // Both deliveries may have asked ChangeNow before either stored its answer: the extra one is logged, never funded.
    const orphans = h.logLines.filter((line) => line.includes('payout.swap_orphaned') && line.includes(payout.id));
    expect(orphans).toHaveLength(created.length - 1);
    expect(await payoutMessages(h.db, payout.id)).toEqual(['transfer-requested']);
  });

  it('stores the exchange of the retry when ChangeNow made one but its answer was lost, and funds only that one', async () => {
    const payout = await quotedSwapPayout();
    const before = changenow.exchanges().length;
    changenow.failNext('POST /v2/exchange', 502, undefined, { afterHandling: true });
    await expect(createSwap(deps(), payout.id)).rejects.toMatchObject({ code: 'changenow_unavailable' });
    expect(await stateOf(payout.id)).toBe('quoted');
    expect(await swapsOf(payout.id)).toEqual([]);

    expect(await createSwap(deps(), payout.id)).toBe('created');
    const [lost, retried] = exchangesSince(before);
    expect((await swapsOf(payout.id)).map((swap) => swap.exchangeId)).toEqual([retried?.id]);

    // send-transfer pays the stored exchange's deposit address, never the owner's wallet or the lost exchange.
    const wallet = createCountingWallet();
    const chain = createMemoryChain({ balances: { [wallet.address]: 10n ** 19n } });
    const settings = { chainId: 31_337n, maxFeePerGasCapWei: 100_000_000_000n, tokenContracts: {} };
    expect(await sendTransfer({ ...h, chain, wallet, settings }, payout.id)).toBe('broadcast');
    expect(chain.transactions().map((tx) => ({ to: tx.to, value: tx.value }))).toEqual([{ to: retried?.payinAddress.toLowerCase(), value: AMOUNT }]);
    expect(retried?.payinAddress).not.toBe(lost?.payinAddress);
  });

  // quote-payout never queues payout-quoted for such a payout (see quote.test.ts); a forged or re-driven one is refused.
  it('creates no exchange for a payout paid in the asset the hot wallet holds (same asset: no swap)', async () => {
    const payout = await payoutAtStage(h.db, { destination: 'ETH', amountUnits: AMOUNT, state: 'quoted' });
    const before = changenow.exchanges().length;
    const outcome = await createSwap(deps(), payout.id).catch((error: { code?: string }) => error.code);
    expect(['skipped', 'payout_not_swappable']).toContain(outcome);
    expect(exchangesSince(before)).toEqual([]);
    expect(await stateOf(payout.id)).toBe('quoted');
  });
});
