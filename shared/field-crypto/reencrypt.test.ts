import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountSealedTables, findAccountByEmail } from '../accounts/index.js';
import { channelSealedTables } from '../channels/index.js';
import { payoutSealedTables } from '../payouts/index.js';
import { createTestDatabase, hasPostgresServer, type TestDatabase } from '../testing/database.js';
import { channelWalletOf, insertPayoutInClear, withDestinationWallets } from '../testing/encrypted-fields.js';
import { TEST_FIELD_BLIND_INDEX_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD, TEST_FIELD_ENCRYPTION_KEYS } from '../testing/field-keys.js';
import { FIXTURE_NOW, creditOwner, insertAccount, insertChannel, insertSwap, randomEvmAddress } from '../testing/fixtures.js';
import { loadFieldCipher, reencryptFields } from './index.js';

/**
 * Key rings as an operator deploys them. `before`: test0 current (the fixtures' own rows, sealed
 * with test1, are moved to it too); `during` a rotation back: test1 first, test0 still listed.
 */
const before = loadFieldCipher({ FIELD_ENCRYPTION_KEYS: `${TEST_FIELD_ENCRYPTION_KEY_OLD},${TEST_FIELD_ENCRYPTION_KEYS}`, FIELD_BLIND_INDEX_KEY: TEST_FIELD_BLIND_INDEX_KEY });
const during = loadFieldCipher({ FIELD_ENCRYPTION_KEYS: `${TEST_FIELD_ENCRYPTION_KEYS},${TEST_FIELD_ENCRYPTION_KEY_OLD}`, FIELD_BLIND_INDEX_KEY: TEST_FIELD_BLIND_INDEX_KEY });
const TABLES = [...accountSealedTables, ...channelSealedTables, ...payoutSealedTables];
const CLEAR_EMAILS = ['first@example.com', 'Second@Example.com', 'third@example.com'];

describe('reencryptFields', () => {
  let testDb: TestDatabase;
  const db = () => testDb.db;
  const wallet = randomEvmAddress();
  let channelId = '';
  let payoutId = '';

  /** Rows as they stood before migration 029: every email and wallet in clear. */
  async function seedClearRows(): Promise<void> {
    for (const email of CLEAR_EMAILS) {
      await db().query(`INSERT INTO accounts (email, password_hash) VALUES ($1, '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo')`, [email]);
    }
    const owner = await insertAccount(db());
    await db().query(
      `INSERT INTO email_tokens (account_id, purpose, token_hash, new_email, created_at, expires_at) VALUES ($1, 'change_email', $2, 'next@example.com', $3, $3::timestamptz + interval '1 hour')`,
      [owner.id, Buffer.alloc(32, 7), FIXTURE_NOW],
    );
    const channel = await insertChannel(db(), { ownerAccountId: owner.id, payoutCurrency: 'XRP', payoutNetwork: 'XRP' });
    channelId = channel.id;
    await db().query(
      `UPDATE channels SET payout_wallet = $2, payout_extra_id = '12345', payout_wallet_ciphertext = NULL, payout_wallet_index = NULL, payout_wallet_hint = NULL WHERE id = $1`,
      [channel.id, wallet],
    );
    await creditOwner(db(), channel.id, 'ETH', 1000n);
    payoutId = await insertPayoutInClear(db(), { channelId: channel.id, ownerAccountId: owner.id, wallet, at: FIXTURE_NOW });
    await insertSwap(db(), { id: payoutId, asset: 'ETH', amountUnits: 1000n, destinationCurrency: 'ETH', destinationNetwork: 'ETH' });
  }

  const clearLeft = async () =>
    (
      await db().query<{ n: number }>(
        `SELECT ((SELECT count(*) FROM accounts WHERE email IS NOT NULL) + (SELECT count(*) FROM email_tokens WHERE new_email IS NOT NULL)
              + (SELECT count(*) FROM channels WHERE payout_wallet IS NOT NULL OR payout_extra_id IS NOT NULL)
              + (SELECT count(*) FROM payouts WHERE destination_wallet IS NOT NULL) + (SELECT count(*) FROM swaps WHERE payout_address IS NOT NULL))::int AS n`,
      )
    ).rows[0]?.n;
  const kids = async () =>
    (
      await db().query<{ kid: string }>(
        `SELECT DISTINCT split_part(v, '.', 2) AS kid FROM (
           SELECT email_ciphertext AS v FROM accounts UNION ALL SELECT new_email_ciphertext FROM email_tokens
           UNION ALL SELECT payout_wallet_ciphertext FROM channels UNION ALL SELECT payout_extra_id_ciphertext FROM channels
           UNION ALL SELECT destination_wallet_ciphertext FROM payouts UNION ALL SELECT payout_address_ciphertext FROM swaps) s WHERE v IS NOT NULL ORDER BY 1`,
      )
    ).rows.map((row) => row.kid);

  beforeAll(async () => {
    testDb = await createTestDatabase();
    await seedClearRows();
  });
  afterAll(() => testDb?.dispose());

  it('seals rows in clear batch by batch, resumes after an interruption, and then finds nothing to do', async () => {
    // Interrupted after two batches of one row: what it committed stays, the rest is still in clear.
    await reencryptFields(db(), before, TABLES, { batchSize: 1, stopAfterBatches: 2 });
    expect(await clearLeft()).toBeGreaterThan(0);
    const rest = await reencryptFields(db(), before, TABLES, { batchSize: 2 });
    expect(rest.reduce((sum, report) => sum + report.sealed, 0)).toBeGreaterThan(0);
    expect(await clearLeft()).toBe(0);
    expect(await kids()).toEqual(['test0']);
    const again = await reencryptFields(db(), before, TABLES);
    expect(again.every((report) => report.sealed === 0 && report.rewrapped === 0)).toBe(true);
  });

  it('re-wraps every value to the current key, with two runs at once splitting the rows, and the values read the same', async () => {
    const runs = await Promise.all([reencryptFields(db(), during, TABLES, { batchSize: 1 }), reencryptFields(db(), during, TABLES, { batchSize: 1 })]);
    const rewrapped = runs.flat().reduce((sum, report) => sum + report.rewrapped, 0);
    expect(rewrapped).toBe(CLEAR_EMAILS.length + 1 /* owner */ + 1 /* token */ + 2 /* wallet, extra id */ + 1 /* payout */ + 1 /* swap */);
    expect(await kids()).toEqual(['test1']);
    expect((await reencryptFields(db(), during, TABLES)).every((report) => report.rewrapped === 0)).toBe(true);
    // The application's key ring holds only the new key now, and reads every value.
    for (const email of CLEAR_EMAILS) expect((await findAccountByEmail(db(), email.toUpperCase()))?.email).toBe(email);
    expect(await channelWalletOf(db(), channelId)).toEqual({ wallet, extraId: '12345' });
    expect((await withDestinationWallets(db(), [{ id: payoutId }]))[0]?.destination_wallet).toBe(wallet);
  });

  it.skipIf(!hasPostgresServer)('keeps the checks that bind a swap to its payout after sealing', async () => {
    const { rows } = await db().query<{ same: boolean }>(
      'SELECT s.payout_address_index = p.destination_wallet_index AS same FROM swaps s JOIN payouts p ON p.id = s.payout_id WHERE p.id = $1',
      [payoutId],
    );
    expect(rows).toEqual([{ same: true }]);
  });
});
