import { setChannelWallet, withDestinationWallets } from '../../shared/testing/encrypted-fields.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, ledgerAccountCodes, sumLedgerByAsset } from '../../shared/ledger/index.js';
import { approvePayout } from '../../shared/payouts/index.js';
import { hasPostgresServer } from '../../shared/testing/database.js';
import { checkoutFor, newSubscriber, type PayoutGateway, seedChannel, type SeededChannel, startPayoutGateway, type TestGateway } from './gateway-harness.js';

const run = promisify(execFile);

// Functions read their configuration when loaded: the limits must be set before the gateway starts.
const PAYOUT_MAX_USD_CENTS = '5000';

/**
 * How instant payouts end when something goes wrong on the way out, every message delivered twice:
 * ChangeNow errors on create, a refused address, a failed exchange, an amount below the exchange
 * minimum, gas too dear for the amount, and a payout over the limit approved by the operator.
 */
describe('instant payouts that meet trouble', () => {
  let payouts: PayoutGateway;
  let gateway: TestGateway;
  let provider: JsonRpcProvider;
  let hotWallet: string;

  beforeAll(async () => {
    payouts = await startPayoutGateway({ maxUsdCents: PAYOUT_MAX_USD_CENTS, dailyCapUsdCents: '1000000', exchangeUsdtUnits: 1_000_000_000_000n });
    ({ gateway, provider, hotWallet } = payouts);
  }, 120_000);
  afterAll(() => payouts?.stop());

  const db = () => gateway.testDb.db;
  const changenow = () => payouts.changenow;

  async function usdtChannel(priceCents = 1999n): Promise<SeededChannel & { wallet: string }> {
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents });
    const wallet = Wallet.createRandom().address;
    await db().query(`UPDATE channels SET payout_currency = 'USDT', payout_network = 'ETH' WHERE id = $1`, [channel.channelId]);
    await setChannelWallet(db(), channel.channelId, wallet);
    return { ...channel, wallet };
  }

  async function pay(channel: SeededChannel): Promise<{ payoutId: string; amountUnits: bigint }> {
    const checkout = await checkoutFor(gateway, channel, newSubscriber(gateway));
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const { rows } = await db().query<{ id: string; amount_units: string }>('SELECT id, amount_units::text FROM payouts WHERE channel_id = $1', [channel.channelId]);
    expect(rows).toHaveLength(1);
    return { payoutId: rows[0]?.id ?? '', amountUnits: BigInt(rows[0]?.amount_units ?? '0') };
  }

  async function payout(payoutId: string) {
    const { rows } = await db().query<{ state: string; failure_code: string | null; deferred_reason: string | null; held_reason: string | null }>(
      'SELECT state, failure_code, deferred_reason, held_reason FROM payouts WHERE id = $1',
      [payoutId],
    );
    return rows[0];
  }

  async function tick(): Promise<void> {
    await gateway.runtime.bus?.publish('payout-tracking-requested', { job: 'track-payouts' });
    await gateway.settle();
  }

  /** Lets ChangeNow's simulator move its exchanges, then lets track-payouts look, until the payout is final. */
  async function trackUntilFinal(payoutId: string): Promise<string | undefined> {
    for (let round = 0; round < 30; round += 1) {
      await changenow().advance();
      await tick();
      const state = (await payout(payoutId))?.state;
      if (state && ['completed', 'failed', 'refunded', 'cancelled'].includes(state)) return state;
    }
    return (await payout(payoutId))?.state;
  }

  const ownerBalance = (channelId: string) => balanceOf(db(), ledgerAccountCodes.owner(channelId, 'ETH'), 'ETH');
  const ownerMessages = (channel: SeededChannel) => gateway.telegram.messagesTo(channel.ownerTelegramId).map((message) => message.text ?? '');

  async function expectLedgerBalancedAndNoDeadLetters(): Promise<void> {
    for (const [, sum] of await sumLedgerByAsset(db())) expect(sum).toBe(0n);
    const { rows } = await db().query('SELECT source, reason_code FROM dead_letters');
    expect(rows).toEqual([]);
  }

  it('retries a ChangeNow 5xx on create, funds only the exchange it stored, and completes', async () => {
    const channel = await usdtChannel();
    const exchangesBefore = changenow().exchanges().length;
    // The first create fails before ChangeNow does anything; the second fails after it created an exchange.
    changenow().failNext('POST /v2/exchange', 500);
    changenow().failNext('POST /v2/exchange', 502, undefined, { afterHandling: true });
    const { payoutId } = await pay(channel);

    const { rows: swaps } = await db().query<{ provider_exchange_id: string }>('SELECT provider_exchange_id FROM swaps WHERE payout_id = $1', [payoutId]);
    expect(swaps).toHaveLength(1);
    const created = changenow().exchanges().slice(exchangesBefore);
    expect(created.length).toBeGreaterThanOrEqual(2); // the lost answer left an orphan exchange at ChangeNow
    expect(await trackUntilFinal(payoutId)).toBe('completed');

    // Only the stored exchange was funded; the orphan never saw a deposit.
    const funded = changenow().exchanges().filter((exchange) => created.some((c) => c.id === exchange.id) && exchange.amountFrom !== null);
    expect(funded.map((exchange) => exchange.id)).toEqual([swaps[0]?.provider_exchange_id]);
    expect((await db().query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payoutId])).rows).toHaveLength(1);
    expect(ownerMessages(channel).some((text) => text.includes('Payout sent'))).toBe(true);
    await expectLedgerBalancedAndNoDeadLetters();
  });

  it('fails the payout when ChangeNow refuses the address (400): nothing sent, balance restored, owner told', async () => {
    const channel = await usdtChannel();
    const nonceBefore = await provider.getTransactionCount(hotWallet);
    changenow().failNext('POST /v2/exchange', 400, { error: 'not_valid_address', message: 'Invalid address' });
    const { payoutId, amountUnits } = await pay(channel);

    expect(await payout(payoutId)).toMatchObject({ state: 'failed', failure_code: 'changenow_invalid_address' });
    expect((await db().query('SELECT 1 FROM swaps WHERE payout_id = $1', [payoutId])).rows).toEqual([]);
    expect((await db().query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payoutId])).rows).toEqual([]);
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore);
    expect(await ownerBalance(channel.channelId)).toBe(amountUnits);
    const told = ownerMessages(channel).filter((text) => text.includes('Payout not sent'));
    expect(told).toHaveLength(1); // once, although every message arrived twice
    expect(told[0]).toContain('refused this wallet address');
    expect(told[0]).toContain('back on your balance');
    await expectLedgerBalancedAndNoDeadLetters();
  });

  it('keeps following an exchange that failed after it was funded, and restores the balance once ChangeNow support refunds it', async () => {
    const channel = await usdtChannel();
    const { payoutId, amountUnits } = await pay(channel);
    const { rows } = await db().query<{ provider_exchange_id: string }>('SELECT provider_exchange_id FROM swaps WHERE payout_id = $1', [payoutId]);
    changenow().setOutcome(rows[0]?.provider_exchange_id ?? '', 'failed');
    // `failed` is not the end (the deposit is with ChangeNow support): needs_attention, then refunded.
    expect(await trackUntilFinal(payoutId)).toBe('refunded');
    expect(await ownerBalance(channel.channelId)).toBe(amountUnits);
    expect(ownerMessages(channel).filter((text) => text.includes('could not complete the conversion'))).toHaveLength(1);
    await expectLedgerBalancedAndNoDeadLetters();
  });

  it('defers a payout below the exchange minimum, keeps it claimed, and re-quotes it when the wait is over', async () => {
    const channel = await usdtChannel(250n); // $2.50 of ETH is below the simulator's 0.001 ETH minimum, and worth its gas
    const nonceBefore = await provider.getTransactionCount(hotWallet);
    const { payoutId, amountUnits } = await pay(channel);
    expect(await payout(payoutId)).toMatchObject({ state: 'deferred', deferred_reason: 'below_swap_minimum' });
    expect((await db().query('SELECT 1 FROM swaps WHERE payout_id = $1', [payoutId])).rows).toEqual([]);
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore);
    // The amount stays claimed for this payout: neither sent nor spendable twice.
    expect(await balanceOf(db(), ledgerAccountCodes.payoutsInFlight('ETH'), 'ETH')).toBeGreaterThanOrEqual(amountUnits);

    // A tick before the hour changes nothing; after it, the payout is quoted afresh (still below: deferred again).
    await tick();
    expect(await payout(payoutId)).toMatchObject({ state: 'deferred' });
    await db().query(`UPDATE payouts SET deferred_until = now() - interval '1 second', next_check_at = now() - interval '1 second' WHERE id = $1`, [payoutId]);
    await tick();
    const { rows } = await db().query<{ state: string; deferred_until: Date }>('SELECT state, deferred_until FROM payouts WHERE id = $1', [payoutId]);
    expect(rows[0]?.state).toBe('deferred');
    expect(rows[0]?.deferred_until.getTime()).toBeGreaterThan(Date.now());
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore);
    await expectLedgerBalancedAndNoDeadLetters();
  });

  it('defers an ETH payout whose gas would take more than PAYOUT_MAX_NETWORK_FEE_BPS, and sends it once gas is back down', async () => {
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n });
    await provider.send('anvil_setNextBlockBaseFeePerGas', ['0x2e90edd000']); // 200 gwei: 21 000 gas ≈ 0.0042 ETH
    await provider.send('evm_mine', []);
    const nonceBefore = await provider.getTransactionCount(hotWallet);
    const { payoutId } = await pay(channel);
    expect(await payout(payoutId)).toMatchObject({ state: 'deferred', deferred_reason: 'network_fee_too_high' });
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore);

    await provider.send('anvil_setNextBlockBaseFeePerGas', ['0x3b9aca00']); // 1 gwei
    await provider.send('evm_mine', []);
    await db().query(`UPDATE payouts SET deferred_until = now() - interval '1 second', next_check_at = now() - interval '1 second' WHERE id = $1`, [payoutId]);
    await tick(); // re-queued, quoted, signed and broadcast
    expect(await trackUntilFinal(payoutId)).toBe('completed');
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore + 1);
    await expectLedgerBalancedAndNoDeadLetters();
  });

  async function heldPayout(): Promise<{ channel: SeededChannel; payoutId: string; amountUnits: bigint }> {
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 9999n });
    const { payoutId, amountUnits } = await pay(channel);
    expect(await payout(payoutId)).toMatchObject({ state: 'held', held_reason: 'over_payout_limit' });
    expect(ownerMessages(channel).filter((text) => text.includes('Payout under review'))).toHaveLength(1);
    return { channel, payoutId, amountUnits };
  }

  async function expectPaidAfterApproval(channel: SeededChannel, payoutId: string, amountUnits: bigint): Promise<void> {
    await gateway.runtime.bus?.publish('outbox-relay-requested', { job: 'relay-outbox' }); // the approval's message
    await gateway.settle();
    expect(await trackUntilFinal(payoutId)).toBe('completed');
    const rows = await withDestinationWallets(db(), [{ id: payoutId }]);
    expect(await provider.getBalance(rows[0]?.destination_wallet ?? '')).toBe(amountUnits);
    expect((await db().query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payoutId])).rows).toHaveLength(1);
    const { rows: audit } = await db().query<{ action: string }>('SELECT action FROM audit_log WHERE subject_id = $1 ORDER BY occurred_at, action', [payoutId]);
    expect(audit.map((row) => row.action)).toEqual(['payout.held', 'payout.approved']);
    expect(ownerMessages(channel).some((text) => text.includes('Payout sent'))).toBe(true);
    await expectLedgerBalancedAndNoDeadLetters();
  }

  it.skipIf(!hasPostgresServer)('holds a payout over the limit until the operator approves it with `npm run payouts`, then pays it once [skipped: needs DATABASE_URL, the CLI is another process]', async () => {
    const { channel, payoutId, amountUnits } = await heldPayout();
    const env = { ...process.env, DATABASE_URL: gateway.testDb.url };
    const listed = await run('npx', ['tsx', 'scripts/payouts.ts', 'list'], { env });
    expect(listed.stdout).toContain(payoutId);
    expect(listed.stdout).toContain('over_payout_limit');
    const approved = await run('npx', ['tsx', 'scripts/payouts.ts', 'approve', payoutId, '--operator', 'ops@example.com'], { env });
    expect(approved.stdout).toContain(`Approved ${payoutId}`);
    // Approving twice is refused, not a second release.
    await expect(run('npx', ['tsx', 'scripts/payouts.ts', 'approve', payoutId, '--operator', 'ops@example.com'], { env })).rejects.toMatchObject({ code: 1 });
    await expectPaidAfterApproval(channel, payoutId, amountUnits);
  }, 120_000);

  it('holds a payout over the limit until approved (in process; the CLI test above needs a PostgreSQL server)', async () => {
    const { channel, payoutId, amountUnits } = await heldPayout();
    await approvePayout(db(), { payoutId, operator: 'ops@example.com', at: new Date() });
    await expectPaidAfterApproval(channel, payoutId, amountUnits);
  });

  it('keeps a tracking failure that will not go away as one dead letter, and completes once ChangeNow answers again', async () => {
    const channel = await usdtChannel();
    const { payoutId } = await pay(channel);
    for (let round = 0; round < 10 && (await payout(payoutId))?.state !== 'awaiting_swap'; round += 1) await tick();
    expect((await payout(payoutId))?.state).toBe('awaiting_swap');
    // ChangeNow says it does not know the exchange (404) for two ticks, each delivered twice (so
    // every look in them gets the 404, and the exchange cannot be seen finishing meanwhile).
    for (let lookup = 0; lookup < 4; lookup += 1) changenow().failNext('GET /v2/exchange/by-id', 404, { error: 'not_found', message: 'Exchange not found' });
    await tick();
    await tick();
    expect((await payout(payoutId))?.state).toBe('awaiting_swap');
    const { rows } = await db().query<{ source: string; reason_code: string; data: string }>('SELECT source, reason_code, data FROM dead_letters');
    expect(rows).toEqual([{ source: 'track-payouts', reason_code: 'changenow_exchange_not_found', data: JSON.stringify({ payoutId }) }]);
    expect(await trackUntilFinal(payoutId)).toBe('completed');
  });
});
