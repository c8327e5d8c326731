import type { Queryable, Tx } from '../db/index.js';
import { enqueueMessage } from '../bus/index.js';
import { fieldContext, fieldCryptoError, loadFieldCipher, maskEmail } from '../field-crypto/index.js';
import type { AccountMailKind } from '../messages/index.js';
import { recordAuditEvent } from '../audit/index.js';
import type { RequestOrigin } from './account-deps.js';

export interface AccountRow {
  id: string;
  email: string;
  password_hash: string;
  email_verified_at: Date | null;
  status: 'active' | 'disabled' | 'deleted';
  telegram_user_id: bigint | null;
  telegram_linked_at: Date | null;
  failed_login_count: number;
  locked_until: Date | null;
  created_at: Date;
}

const ACCOUNT_COLUMNS = `id, email, email_ciphertext, password_hash, email_verified_at, status, telegram_user_id, telegram_linked_at, failed_login_count, locked_until, created_at`;

type StoredAccountRow = Omit<AccountRow, 'email'> & { email: string | null; email_ciphertext: string | null };

/**
 * An account's address from its row: the ciphertext opened, or the clear value of a row written
 * before migration 029 that `npm run reencrypt` has not sealed yet (both shapes are read).
 */
export function accountEmailOf(row: { id: string; email: string | null; email_ciphertext: string | null }): string {
  if (row.email !== null) return row.email;
  if (row.email_ciphertext === null) throw fieldCryptoError('field_decryption_failed', 'the account has no email in either shape', { accountId: row.id });
  return loadFieldCipher().decrypt(row.email_ciphertext, fieldContext.email(row.id));
}

function openAccountRow(row: StoredAccountRow | undefined): AccountRow | undefined {
  if (!row) return undefined;
  const { email_ciphertext: _sealed, ...rest } = row;
  return { ...rest, email: accountEmailOf(row) };
}

/** The stored columns of an account's address: ciphertext, blind index, and the masked hint. */
export function sealAccountEmail(accountId: string, email: string): { ciphertext: string; index: Buffer; hint: string } {
  const cipher = loadFieldCipher();
  return { ciphertext: cipher.encrypt(email, fieldContext.email(accountId)), index: cipher.emailIndex(email), hint: maskEmail(email) };
}

/** SQL matching an account by address: the blind index ($1), or a row still in clear ($2). */
export const ACCOUNT_EMAIL_MATCH = `(email_index = $1 OR (email IS NOT NULL AND lower(email) = lower($2)))`;

/** Parameters for `ACCOUNT_EMAIL_MATCH`. */
export function accountEmailMatchParams(email: string): [Buffer, string] {
  return [loadFieldCipher().emailIndex(email), email.trim()];
}

/** The account whose address is `email`, compared case-insensitively (blind index, or lower(email) for rows still in clear). */
export async function findAccountByEmail(q: Queryable, email: string): Promise<AccountRow | undefined> {
  const { rows } = await q.query<StoredAccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE ${ACCOUNT_EMAIL_MATCH}`, accountEmailMatchParams(email));
  return openAccountRow(rows[0]);
}

/** The id of the active account linked to this Telegram user, if any. The bot's owner commands. */
export async function findActiveAccountIdByTelegramUser(q: Queryable, telegramUserId: number): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM accounts WHERE telegram_user_id = $1 AND status = 'active'`, [telegramUserId]);
  return rows[0]?.id;
}

export async function retrieveAccountRow(q: Queryable, accountId: string, options: { forUpdate?: boolean } = {}): Promise<AccountRow | undefined> {
  const { rows } = await q.query<StoredAccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [accountId]);
  return openAccountRow(rows[0]);
}

/**
 * Queues a mail to the account (sent by `send-account-mail` after commit). The other address, if
 * any, travels sealed for this account (the outbox row and the Pub/Sub message hold no address).
 */
export async function enqueueAccountMail(tx: Tx, input: { kind: AccountMailKind; accountId: string; address?: string; now: Date }): Promise<void> {
  const address = input.address ? loadFieldCipher().encrypt(input.address, fieldContext.mailAddress(input.accountId)) : '';
  await enqueueMessage(tx, 'account-mail-requested', { kind: input.kind, accountId: input.accountId, address }, { at: input.now });
}

/** The other address of an `account-mail-requested` message, opened; '' when it has none. */
export function mailAddressOf(request: { accountId: string; address: string }): string {
  return request.address === '' ? '' : loadFieldCipher().decrypt(request.address, fieldContext.mailAddress(request.accountId));
}

/**
 * An auth event in `audit_log`: the account acted on itself (or, without `accountId`, an unknown
 * caller did). `details` never holds a password, token or full email body; the IP goes in as seen.
 */
export async function auditAuthEvent(
  tx: Tx,
  input: { action: string; accountId?: string; now: Date; origin: RequestOrigin; details?: Record<string, unknown> },
): Promise<void> {
  await recordAuditEvent(tx, {
    occurredAt: input.now,
    actor: input.accountId ? { type: 'account', id: input.accountId } : { type: 'system' },
    action: input.action,
    subject: input.accountId ? { type: 'account', id: input.accountId } : undefined,
    details: { ...(input.details ?? {}), ...(input.origin.ip ? { ip: input.origin.ip } : {}) },
    requestId: input.origin.requestId,
  });
}

/** The domain of an address, for audit details that must not keep the whole address. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}
