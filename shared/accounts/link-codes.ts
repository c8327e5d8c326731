import { maskEmail } from '../field-crypto/index.js';
import { createHash, randomBytes } from 'node:crypto';
import { type TelegramUserProfile, upsertTelegramUser } from '../telegram-users/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Tx } from '../db/index.js';
import { isUniqueViolation } from '../db/index.js';
import { recordAuditEvent } from '../audit/index.js';
import { enqueueAccountMail } from './account-records.js';

/**
 * One-time codes that link a dashboard account to the owner's Telegram identity: the dashboard
 * issues one (`issueLinkCode`), shows the deep link `t.me/<bot>?start=link_<code>`, and the bot
 * redeems it (`redeemLinkCode`). Only the SHA-256 of a code is stored.
 */

/** A raw code: 32 base64url characters (24 random bytes), so `link_<code>` fits a 64-character start parameter. */
export const LINK_CODE_PATTERN = /^[A-Za-z0-9_-]{16,59}$/;

/** How long an issued code may be redeemed. */
export const DEFAULT_LINK_CODE_TTL_SECONDS = 15 * 60;

/** The 32-byte SHA-256 of the code's UTF-8 text: what `telegram_link_codes.code_hash` holds. */
export function hashLinkCode(code: string): Buffer {
  return createHash('sha256').update(code, 'utf8').digest();
}

export interface IssuedLinkCode {
  id: string;
  /** Shown to the owner once; never stored. */
  code: string;
  expiresAt: Date;
}

/**
 * Creates a code for `accountId`, revoking the account's live one ("latest wins": the unique index
 * allows one live code per account). Runs in the caller's transaction.
 */
export async function issueLinkCode(tx: Tx, input: { accountId: string; now: Date; ttlSeconds?: number }): Promise<IssuedLinkCode> {
  const code = randomBytes(24).toString('base64url');
  const expiresAt = new Date(input.now.getTime() + (input.ttlSeconds ?? DEFAULT_LINK_CODE_TTL_SECONDS) * 1000);
  await tx.query('UPDATE telegram_link_codes SET revoked_at = $2 WHERE account_id = $1 AND used_at IS NULL AND revoked_at IS NULL', [
    input.accountId,
    input.now,
  ]);
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO telegram_link_codes (account_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`,
    [input.accountId, hashLinkCode(code), input.now, expiresAt],
  );
  return { id: rows[0]!.id, code, expiresAt };
}

/**
 * Why a code was refused: `unknown` (malformed or never issued), `expired`, `used` (already
 * redeemed or replaced by a newer code), `account_inactive` (disabled or deleted account),
 * `telegram_taken` (this Telegram user is linked to another account).
 */
export type LinkRefusal = 'unknown' | 'expired' | 'used' | 'account_inactive' | 'telegram_taken';

export type LinkOutcome = { outcome: 'linked'; accountId: string; /** The account's address masked (`o…@example.com`): the bot holds no field key. */ emailHint: string } | { outcome: 'refused'; reason: LinkRefusal };

export interface LinkCodeDeps {
  db: Db;
  clock: Clock;
}

class Refused extends Error {
  constructor(readonly reason: LinkRefusal) {
    super(reason);
  }
}

interface CodeRow {
  id: string;
  account_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  status: string;
  email: string | null;
  email_hint: string | null;
  telegram_user_id: bigint | null;
}

/**
 * Redeems a code for the Telegram user who sent it: in one transaction the code is marked used
 * (conditionally, so two racing redemptions cannot both succeed), the user is upserted and the
 * account points at them (replacing an earlier link of the same account), and unless the same user
 * was linked already the owner is mailed a `telegram_linked` notice. A refusal changes nothing.
 */
export async function redeemLinkCode(deps: LinkCodeDeps, input: { code: string; user: TelegramUserProfile }): Promise<LinkOutcome> {
  if (!LINK_CODE_PATTERN.test(input.code)) return { outcome: 'refused', reason: 'unknown' };
  try {
    return await deps.db.transaction(async (tx) => {
      const now = deps.clock.now();
      const { rows } = await tx.query<CodeRow>(
        `SELECT c.id, c.account_id, c.expires_at, c.used_at, c.revoked_at, a.status, a.email_hint, a.email, a.telegram_user_id
         FROM telegram_link_codes c JOIN accounts a ON a.id = c.account_id
         WHERE c.code_hash = $1
         FOR UPDATE OF c`,
        [hashLinkCode(input.code)],
      );
      const code = rows[0];
      if (!code) throw new Refused('unknown');
      if (code.used_at || code.revoked_at) throw new Refused('used');
      if (code.expires_at <= now) throw new Refused('expired');
      if (code.status !== 'active') throw new Refused('account_inactive');

      const { rows: taken } = await tx.query<{ id: string }>('SELECT id FROM accounts WHERE telegram_user_id = $1 AND id <> $2', [
        input.user.id,
        code.account_id,
      ]);
      if (taken.length > 0) throw new Refused('telegram_taken');

      await upsertTelegramUser(tx, input.user);
      const { rowCount } = await tx.query(
        `UPDATE telegram_link_codes SET used_at = $2, used_by_telegram_user_id = $3
         WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`,
        [code.id, now, input.user.id],
      );
      if (rowCount !== 1) throw new Refused('used');
      await tx.query(
        `UPDATE accounts SET telegram_user_id = $2,
           telegram_linked_at = CASE WHEN telegram_user_id = $2 THEN telegram_linked_at ELSE $3 END, updated_at = $3
         WHERE id = $1`,
        [code.account_id, input.user.id, now],
      );
      const previous = code.telegram_user_id === null ? null : BigInt(code.telegram_user_id);
      await recordAuditEvent(tx, {
        occurredAt: now,
        actor: { type: 'telegram_user', id: input.user.id.toString() },
        action: 'account.telegram_linked',
        subject: { type: 'account', id: code.account_id },
        details: { codeId: code.id, previousTelegramUserId: previous?.toString() ?? null },
      });
      // The owner hears of every new link (a re-link needed the password when the code was issued).
      if (previous !== input.user.id) await enqueueAccountMail(tx, { kind: 'telegram_linked', accountId: code.account_id, now });
      return { outcome: 'linked' as const, accountId: code.account_id, emailHint: code.email_hint ?? maskEmail(code.email ?? '') };
    });
  } catch (error) {
    if (error instanceof Refused) return { outcome: 'refused', reason: error.reason };
    // Two accounts' codes redeemed by one Telegram user at the same moment: one of them wins.
    if (isUniqueViolation(error)) return { outcome: 'refused', reason: 'telegram_taken' };
    throw error;
  }
}
