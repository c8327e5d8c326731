import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldContext, loadFieldCipher, reencryptFields } from '../field-crypto/index.js';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../testing/database.js';
import { insertPayoutInClear } from '../testing/encrypted-fields.js';
import { TEST_FIELD_BLIND_INDEX_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD, TEST_FIELD_ENCRYPTION_KEYS } from '../testing/field-keys.js';
import { FIXTURE_NOW, creditOwner, insertAccount, insertChannel, insertSwap, randomEvmAddress } from '../testing/fixtures.js';
import { chainTransferSealedTables, openSignedTransaction, openTransferRecipient, retrieveChainTransfer, retrieveChainTransferAndAttempts, sealSignedTransaction } from './index.js';

/** `before`: test0 current (rows are sealed under it); `during` a rotation: test1 current, test0 still listed. */
const before = loadFieldCipher({ FIELD_ENCRYPTION_KEYS: `${TEST_FIELD_ENCRYPTION_KEY_OLD},${TEST_FIELD_ENCRYPTION_KEYS}`, FIELD_BLIND_INDEX_KEY: TEST_FIELD_BLIND_INDEX_KEY });
const during = loadFieldCipher({ FIELD_ENCRYPTION_KEYS: `${TEST_FIELD_ENCRYPTION_KEYS},${TEST_FIELD_ENCRYPTION_KEY_OLD}`, FIELD_BLIND_INDEX_KEY: TEST_FIELD_BLIND_INDEX_KEY });

const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}`;

/**
 * Transfers written before migration 033 (recipient and signed bytes in clear) are sealed by
 * `npm run reencrypt`: the owner's wallet and every signed byte string, each under its own AAD; a
 * swap's deposit address stays in clear. Resumable, idempotent, and key rotation re-wraps them.
 */
describe('sealing stored transfers (npm run reencrypt)', () => {
  let testDb: TestDatabase;
  const db = () => testDb.db;
  const wallet = randomEvmAddress();
  const deposit = randomEvmAddress();
  const bytes = { direct: hex(120), replacement: hex(120), swap: hex(120) };
  let directPayoutId = '';
  let swapPayoutId = '';

  async function insertClearTransfer(payoutId: string, to: string, signedTx: string, nonce: number): Promise<void> {
    await db().query(
      `INSERT INTO chain_transfers (payout_id, chain_id, from_address, to_address, asset, amount_units, nonce, gas_limit,
                                    max_fee_per_gas, max_priority_fee_per_gas, signed_tx, tx_hash, signed_at)
       VALUES ($1, 1, $2, $3, 'ETH', 1000, $4, 21000, 2, 1, $5, $6, $7)`,
      [payoutId, '0x' + '11'.repeat(20), to, nonce, signedTx, hex(32), FIXTURE_NOW],
    );
  }

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const owner = await insertAccount(db());
    const channel = await insertChannel(db(), { ownerAccountId: owner.id });
    await creditOwner(db(), channel.id, 'ETH', 2000n);
    directPayoutId = await insertPayoutInClear(db(), { channelId: channel.id, ownerAccountId: owner.id, wallet, at: FIXTURE_NOW });
    swapPayoutId = await insertPayoutInClear(db(), { channelId: channel.id, ownerAccountId: owner.id, wallet, at: FIXTURE_NOW });
    await insertSwap(db(), { id: swapPayoutId, asset: 'ETH', amountUnits: 1000n, destinationCurrency: 'ETH', destinationNetwork: 'ETH' }, { depositAddress: deposit });
    await insertClearTransfer(directPayoutId, wallet.toLowerCase(), bytes.direct, 1);
    await insertClearTransfer(swapPayoutId, deposit.toLowerCase(), bytes.swap, 2);
    await db().query(
      `INSERT INTO chain_transfer_replacements (payout_id, attempt, max_fee_per_gas, max_priority_fee_per_gas, signed_tx, tx_hash, signed_at)
       VALUES ($1, 2, 4, 2, $2, $3, $4)`,
      [directPayoutId, bytes.replacement, hex(32), FIXTURE_NOW],
    );
  });
  afterAll(() => testDb?.dispose());

  const inClear = async () =>
    (
      await db().query<{ n: number }>(
        `SELECT ((SELECT count(*) FROM chain_transfers WHERE signed_tx IS NOT NULL OR (to_address IS NOT NULL AND payout_id = $1))
               + (SELECT count(*) FROM chain_transfer_replacements WHERE signed_tx IS NOT NULL))::int AS n`,
        [directPayoutId],
      )
    ).rows[0]?.n;

  it('reads rows still in clear as they are', async () => {
    const transfer = await retrieveChainTransfer(db(), directPayoutId);
    expect(openTransferRecipient(directPayoutId, transfer!.recipient)).toBe(wallet.toLowerCase());
    const attempts = (await retrieveChainTransferAndAttempts(db(), transfer!.payoutId))!.attempts;
    expect(attempts.map((attempt) => openSignedTransaction(directPayoutId, attempt.attempt, attempt.signedTx))).toEqual([bytes.direct, bytes.replacement]);
  });

  it('seals the owner’s wallet and every signed byte string, batch by batch; a swap’s deposit address stays in clear', async () => {
    await reencryptFields(db(), before, chainTransferSealedTables, { batchSize: 1, stopAfterBatches: 1 });
    expect(await inClear()).toBeGreaterThan(0);
    const reports = await reencryptFields(db(), before, chainTransferSealedTables, { batchSize: 1 });
    expect(reports.reduce((sum, report) => sum + report.sealed, 0)).toBeGreaterThan(0);
    expect(await inClear()).toBe(0);

    const direct = await retrieveChainTransfer(db(), directPayoutId);
    expect(direct?.recipient.clear).toBeNull();
    expect(before.decrypt(direct?.recipient.ciphertext ?? '', fieldContext.transferRecipient(directPayoutId))).toBe(wallet.toLowerCase());
    expect(direct?.toAddressIndex).toEqual(before.walletIndex(wallet));
    expect(before.decrypt(direct?.signedTx.ciphertext ?? '', fieldContext.signedTransaction(directPayoutId, 1))).toBe(bytes.direct);
    const [, replacement] = (await retrieveChainTransferAndAttempts(db(), direct!.payoutId))!.attempts;
    expect(before.decrypt(replacement?.signedTx.ciphertext ?? '', fieldContext.signedTransaction(directPayoutId, 2))).toBe(bytes.replacement);
    // Bound to its attempt: the replacement's bytes do not open as attempt 1's.
    expect(() => before.decrypt(replacement?.signedTx.ciphertext ?? '', fieldContext.signedTransaction(directPayoutId, 1))).toThrow();

    const swap = await retrieveChainTransfer(db(), swapPayoutId);
    expect(swap?.recipient).toEqual({ clear: deposit.toLowerCase(), ciphertext: null });
    expect(swap?.signedTx.clear).toBeNull();

    const again = await reencryptFields(db(), before, chainTransferSealedTables);
    expect(again.map((report) => report.sealed + report.rewrapped)).toEqual([0, 0]);
  });

  it('re-wraps under the new key on rotation; the hash, the index and the bytes stay the same', async () => {
    const { rows: hashes } = await db().query('SELECT tx_hash, to_address_index FROM chain_transfers ORDER BY tx_hash');
    const reports = await reencryptFields(db(), during, chainTransferSealedTables);
    expect(reports.map((report) => report.rewrapped)).toEqual([3, 1]);
    expect((await db().query('SELECT tx_hash, to_address_index FROM chain_transfers ORDER BY tx_hash')).rows).toEqual(hashes);
    // The instance's keys (test1) now open everything, as send-transfer would.
    const direct = await retrieveChainTransfer(db(), directPayoutId);
    expect(openTransferRecipient(directPayoutId, direct!.recipient)).toBe(wallet.toLowerCase());
    const attempts = (await retrieveChainTransferAndAttempts(db(), direct!.payoutId))!.attempts;
    expect(attempts.map((attempt) => openSignedTransaction(directPayoutId, attempt.attempt, attempt.signedTx))).toEqual([bytes.direct, bytes.replacement]);
    expect(openSignedTransaction(swapPayoutId, 1, (await retrieveChainTransfer(db(), swapPayoutId))!.signedTx)).toBe(bytes.swap);
  });

  it('refuses to put sealed bytes back in clear or to re-point the recipient’s index', async () => {
    const refusal = (sql: string, params: unknown[]) => databaseRefusalOf(db().query(sql, params));
    expect(await refusal(`UPDATE chain_transfers SET signed_tx = $2, signed_tx_ciphertext = NULL WHERE payout_id = $1`, [directPayoutId, bytes.direct])).toMatchObject({
      constraint: 'chain_transfers_signed_immutable',
    });
    expect(await refusal(`UPDATE chain_transfers SET to_address_index = $2 WHERE payout_id = $1`, [directPayoutId, Buffer.alloc(32, 1)])).toMatchObject({
      constraint: 'chain_transfers_signed_immutable',
    });
    expect(
      await refusal(`UPDATE chain_transfer_replacements SET signed_tx = $2, signed_tx_ciphertext = NULL WHERE payout_id = $1`, [directPayoutId, bytes.replacement]),
    ).toMatchObject({ constraint: 'chain_transfer_replacements_immutable' });
    // A new key's bytes (a re-wrap) are allowed: the hash beside them still proves what is broadcast.
    const rewrapped = sealSignedTransaction(directPayoutId, 1, bytes.direct).ciphertext;
    await db().query('UPDATE chain_transfers SET signed_tx_ciphertext = $2 WHERE payout_id = $1', [directPayoutId, rewrapped]);
  });
});
