import { setChannelWallet } from '../../shared/testing/encrypted-fields.js';
import { type Contract, type JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, ledgerAccountCodes, sumLedgerByAsset } from '../../shared/ledger/index.js';
import { parseUnits } from '../../shared/money/index.js';
import { checkoutFor, newSubscriber, type PayoutGateway, seedChannel, type SeededChannel, startPayoutGateway, type TestGateway } from './gateway-harness.js';

/**
 * A funded exchange that ChangeNow reports `failed` is not over: its deposit is with ChangeNow
 * support. The payout waits in needs_attention with its amount held (the owner is not paid back,
 * so nothing is paid twice), and ends when support refunds the deposit (on chain, to the hot
 * wallet) or completes the exchange. Every message is delivered twice.
 */
describe('a payout whose exchange failed after it was funded', () => {
  let payouts: PayoutGateway;
  let gateway: TestGateway;
  let provider: JsonRpcProvider;
  let hotWallet: string;
  let token: Contract;

  beforeAll(async () => {
    payouts = await startPayoutGateway({ maxUsdCents: '1000000', dailyCapUsdCents: '1000000', exchangeUsdtUnits: 1_000_000_000_000n });
    ({ gateway, provider, hotWallet, token } = payouts);
  }, 120_000);
  afterAll(() => payouts?.stop());

  const db = () => gateway.testDb.db;
  const changenow = () => payouts.changenow;

  /** An instant channel paid in USDT on Ethereum (through an ETH → USDT exchange), paid once; its exchange held failed by support. */
  async function failedExchange(): Promise<{ channel: SeededChannel; wallet: string; payoutId: string; amountUnits: bigint; exchangeId: string }> {
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n });
    const wallet = Wallet.createRandom().address;
    await db().query(`UPDATE channels SET payout_currency = 'USDT', payout_network = 'ETH' WHERE id = $1`, [channel.channelId]);
    await setChannelWallet(db(), channel.channelId, wallet);
    const checkout = await checkoutFor(gateway, channel, newSubscriber(gateway));
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const { rows } = await db().query<{ id: string; amount_units: string; provider_exchange_id: string }>(
      'SELECT p.id, p.amount_units::text, s.provider_exchange_id FROM payouts p JOIN swaps s ON s.payout_id = p.id WHERE p.channel_id = $1',
      [channel.channelId],
    );
    expect(rows).toHaveLength(1);
    const exchangeId = rows[0]?.provider_exchange_id ?? '';
    changenow().setOutcome(exchangeId, 'failed', { support: 'held' });
    return { channel, wallet, payoutId: rows[0]?.id ?? '', amountUnits: BigInt(rows[0]?.amount_units ?? '0'), exchangeId };
  }

  const stateOf = async (payoutId: string) => (await db().query<{ state: string }>('SELECT state FROM payouts WHERE id = $1', [payoutId])).rows[0]?.state;

  async function tick(): Promise<void> {
    await gateway.runtime.bus?.publish('payout-tracking-requested', { job: 'track-payouts' });
    await gateway.settle();
  }

  /** Lets the exchange move and track-payouts look until the payout is in one of `states`. */
  async function trackUntil(payoutId: string, states: readonly string[]): Promise<string | undefined> {
    for (let round = 0; round < 30; round += 1) {
      await changenow().advance();
      await tick();
      const state = await stateOf(payoutId);
      if (state && states.includes(state)) return state;
    }
    return stateOf(payoutId);
  }

  const ownerBalance = (channelId: string) => balanceOf(db(), ledgerAccountCodes.owner(channelId, 'ETH'), 'ETH');
  const ownerMessages = (channel: SeededChannel) => gateway.telegram.messagesTo(channel.ownerTelegramId).map((message) => message.text ?? '');
  const alertsOf = async (payoutId: string) => (await db().query<{ alert: string }>('SELECT alert FROM operator_alerts WHERE subject_id = $1', [payoutId])).rows;

  async function expectLedgerBalancedAndNoDeadLetters(): Promise<void> {
    for (const [, sum] of await sumLedgerByAsset(db())) expect(sum).toBe(0n);
    expect((await db().query('SELECT source, reason_code FROM dead_letters')).rows).toEqual([]);
  }

  it('holds the amount until ChangeNow support refunds the deposit to the hot wallet, then owes it to the owner again', async () => {
    const { channel, payoutId, amountUnits, exchangeId } = await failedExchange();
    expect(await trackUntil(payoutId, ['needs_attention', 'completed', 'failed', 'refunded'])).toBe('needs_attention');
    for (let round = 0; round < 3; round += 1) {
      await changenow().advance();
      await tick();
    }
    expect(await stateOf(payoutId)).toBe('needs_attention');
    expect(await ownerBalance(channel.channelId)).toBe(0n); // still claimed: not back on the balance
    expect(ownerMessages(channel).filter((text) => text.includes('Payout not sent'))).toEqual([]);
    expect(await alertsOf(payoutId)).toEqual([{ alert: 'payout.swap_needs_attention' }]);

    const hotWalletBefore = await provider.getBalance(hotWallet);
    changenow().settleBySupport(exchangeId, 'refunded');
    expect(await trackUntil(payoutId, ['completed', 'failed', 'refunded'])).toBe('refunded');
    expect(await provider.getBalance(hotWallet)).toBe(hotWalletBefore + amountUnits); // the deposit came back on chain
    expect(await ownerBalance(channel.channelId)).toBe(amountUnits);
    expect(ownerMessages(channel).filter((text) => text.includes('could not complete the conversion'))).toHaveLength(1);
    expect(await alertsOf(payoutId)).toHaveLength(1);
    await expectLedgerBalancedAndNoDeadLetters();
  });

  it('completes the payout when ChangeNow support completes the exchange, and pays the owner once', async () => {
    const { channel, wallet, payoutId, exchangeId } = await failedExchange();
    expect(await trackUntil(payoutId, ['needs_attention', 'completed', 'failed', 'refunded'])).toBe('needs_attention');

    changenow().settleBySupport(exchangeId, 'finished');
    expect(await trackUntil(payoutId, ['completed', 'failed', 'refunded'])).toBe('completed');
    const { rows } = await db().query<{ received_to_amount: string }>('SELECT received_to_amount::text FROM swaps WHERE payout_id = $1', [payoutId]);
    const received = parseUnits(rows[0]?.received_to_amount ?? '0', 6, 'floor');
    expect(received).toBeGreaterThan(0n);
    expect(await token.getFunction('balanceOf')(wallet)).toBe(received);
    expect(await ownerBalance(channel.channelId)).toBe(0n);
    expect(ownerMessages(channel).filter((text) => text.includes('Payout sent'))).toHaveLength(1);
    expect(ownerMessages(channel).filter((text) => text.includes('Payout not sent'))).toEqual([]);
    await expectLedgerBalancedAndNoDeadLetters();
  });
});
