import type { Queryable, Tx } from '../db/index.js';
import { enqueueMessage } from '../bus/index.js';
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

const ACCOUNT_COLUMNS = `id, email, password_hash, email_verified_at, status, telegram_user_id, telegram_linked_at, failed_login_count, locked_until, created_at`;

/** The account whose address is `email`, compared case-insensitively (the unique index is on lower(email)). */
export async function findAccountByEmail(q: Queryable, email: string): Promise<AccountRow | undefined> {
  const { rows } = await q.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE lower(email) = lower($1)`, [email.trim()]);
  return rows[0];
}

/** The id of the active account linked to this Telegram user, if any. The bot's owner commands. */
export async function findActiveAccountIdByTelegramUser(q: Queryable, telegramUserId: number): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM accounts WHERE telegram_user_id = $1 AND status = 'active'`, [telegramUserId]);
  return rows[0]?.id;
}

export async function retrieveAccountRow(q: Queryable, accountId: string, options: { forUpdate?: boolean } = {}): Promise<AccountRow | undefined> {
  const { rows } = await q.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [accountId]);
  return rows[0];
}

/** Queues a mail to the account (sent by `send-account-mail` after commit). */
export async function enqueueAccountMail(tx: Tx, input: { kind: AccountMailKind; accountId: string; address?: string; now: Date }): Promise<void> {
  await enqueueMessage(tx, 'account-mail-requested', { kind: input.kind, accountId: input.accountId, address: input.address ?? '' }, { at: input.now });
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
