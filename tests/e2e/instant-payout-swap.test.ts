import { setChannelWallet } from '../../shared/testing/encrypted-fields.js';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumLedgerByAsset } from '../../shared/ledger/index.js';
import { parseUnits } from '../../shared/money/index.js';
import { topUpUsdtLikeToken, USDT_LIKE_TOKEN_ABI } from '../../shared/testing/simulators/usdt-token.js';
import { checkoutFor, newSubscriber, seedChannel, startTestGateway, type TestGateway } from './gateway-harness.js';

describe('instant payout through a ChangeNow swap (ETH → USDT on Ethereum), every message delivered twice', () => {
  let gateway: TestGateway;
  let provider: JsonRpcProvider;

  beforeAll(async () => {
    gateway = await startTestGateway();
    const anvil = gateway.runtime.simulators.anvil;
    if (!anvil) throw new Error('the runtime did not start anvil');
    provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1 });
  }, 120_000);
  afterAll(async () => {
    provider?.destroy();
    await gateway?.stop();
  });

  it('funds the stored exchange once and completes with what the owner received on chain', async () => {
    const db = gateway.testDb.db;
    const anvil = gateway.runtime.simulators.anvil;
    const changenow = gateway.runtime.simulators.changenow;
    const tokenAddress = process.env.USDT_ERC20_CONTRACT;
    if (!anvil || !changenow || !tokenAddress) throw new Error('sandbox chain not started');
    const hotWallet = anvil.accounts[0]?.address ?? '';
    // The simulated exchange pays USDT from its operator account (anvil account 9, the token's minter): give it some.
    const token = new Contract(tokenAddress, USDT_LIKE_TOKEN_ABI, provider);
    await topUpUsdtLikeToken(anvil.rpcUrl, tokenAddress, anvil.accounts[9]?.privateKey ?? '', anvil.accounts[9]?.address ?? '', 1_000_000_000_000n);

    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n });
    const ownerWallet = Wallet.createRandom().address;
    await db.query(`UPDATE channels SET payout_currency = 'USDT', payout_network = 'ETH' WHERE id = $1`, [channel.channelId]);
    await setChannelWallet(db, channel.channelId, ownerWallet);
    const balanceBefore = await provider.getBalance(hotWallet);
    const nonceBefore = await provider.getTransactionCount(hotWallet);

    const checkout = await checkoutFor(gateway, channel, newSubscriber(gateway));
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const { rows: payouts } = await db.query<{ id: string; state: string; amount_units: string }>(
      'SELECT id, state, amount_units::text FROM payouts WHERE channel_id = $1',
      [channel.channelId],
    );
    expect(payouts).toHaveLength(1);
    const payoutId = payouts[0]?.id ?? '';
    const amountUnits = BigInt(payouts[0]?.amount_units ?? '0');
    expect(payouts[0]?.state).toBe('transfer_broadcast');

    // One exchange created although payout-quoted arrived twice; the transfer went to its deposit address.
    const { rows: swaps } = await db.query<{ provider_exchange_id: string; deposit_address: string }>(
      'SELECT provider_exchange_id, deposit_address FROM swaps WHERE payout_id = $1',
      [payoutId],
    );
    expect(swaps).toHaveLength(1);
    expect(changenow.exchanges()).toHaveLength(1);
    const { rows: transfers } = await db.query<{ to_address: string; fee_units: string | null }>('SELECT to_address, fee_units::text FROM chain_transfers WHERE payout_id = $1', [payoutId]);
    expect(transfers).toHaveLength(1);
    expect(transfers[0]?.to_address).toBe(swaps[0]?.deposit_address.toLowerCase());

    await gateway.runtime.bus?.publish('payout-tracking-requested', { job: 'track-payouts' });
    await gateway.settle();
    // The simulator moves on its own timer: the swap may already have finished at this first tick.
    expect(['awaiting_swap', 'completed']).toContain((await db.query<{ state: string }>('SELECT state FROM payouts WHERE id = $1', [payoutId])).rows[0]?.state);
    await changenow.advanceUntil(swaps[0]?.provider_exchange_id ?? '', ['finished']);
    await gateway.runtime.bus?.publish('payout-tracking-requested', { job: 'track-payouts' });
    await gateway.settle();

    const { rows: done } = await db.query<{ state: string; received_to_amount: string; payout_hash: string | null }>(
      'SELECT p.state, s.received_to_amount::text, s.payout_hash FROM payouts p JOIN swaps s ON s.payout_id = p.id WHERE p.id = $1',
      [payoutId],
    );
    expect(done[0]?.state).toBe('completed');
    expect(done[0]?.payout_hash).toMatch(/^0x[0-9a-f]{64}$/);
    const received = parseUnits(done[0]?.received_to_amount ?? '0', 6, 'floor'); // the 6-decimal token
    expect(await token.getFunction('balanceOf')(ownerWallet)).toBe(received);
    expect(received).toBeGreaterThan(0n);

    // The hot wallet signed one transaction and moved exactly what the ledger says, gas included.
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore + 1);
    const { rows: fee } = await db.query<{ fee_units: string }>('SELECT fee_units::text FROM chain_transfers WHERE payout_id = $1', [payoutId]);
    const onChainMovement = (await provider.getBalance(hotWallet)) - balanceBefore;
    expect(onChainMovement).toBe(-(amountUnits + BigInt(fee[0]?.fee_units ?? '0')));
    const { rows: ledger } = await db.query<{ total: string }>(
      `SELECT sum(e.amount)::text AS total FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
         JOIN ledger_accounts a ON a.id = e.account_id WHERE t.payout_id = $1 AND a.code = 'hot_wallet:eth'`,
      [payoutId],
    );
    expect(BigInt(ledger[0]?.total ?? '0')).toBe(onChainMovement);
    for (const [, sum] of await sumLedgerByAsset(db)) expect(sum).toBe(0n);
    expect((await db.query('SELECT source, reason_code FROM dead_letters')).rows).toEqual([]);
  });
});
