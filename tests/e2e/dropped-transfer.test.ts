import { withDestinationWallets } from '../../shared/testing/encrypted-fields.js';
import { type JsonRpcProvider, Transaction } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSignedTransaction } from '../../shared/chain/index.js';
import { sumLedgerByAsset } from '../../shared/ledger/index.js';
import { checkoutFor, newSubscriber, type PayoutGateway, seedChannel, startPayoutGateway, type TestGateway } from './gateway-harness.js';

const GWEI = 1_000_000_000n;

/**
 * A payout transaction the node dropped from its mempool, every message delivered twice, on anvil
 * with automine off (blocks only when the test mines): re-broadcast of the stored bytes; replacement
 * at the same nonce and a higher fee when the node will not take them any more (fees rose); the
 * later payout queued behind the nonce goes through; above the fee cap nothing is signed and the
 * operator is alerted once.
 */
describe('a payout transaction dropped from the mempool', () => {
  let payouts: PayoutGateway;
  let gateway: TestGateway;
  let provider: JsonRpcProvider;

  beforeAll(async () => {
    payouts = await startPayoutGateway({ maxUsdCents: '1000000', dailyCapUsdCents: '100000000', exchangeUsdtUnits: 1n });
    ({ gateway, provider } = payouts);
    await provider.send('evm_setAutomine', [false]);
  }, 120_000);
  afterAll(async () => {
    await provider?.send('evm_setAutomine', [true]).catch(() => undefined);
    await payouts?.stop();
  });

  const db = () => gateway.testDb.db;

  async function pay(): Promise<{ payoutId: string; wallet: string; amountUnits: bigint }> {
    const channel = await seedChannel(gateway, { strategy: 'instant' });
    const checkout = await checkoutFor(gateway, channel, newSubscriber(gateway));
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const rows = await withDestinationWallets(db(), (await db().query<{ id: string; amount_units: string }>('SELECT id, amount_units::text FROM payouts WHERE channel_id = $1', [channel.channelId])).rows);
    return { payoutId: rows[0]?.id ?? '', wallet: rows[0]?.destination_wallet ?? '', amountUnits: BigInt(rows[0]?.amount_units ?? '0') };
  }

  async function transfer(payoutId: string) {
    const { rows } = await db().query<{ tx_hash: string; nonce: bigint; mined_tx_hash: string | null; state: string; fee_units: string | null }>(
      `SELECT t.tx_hash, t.nonce, t.mined_tx_hash, p.state, t.fee_units::text FROM chain_transfers t JOIN payouts p ON p.id = t.payout_id WHERE t.payout_id = $1`,
      [payoutId],
    );
    return rows[0];
  }

  /** The replacements stored, their bytes opened (they are sealed at rest, as the first attempt's). */
  const replacements = (payoutId: string) =>
    db()
      .query<{ attempt: number; tx_hash: string; sealed: string }>(
        'SELECT attempt, tx_hash, signed_tx_ciphertext AS sealed FROM chain_transfer_replacements WHERE payout_id = $1 ORDER BY attempt',
        [payoutId],
      )
      .then((result) => result.rows.map(({ sealed, ...row }) => ({ ...row, signed_tx: openSignedTransaction(payoutId, row.attempt, { clear: null, ciphertext: sealed }) })));

  async function tick(): Promise<void> {
    await gateway.runtime.bus?.publish('payout-tracking-requested', { job: 'track-payouts' });
    await gateway.settle();
  }

  const isInMempool = async (hash: string) => (await provider.send('eth_getTransactionByHash', [hash])) !== null;
  const mine = () => provider.send('evm_mine', []);
  const setNextBaseFee = (wei: bigint) => provider.send('anvil_setNextBlockBaseFeePerGas', [`0x${wei.toString(16)}`]);

  async function expectBooksBalanced(): Promise<void> {
    for (const [, sum] of await sumLedgerByAsset(db())) expect(sum).toBe(0n);
    expect((await db().query('SELECT source, reason_code FROM dead_letters')).rows).toEqual([]);
  }

  it('re-broadcasts the stored bytes when the node forgot them; one transaction is mined', async () => {
    const { payoutId, wallet, amountUnits } = await pay();
    const sent = await transfer(payoutId);
    expect(sent?.state).toBe('transfer_broadcast');
    await provider.send('anvil_dropTransaction', [sent?.tx_hash]);
    expect(await isInMempool(sent?.tx_hash ?? '')).toBe(false);

    await tick();
    expect(await isInMempool(sent?.tx_hash ?? '')).toBe(true);
    expect(await replacements(payoutId)).toEqual([]);
    const before = await provider.getBalance(wallet);
    await mine();
    await tick();
    expect(await transfer(payoutId)).toMatchObject({ state: 'completed', mined_tx_hash: sent?.tx_hash });
    expect((await provider.getBalance(wallet)) - before).toBe(amountUnits);
    await expectBooksBalanced();
  });

  it('replaces a dropped transaction the node will not take again: same nonce, higher fee, paid once, and the payout behind it goes through', async () => {
    const first = await pay();
    const second = await pay();
    const dropped = await transfer(first.payoutId);
    const queued = await transfer(second.payoutId);
    expect(queued?.nonce).toBe((dropped?.nonce ?? 0n) + 1n);
    const sealed = (await db().query<{ sealed: string }>('SELECT signed_tx_ciphertext AS sealed FROM chain_transfers WHERE payout_id = $1', [first.payoutId])).rows[0]?.sealed ?? null;
    const originalMaxFee = Transaction.from(openSignedTransaction(first.payoutId, 1, { clear: null, ciphertext: sealed })).maxFeePerGas ?? 0n;

    // Fees rise well above what the first transaction may pay; then the node drops it.
    await setNextBaseFee(originalMaxFee * 4n);
    await mine();
    await provider.send('anvil_dropTransaction', [dropped?.tx_hash]);
    const firstBefore = await provider.getBalance(first.wallet);
    const secondBefore = await provider.getBalance(second.wallet);

    await tick(); // re-broadcast refused → replacement asked of send-transfer, which signs attempt 2
    const [replacement, ...more] = await replacements(first.payoutId);
    expect(more).toEqual([]);
    expect(replacement?.attempt).toBe(2);
    const replaced = Transaction.from(replacement?.signed_tx ?? '');
    expect(replaced.nonce).toBe(Number(dropped?.nonce));
    expect(replaced.maxFeePerGas ?? 0n).toBeGreaterThan(originalMaxFee * 3n);
    expect(await isInMempool(replacement?.tx_hash ?? '')).toBe(true);

    // Fees fall back; the replacement and the payout queued behind its nonce are mined.
    await setNextBaseFee(GWEI / 10n);
    await mine();
    await tick();
    await tick();
    expect(await transfer(first.payoutId)).toMatchObject({ state: 'completed', mined_tx_hash: replacement?.tx_hash });
    expect((await transfer(second.payoutId))?.state).toBe('completed');
    expect(await provider.send('eth_getTransactionReceipt', [dropped?.tx_hash])).toBeNull();
    expect((await provider.getBalance(first.wallet)) - firstBefore).toBe(first.amountUnits);
    expect((await provider.getBalance(second.wallet)) - secondBefore).toBe(second.amountUnits);
    // The gas booked is the mined replacement's.
    const receipt = await provider.getTransactionReceipt(replacement?.tx_hash ?? '');
    expect((await transfer(first.payoutId))?.fee_units).toBe(((receipt?.gasUsed ?? 0n) * (receipt?.gasPrice ?? 0n)).toString());
    await expectBooksBalanced();
  });

  it('signs nothing above the fee cap: one alert, and the replacement once fees fall', async () => {
    const { payoutId, wallet, amountUnits } = await pay();
    const dropped = await transfer(payoutId);
    await setNextBaseFee(300n * GWEI); // above MAX_FEE_PER_GAS_GWEI (200)
    await mine();
    await provider.send('anvil_dropTransaction', [dropped?.tx_hash]);

    await tick();
    await tick();
    expect(await replacements(payoutId)).toEqual([]);
    const alerts = await db().query('SELECT alert FROM operator_alerts WHERE subject_id = $1', [payoutId]);
    expect(alerts.rows).toEqual([{ alert: 'payout.replacement_fee_capped' }]);
    expect((await transfer(payoutId))?.state).toBe('transfer_broadcast');

    // Fees fall below what the stored bytes may pay: they are simply re-broadcast, nothing is signed.
    await setNextBaseFee(GWEI / 10n);
    await mine();
    const before = await provider.getBalance(wallet);
    await tick();
    await mine();
    await tick();
    expect(await transfer(payoutId)).toMatchObject({ state: 'completed', mined_tx_hash: dropped?.tx_hash });
    expect(await replacements(payoutId)).toEqual([]);
    expect((await db().query('SELECT 1 FROM operator_alerts WHERE subject_id = $1', [payoutId])).rows).toHaveLength(1);
    expect((await provider.getBalance(wallet)) - before).toBe(amountUnits);
    await expectBooksBalanced();
  });
});
