import { createHash, randomBytes } from 'node:crypto';
import { enqueueMessages, outboxMessage, type OutboxMessage } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Queryable, Tx } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { grantFreePeriod } from '../subscriptions/index.js';
import { type TelegramUserProfile, upsertTelegramUser } from '../telegram-users/index.js';
import type { GiftStatus } from './gift-status.js';

/** How long a gift waits for its recipient before it expires. */
export const GIFT_CLAIM_DAYS = 30;
const DAY_MS = 86_400_000;

export interface GiftDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

function hashClaimCode(code: string): Buffer {
  return createHash('sha256').update(code, 'utf8').digest();
}

/**
 * Settlement of a gift checkout (in the settlement transaction): the gift row instead of the buyer's
 * access, once per payment (gifts.payment_id UNIQUE), and the buyer's DM with the claim link queued.
 * The claim code is made by that DM's stage (`issueGiftClaimCode`), so it never sits in the outbox.
 */
export async function createGift(
  tx: Tx,
  input: { paymentId: string; buyerTelegramUserId: bigint; channelId: string; tierId: string | null; durationDays: number; now: Date },
  followUps: OutboxMessage[],
): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO gifts (payment_id, buyer_telegram_user_id, channel_id, tier_id, duration_days, status, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)
     ON CONFLICT (payment_id) DO UPDATE SET payment_id = EXCLUDED.payment_id
     RETURNING id`,
    [input.paymentId, input.buyerTelegramUserId, input.channelId, input.tierId, input.durationDays, input.now, new Date(input.now.getTime() + GIFT_CLAIM_DAYS * DAY_MS)],
  );
  const giftId = (rows[0] as { id: string }).id;
  followUps.push(outboxMessage('subscriber-notification-requested', { kind: 'gift_ready', subjectId: giftId }, { at: input.now, dedupeKey: `gift_ready:${giftId}` }));
  return giftId;
}

/**
 * A fresh claim code for a pending gift: its hash replaces the stored one, so only the code in the
 * newest DM claims it (a DM re-sent after a crash, or "new link" from /gifts, retires the old link).
 * `undefined` once the gift is claimed or expired.
 */
export async function issueGiftClaimCode(q: Queryable, giftId: string): Promise<string | undefined> {
  const code = randomBytes(24).toString('base64url');
  const { rowCount } = await q.query(`UPDATE gifts SET claim_code_hash = $2 WHERE id = $1 AND status = 'pending'`, [giftId, hashClaimCode(code)]);
  return rowCount === 1 ? code : undefined;
}

/** What the recipient sees before claiming, and the buyer in /gifts. */
export interface GiftView {
  id: string;
  status: GiftStatus;
  channelId: string;
  title: string;
  durationDays: number;
  buyerTelegramUserId: bigint;
  buyerFirstName: string | null;
  expiresAt: Date;
  claimedByTelegramUserId: bigint | null;
  claimedByFirstName: string | null;
  isChannelLive: boolean;
}

interface GiftViewRow {
  id: string;
  status: GiftStatus;
  channel_id: string;
  closed_title: string;
  duration_days: number;
  buyer_telegram_user_id: bigint;
  buyer_first_name: string | null;
  expires_at: Date;
  claimed_by_telegram_user_id: bigint | null;
  claimed_by_first_name: string | null;
  is_channel_live: boolean;
}

const GIFT_VIEW = `
  SELECT g.id, g.status, g.channel_id, c.closed_title, g.duration_days, g.buyer_telegram_user_id, b.first_name AS buyer_first_name,
         g.expires_at, g.claimed_by_telegram_user_id, r.first_name AS claimed_by_first_name,
         (c.status = 'active' AND c.deleted_at IS NULL) AS is_channel_live, g.created_at
    FROM gifts g
    JOIN channels c ON c.id = g.channel_id
    JOIN telegram_users b ON b.id = g.buyer_telegram_user_id
    LEFT JOIN telegram_users r ON r.id = g.claimed_by_telegram_user_id`;

function toView(row: GiftViewRow): GiftView {
  return {
    id: row.id,
    status: row.status,
    channelId: row.channel_id,
    title: row.closed_title,
    durationDays: row.duration_days,
    buyerTelegramUserId: BigInt(row.buyer_telegram_user_id),
    buyerFirstName: row.buyer_first_name,
    expiresAt: row.expires_at,
    claimedByTelegramUserId: row.claimed_by_telegram_user_id === null ? null : BigInt(row.claimed_by_telegram_user_id),
    claimedByFirstName: row.claimed_by_first_name,
    isChannelLive: row.is_channel_live,
  };
}

/** The gift a claim code names; `undefined` for a code that names none (made up, or replaced by a newer link). */
export async function findGiftByCode(q: Queryable, code: string): Promise<GiftView | undefined> {
  const { rows } = await q.query<GiftViewRow>(`${GIFT_VIEW} WHERE g.claim_code_hash = $1`, [hashClaimCode(code)]);
  return rows[0] ? toView(rows[0]) : undefined;
}

export async function retrieveGift(q: Queryable, giftId: string): Promise<GiftView | undefined> {
  const { rows } = await q.query<GiftViewRow>(`${GIFT_VIEW} WHERE g.id = $1`, [giftId]);
  return rows[0] ? toView(rows[0]) : undefined;
}

/** A buyer's gifts, newest first (the bot's /gifts). */
export async function listBuyerGifts(q: Queryable, buyerTelegramUserId: bigint, limit = 20): Promise<GiftView[]> {
  const { rows } = await q.query<GiftViewRow>(`${GIFT_VIEW} WHERE g.buyer_telegram_user_id = $1 ORDER BY g.created_at DESC LIMIT $2`, [buyerTelegramUserId, limit]);
  return rows.map(toView);
}

/**
 * What a Claim press ended in:
 * - `claimed`: the claimer's subscription is extended (stacking on an existing one) until `expiresAt`
 *   and the invite is on its way; also what a repeated press by the same claimer answers;
 * - `own_gift`: the buyer pressed it: a gift is for someone else (forward the link);
 * - `already_claimed`: someone else claimed it first; `expired`: 30 days passed;
 * - `channel_unavailable`: the channel is paused or deleted (the gift stays pending);
 * - `not_found`: the code names no gift (made up, or replaced by a newer link).
 */
export type GiftClaimOutcome =
  | { outcome: 'claimed'; giftId: string; title: string; expiresAt: Date; isRepeat: boolean }
  | { outcome: 'own_gift' | 'already_claimed' | 'expired' | 'channel_unavailable' | 'not_found' };

/**
 * Claims a gift: one conditional UPDATE (pending, not past its expiry, not the buyer) decides
 * between concurrent claimers — the second waits on the row and then matches nothing — and in the
 * same transaction the claimer's period is granted (subscription_periods.gift_id UNIQUE) and the
 * invite queued (keyed by the gift). A redelivered update finds the gift claimed by the same user and
 * answers as before, granting nothing more.
 */
export async function claimGift(deps: GiftDeps, input: { user: TelegramUserProfile; code: string }): Promise<GiftClaimOutcome> {
  const result = await deps.db.transaction(async (tx): Promise<GiftClaimOutcome> => {
    const now = deps.clock.now();
    await upsertTelegramUser(tx, input.user);
    const { rows } = await tx.query<{ id: string; channel_id: string; duration_days: number; closed_title: string; owner_account_id: string }>(
      `UPDATE gifts g SET status = 'claimed', claimed_by_telegram_user_id = $2, claimed_at = $3
         FROM channels c
        WHERE g.claim_code_hash = $1 AND g.status = 'pending' AND g.expires_at > $3 AND g.buyer_telegram_user_id <> $2
          AND c.id = g.channel_id AND c.status = 'active' AND c.deleted_at IS NULL
        RETURNING g.id, g.channel_id, g.duration_days, c.closed_title, c.owner_account_id`,
      [hashClaimCode(input.code), input.user.id, now],
    );
    const claimed = rows[0];
    if (!claimed) return whyNotClaimed(tx, input.user.id, input.code, now);
    const extension = await grantFreePeriod(tx, {
      telegramUserId: input.user.id,
      channelId: claimed.channel_id,
      ownerAccountId: claimed.owner_account_id,
      grant: { kind: 'gift', id: claimed.id },
      durationDays: claimed.duration_days,
      now,
    });
    return { outcome: 'claimed', giftId: claimed.id, title: claimed.closed_title, expiresAt: extension.expiresAt, isRepeat: false };
  });
  if (result.outcome === 'claimed' && !result.isRepeat) deps.logger.info('gift.claimed', { giftId: result.giftId, expiresAt: result.expiresAt });
  else deps.logger.info('gift.claim_refused', { outcome: result.outcome });
  return result;
}

async function whyNotClaimed(tx: Tx, userId: bigint, code: string, now: Date): Promise<GiftClaimOutcome> {
  const gift = await findGiftByCode(tx, code);
  if (!gift) return { outcome: 'not_found' };
  if (gift.buyerTelegramUserId === userId) return { outcome: 'own_gift' };
  if (gift.status === 'claimed' && gift.claimedByTelegramUserId === userId) {
    const { rows } = await tx.query<{ ends_at: Date }>('SELECT ends_at FROM subscription_periods WHERE gift_id = $1', [gift.id]);
    return { outcome: 'claimed', giftId: gift.id, title: gift.title, expiresAt: rows[0]?.ends_at ?? now, isRepeat: true };
  }
  if (gift.status === 'claimed') return { outcome: 'already_claimed' };
  if (gift.status === 'expired' || gift.expiresAt <= now) return { outcome: 'expired' };
  return { outcome: 'channel_unavailable' };
}

/**
 * The gift sweep (run by expire-subscriptions every minute): pending gifts past their 30 days become
 * expired and the buyer's DM is queued, in one transaction per batch, so a crash or an overlapping run
 * expires and tells each gift once (the conditional UPDATE and the notice's dedupe key). The money is
 * not refunded: the owner was paid at settlement, like any payment.
 */
export async function expireUnclaimedGifts(deps: GiftDeps, batchSize = 100): Promise<number> {
  const expired = await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const { rows } = await tx.query<{ id: string }>(
      `UPDATE gifts SET status = 'expired', expired_at = $1
        WHERE id IN (SELECT id FROM gifts WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING id`,
      [now, batchSize],
    );
    await enqueueMessages(
      tx,
      rows.map((row) => outboxMessage('subscriber-notification-requested', { kind: 'gift_expired', subjectId: row.id }, { at: now, dedupeKey: `gift_expired:${row.id}` })),
    );
    return rows.length;
  });
  if (expired > 0) deps.logger.info('gifts.expired', { count: expired });
  return expired;
}

/**
 * The gift's payment was refunded after settlement (in the refund's transaction): a gift nobody
 * claimed yet can no longer be claimed (expired now, the buyer is not told: they got the refund).
 * A claimed gift's access stays: it was given to someone else. Returns whether a gift was withdrawn.
 */
export async function withdrawPendingGift(tx: Tx, paymentId: string, now: Date): Promise<boolean> {
  const { rowCount } = await tx.query(`UPDATE gifts SET status = 'expired', expired_at = $2 WHERE payment_id = $1 AND status = 'pending'`, [paymentId, now]);
  return rowCount === 1;
}

/** A channel's gifts by status, for the owner's dashboard. */
export interface GiftFigures {
  sold: number;
  pending: number;
  claimed: number;
  expired: number;
}

export async function giftFigures(q: Queryable, channelId: string): Promise<GiftFigures> {
  const { rows } = await q.query<{ status: GiftStatus; count: string }>('SELECT status, count(*)::text AS count FROM gifts WHERE channel_id = $1 GROUP BY status', [channelId]);
  const count = (status: GiftStatus) => Number(rows.find((row) => row.status === status)?.count ?? 0);
  return { sold: count('pending') + count('claimed') + count('expired'), pending: count('pending'), claimed: count('claimed'), expired: count('expired') };
}
