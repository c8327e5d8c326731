import { accountEmailOf } from '../accounts/index.js';
import type { Db, Queryable } from '../db/index.js';
import { createPayout } from '../payouts/create-payout.js';
import { dropPayoutRequest } from './fixtures.js';
import { loadFieldCipher } from '../field-crypto/index.js';
import { clearWallet, openWallet, sealWallet, storedWalletColumns, storedWalletOf } from '../wallets/index.js';

/**
 * Tests look rows up by the values they typed, which the database now holds only sealed: these read
 * through the blind index and open the ciphertext, as production code does.
 */
export async function accountIdByEmail(q: Queryable, email: string): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>('SELECT id FROM accounts WHERE email_index = $1 OR lower(email) = lower($2)', [loadFieldCipher().emailIndex(email), email.trim()]);
  return rows[0]?.id;
}

/** The account's address, opened. */
export async function accountEmailById(q: Queryable, accountId: string): Promise<string> {
  const { rows } = await q.query<{ id: string; email: string | null; email_ciphertext: string | null }>('SELECT id, email, email_ciphertext FROM accounts WHERE id = $1', [accountId]);
  const row = rows[0];
  if (!row) throw new Error(`no account ${accountId}`);
  return accountEmailOf(row);
}

/** The blind index an account with this address is stored under. */
export function emailIndexOf(email: string): Buffer {
  return loadFieldCipher().emailIndex(email);
}

/** Points a channel's payout destination at `wallet` (sealed for its owner, as the dashboard writes it). */
export async function setChannelWallet(q: Queryable, channelId: string, wallet: string, extraId: string | null = null): Promise<void> {
  const { rows } = await q.query<{ owner_account_id: string }>('SELECT owner_account_id FROM channels WHERE id = $1', [channelId]);
  const owner = rows[0]?.owner_account_id;
  if (!owner) throw new Error(`no channel ${channelId}`);
  const sealed = sealWallet(owner, wallet, extraId);
  await q.query(
    `UPDATE channels SET payout_wallet = NULL, payout_extra_id = NULL, payout_wallet_ciphertext = $2, payout_wallet_index = $3,
            payout_wallet_hint = $4, payout_extra_id_ciphertext = $5, payout_extra_id_index = $6 WHERE id = $1`,
    [channelId, sealed.ciphertext, sealed.index, sealed.hint, sealed.extraIdCiphertext, sealed.extraIdIndex],
  );
}

/** A channel's payout wallet and extra id, opened. */
export async function channelWalletOf(q: Queryable, channelId: string): Promise<{ wallet: string; extraId: string | null }> {
  const { rows } = await q.query(`SELECT owner_account_id, ${storedWalletColumns('payout_wallet', 'payout_extra_id')} FROM channels WHERE id = $1`, [channelId]);
  const row = rows[0] as Record<string, unknown> | undefined;
  if (!row) throw new Error(`no channel ${channelId}`);
  return openWallet(row.owner_account_id as string, storedWalletOf(row, 'payout_wallet', 'payout_extra_id'));
}

/** Rows of `payouts` (with their `id`) given their destination wallet opened, as `destination_wallet`. */
export async function withDestinationWallets<Row extends { id: string }>(q: Queryable, rows: Row[]): Promise<(Row & { destination_wallet: string })[]> {
  const opened: (Row & { destination_wallet: string })[] = [];
  for (const row of rows) {
    const { rows: stored } = await q.query(`SELECT owner_account_id, ${storedWalletColumns('destination_wallet', 'destination_extra_id')} FROM payouts WHERE id = $1`, [row.id]);
    const columns = stored[0] as Record<string, unknown>;
    opened.push({ ...row, destination_wallet: openWallet((columns.owner_account_id as string | null) ?? null, storedWalletOf(columns, 'destination_wallet', 'destination_extra_id')).wallet });
  }
  return opened;
}

/** A threshold payout of the channel written as before migration 029: its destination in clear. */
export async function insertPayoutInClear(db: Db, input: { channelId: string; ownerAccountId: string; wallet: string; at: Date }): Promise<string> {
  return db.transaction(async (tx) => {
    const id = await createPayout(tx, {
      kind: 'threshold',
      channelId: input.channelId,
      ownerAccountId: input.ownerAccountId,
      asset: 'ETH',
      amountUnits: 1000n,
      amountUsdCents: null,
      destination: { currency: 'ETH', network: 'ETH', stored: clearWallet(input.wallet) },
      at: input.at,
    });
    await dropPayoutRequest(tx, id);
    return id;
  });
}
