import { openTransferRecipient } from '../../shared/chain/index.js';
import { withDestinationWallets } from '../../shared/testing/encrypted-fields.js';
import { JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumLedgerByAsset } from '../../shared/ledger/index.js';
import { checkoutFor, newSubscriber, seedChannel, type SeededChannel, startTestGateway, type TestGateway } from './gateway-harness.js';

// Functions read their configuration when loaded: the limits must be set before the gateway starts.
const PAYOUT_MAX_USD_CENTS = '5000';

describe('instant payout on the local chain, every message delivered twice', () => {
  let gateway: TestGateway;
  let provider: JsonRpcProvider;
  let hotWallet: string;

  beforeAll(async () => {
    process.env.PAYOUT_MAX_USD_CENTS = PAYOUT_MAX_USD_CENTS;
    process.env.PAYOUT_DAILY_CAP_USD_CENTS = '1000000';
    gateway = await startTestGateway();
    const anvil = gateway.runtime.simulators.anvil;
    if (!anvil) throw new Error('the runtime did not start anvil');
    provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1 });
    hotWallet = anvil.accounts[0]?.address ?? '';
  }, 120_000);
  afterAll(async () => {
    provider?.destroy();
    await gateway?.stop();
    delete process.env.PAYOUT_MAX_USD_CENTS;
    delete process.env.PAYOUT_DAILY_CAP_USD_CENTS;
  });

  async function payFor(channel: SeededChannel): Promise<{ payoutId: string; amountUnits: bigint; wallet: string }> {
    const checkout = await checkoutFor(gateway, channel, newSubscriber(gateway));
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const rows = await withDestinationWallets(
      gateway.testDb.db,
      (await gateway.testDb.db.query<{ id: string; amount_units: string }>('SELECT id, amount_units::text FROM payouts WHERE channel_id = $1', [channel.channelId])).rows,
    );
    expect(rows).toHaveLength(1);
    return { payoutId: rows[0]?.id ?? '', amountUnits: BigInt(rows[0]?.amount_units ?? '0'), wallet: rows[0]?.destination_wallet ?? '' };
  }

  async function stateOf(payoutId: string): Promise<string | undefined> {
    const { rows } = await gateway.testDb.db.query<{ state: string }>('SELECT state FROM payouts WHERE id = $1', [payoutId]);
    return rows[0]?.state;
  }

  async function hotWalletLedgerMovement(payoutId: string): Promise<bigint> {
    const { rows } = await gateway.testDb.db.query<{ total: string | null }>(
      `SELECT sum(e.amount)::text AS total FROM ledger_entries e
         JOIN ledger_transactions t ON t.id = e.transaction_id JOIN ledger_accounts a ON a.id = e.account_id
        WHERE t.payout_id = $1 AND a.code = 'hot_wallet:eth'`,
      [payoutId],
    );
    return BigInt(rows[0]?.total ?? '0');
  }

  async function trackPayouts(): Promise<void> {
    await gateway.runtime.bus?.publish('payout-tracking-requested', { job: 'track-payouts' });
    await gateway.settle();
  }

  it('pays an ETH/ETH owner once, to the wei, and completes', async () => {
    const db = gateway.testDb.db;
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n });
    const balanceBefore = await provider.getBalance(hotWallet);
    const nonceBefore = await provider.getTransactionCount(hotWallet);

    const payout = await payFor(channel);
    expect(payout.amountUnits).toBeGreaterThan(0n);
    expect(await stateOf(payout.payoutId)).toBe('transfer_broadcast');
    await trackPayouts();
    expect(await stateOf(payout.payoutId)).toBe('completed');
    await trackPayouts(); // a later tick changes nothing
    expect(await stateOf(payout.payoutId)).toBe('completed');

    // One signed transaction, stored once, mined once.
    const { rows: transfers } = await db.query<{ tx_hash: string; status: string; fee_units: string; to_address: string | null; to_address_ciphertext: string | null }>(
      'SELECT tx_hash, status, fee_units::text, to_address, to_address_ciphertext FROM chain_transfers WHERE payout_id = $1',
      [payout.payoutId],
    );
    expect(transfers).toHaveLength(1);
    expect(transfers[0]?.status).toBe('confirmed');
    // The owner's wallet is stored sealed; opened, it is the wallet paid.
    expect(transfers[0]?.to_address).toBeNull();
    expect(openTransferRecipient(payout.payoutId, { clear: null, ciphertext: transfers[0]?.to_address_ciphertext ?? null })).toBe(payout.wallet.toLowerCase());
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore + 1);

    // The owner holds exactly the payout; the hot wallet moved exactly what the ledger says, gas included.
    expect(await provider.getBalance(payout.wallet)).toBe(payout.amountUnits);
    const onChainMovement = (await provider.getBalance(hotWallet)) - balanceBefore;
    const fee = BigInt(transfers[0]?.fee_units ?? '0');
    expect(fee).toBeGreaterThan(0n);
    expect(onChainMovement).toBe(-(payout.amountUnits + fee));
    expect(await hotWalletLedgerMovement(payout.payoutId)).toBe(onChainMovement);

    // Each ledger effect once; balanced per asset; nothing dead-lettered.
    const { rows: kinds } = await db.query<{ kind: string; count: string }>(
      'SELECT kind, count(*)::text AS count FROM ledger_transactions WHERE payout_id = $1 GROUP BY kind ORDER BY kind',
      [payout.payoutId],
    );
    expect(Object.fromEntries(kinds.map((row) => [row.kind, Number(row.count)]))).toEqual({ network_fee: 1, payout_claimed: 1, payout_funded: 1 });
    for (const [, sum] of await sumLedgerByAsset(db)) expect(sum).toBe(0n);
    const { rows: deadLetters } = await db.query('SELECT source, reason_code FROM dead_letters');
    expect(deadLetters).toEqual([]);
  });

  it('holds a payout above PAYOUT_MAX_USD_CENTS and sends nothing, even for a forged transfer-requested', async () => {
    const db = gateway.testDb.db;
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 9999n });
    const nonceBefore = await provider.getTransactionCount(hotWallet);
    const payout = await payFor(channel);
    expect(await stateOf(payout.payoutId)).toBe('held');
    const { rows: audit } = await db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject_id = $1`, [payout.payoutId]);
    expect(audit.map((row) => row.action)).toEqual(['payout.held']);

    await gateway.runtime.bus?.publish('transfer-requested', { payoutId: payout.payoutId });
    await gateway.settle();
    await trackPayouts();
    expect(await stateOf(payout.payoutId)).toBe('held');
    expect((await db.query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payout.payoutId])).rows).toEqual([]);
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore);
    expect(await provider.getBalance(payout.wallet)).toBe(0n);
  });

  it('ignores a forged transfer-requested for a completed payout: no second transaction', async () => {
    const db = gateway.testDb.db;
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM payouts WHERE state = 'completed'`);
    expect(rows).toHaveLength(1);
    const nonceBefore = await provider.getTransactionCount(hotWallet);
    await gateway.runtime.bus?.publish('transfer-requested', { payoutId: rows[0]?.id });
    await gateway.settle();
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore);
    expect((await db.query('SELECT 1 FROM chain_transfers')).rows).toHaveLength(1);
  });
});
