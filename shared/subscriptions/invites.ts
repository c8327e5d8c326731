import type { Api } from 'grammy';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { languageOf, translate } from '../texts/index.js';
import { isTelegramUserUnreachable, toTelegramError } from '../telegram/index.js';
import { subscriptionError } from './errors.js';
import { type AccessGrant, grantColumn } from './extend.js';
import { markDirectMessagesBlocked } from '../telegram-users/index.js';

export interface InviteDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  telegram: Api;
  /** How long a one-time link stays valid. Default 1 hour. */
  linkValiditySeconds?: number;
}

interface InviteContext {
  /** The access grant's id: a payment's, a trial's or a gift's. */
  grant_id: string;
  grant_kind: AccessGrant['kind'];
  telegram_user_id: bigint;
  language_code: string | null;
  subscription_id: string;
  subscription_status: string;
  expires_at: Date;
  closed_chat_id: bigint;
  closed_title: string;
  link_id: string | null;
  invite_link: string | null;
  link_expires_at: Date | null;
  sent_at: Date | null;
  joined_at: Date | null;
}

export type InviteOutcome = 'sent' | 'already_sent' | 'subscription_inactive';

/**
 * How long a delivery holds the invite DM it is sending: far longer than one sendMessage takes, short
 * enough that a sender that stopped mid-way is taken over by the message's next retry.
 */
export const INVITE_SEND_CLAIM_MS = 60_000;

const LINK_NAME_PREFIX: Record<AccessGrant['kind'], string> = { payment: 'pay', trial: 'trial', gift: 'gift' };

/** Telegram link names are at most 32 characters: the grant's kind and up to 28 hex digits of its id. */
function linkNameFor(grant: AccessGrant): string {
  const prefix = `${LINK_NAME_PREFIX[grant.kind]}:`;
  return `${prefix}${grant.id.replaceAll('-', '').slice(0, 32 - prefix.length)}`;
}

function grantOf(context: InviteContext): AccessGrant {
  return { kind: context.grant_kind, id: context.grant_id };
}

// uuids do not collide across tables, so the grant is found by its id alone, whichever kind it is.
async function loadContext(db: Db, grantId: string): Promise<InviteContext> {
  const { rows } = await db.query<InviteContext>(
    `SELECT $1::uuid AS grant_id,
            CASE WHEN sp.payment_id IS NOT NULL THEN 'payment' WHEN sp.trial_id IS NOT NULL THEN 'trial' ELSE 'gift' END AS grant_kind,
            s.telegram_user_id, u.language_code, s.id AS subscription_id, s.status AS subscription_status,
            s.expires_at, c.closed_chat_id, c.closed_title,
            l.id AS link_id, l.invite_link, l.expires_at AS link_expires_at, l.sent_at, l.joined_at
     FROM subscription_periods sp
     JOIN subscriptions s ON s.id = sp.subscription_id
     JOIN channels c ON c.id = s.channel_id
     JOIN telegram_users u ON u.id = s.telegram_user_id
     LEFT JOIN invite_links l ON l.payment_id = $1::uuid OR l.trial_id = $1::uuid OR l.gift_id = $1::uuid
     WHERE sp.payment_id = $1::uuid OR sp.trial_id = $1::uuid OR sp.gift_id = $1::uuid`,
    [grantId],
  );
  const context = rows[0];
  if (!context) throw subscriptionError('unknown_payment', 'No settled payment, trial or claimed gift has this id', { grantId });
  return context;
}

/**
 * The send-invite stage: one invite link per access grant — a settled payment, a trial or a claimed
 * gift, named by `grantId` (member_limit 1, short expiry, named after the grant), stored before it is sent and reused on every redelivery; a replacement (with the
 * old one revoked) only when the stored link expired unused. Then the subscriber's DM with the link
 * and their expiry. A user who blocked the bot is recorded and the message dead-lettered, never
 * retried.
 */
export async function sendInvite(deps: InviteDeps, grantId: string): Promise<InviteOutcome> {
  let context = await loadContext(deps.db, grantId);
  const now = deps.clock.now();
  if (context.subscription_status !== 'active' || context.expires_at <= now) {
    deps.logger.warn('invite.subscription_inactive', { paymentId: grantId, subscriptionId: context.subscription_id });
    return 'subscription_inactive';
  }
  const isExpiredUnused = context.link_expires_at !== null && context.link_expires_at <= now && context.joined_at === null;
  if (context.sent_at && !isExpiredUnused) return 'already_sent';

  let isClaimed = false;
  if (!context.invite_link || isExpiredUnused) {
    ({ context, isClaimed } = await issueLink(deps, context, now));
    if (!isClaimed && context.sent_at) return 'already_sent'; // another delivery's link, sent already
  }
  await deliverInvite(deps, context, isClaimed);
  return 'sent';
}

/** Creates the grant's link (or its replacement) and stores it; `isClaimed` when this delivery stored it, and so holds its DM. */
async function issueLink(deps: InviteDeps, context: InviteContext, now: Date): Promise<{ context: InviteContext; isClaimed: boolean }> {
  const chatId = Number(context.closed_chat_id);
  const expiresAt = new Date(now.getTime() + (deps.linkValiditySeconds ?? 3600) * 1000);
  if (context.invite_link) {
    await deps.telegram.revokeChatInviteLink(chatId, context.invite_link).catch((error: unknown) => {
      deps.logger.warn('invite.revoke_failed', { paymentId: context.grant_id, error: toTelegramError(error) });
    });
  }
  let created;
  try {
    created = await deps.telegram.createChatInviteLink(chatId, {
      name: linkNameFor(grantOf(context)),
      expire_date: Math.floor(expiresAt.getTime() / 1000),
      member_limit: 1,
    });
  } catch (error) {
    throw toTelegramError(error, { paymentId: context.grant_id, operation: 'createChatInviteLink' });
  }
  // One statement each (its own transaction): the replacement only of the link this delivery saw, the
  // first link only if no delivery stored one.
  const claimedUntil = new Date(now.getTime() + INVITE_SEND_CLAIM_MS);
  const { rowCount } = context.link_id
    ? await deps.db.query(
        `UPDATE invite_links SET invite_link = $2, name = $3, created_at = $4, expires_at = $5, sent_at = NULL, revoked_at = NULL, send_claimed_until = $7
         WHERE id = $1 AND joined_at IS NULL AND invite_link = $6`,
        [context.link_id, created.invite_link, created.name ?? linkNameFor(grantOf(context)), now, expiresAt, context.invite_link, claimedUntil],
      )
    : await deps.db.query(
        `INSERT INTO invite_links (${grantColumn(grantOf(context))}, subscription_id, chat_id, invite_link, name, created_at, expires_at, send_claimed_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (${grantColumn(grantOf(context))}) DO NOTHING`,
        [context.grant_id, context.subscription_id, context.closed_chat_id, created.invite_link, created.name ?? linkNameFor(grantOf(context)), now, expiresAt, claimedUntil],
      );
  const stored = rowCount === 1;
  deps.logger.info('invite.link_created', { paymentId: context.grant_id, grantKind: context.grant_kind, isStored: stored });
  if (stored) return { context: { ...context, invite_link: created.invite_link, link_expires_at: expiresAt, sent_at: null, joined_at: null }, isClaimed: true };
  // A concurrent delivery stored its link first: ours must not stay usable, and theirs is the one to send.
  await deps.telegram.revokeChatInviteLink(chatId, created.invite_link).catch(() => undefined);
  return { context: await loadContext(deps.db, context.grant_id), isClaimed: false };
}

/**
 * DMs the stored link, holding the row's send claim: taken with the link when this delivery stored it
 * (`isClaimed`), else taken over here if it ran out; while another delivery holds it, this one is told
 * to retry (`invite_in_progress`) and then finds the link sent. A failed DM releases the claim.
 */
async function deliverInvite(deps: InviteDeps, context: InviteContext, isClaimed: boolean): Promise<void> {
  if (!context.invite_link || !context.link_expires_at) throw subscriptionError('invite_link_missing', 'invite link missing after issue');
  const grant = grantColumn(grantOf(context));
  if (!isClaimed) {
    const now = deps.clock.now();
    const { rowCount } = await deps.db.query(
      `UPDATE invite_links SET send_claimed_until = $2
        WHERE ${grant} = $1 AND invite_link = $4 AND sent_at IS NULL AND (send_claimed_until IS NULL OR send_claimed_until <= $3)`,
      [context.grant_id, new Date(now.getTime() + INVITE_SEND_CLAIM_MS), now, context.invite_link],
    );
    if (rowCount !== 1) throw subscriptionError('invite_in_progress', 'Another delivery is sending this invite', { grantId: context.grant_id });
  }
  const text = translate(languageOf(context.language_code), 'dmInviteReady', context.closed_title, context.invite_link, context.link_expires_at, context.expires_at);
  try {
    await deps.telegram.sendMessage(Number(context.telegram_user_id), text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
  } catch (error) {
    await deps.db.query(`UPDATE invite_links SET send_claimed_until = NULL WHERE ${grant} = $1 AND sent_at IS NULL`, [context.grant_id]).catch(() => undefined);
    const failure = toTelegramError(error, { paymentId: context.grant_id, operation: 'sendMessage' });
    if (isTelegramUserUnreachable(error)) {
      await markDirectMessagesBlocked(deps.db, context.telegram_user_id, deps.clock.now());
      deps.logger.warn('invite.user_unreachable', { paymentId: context.grant_id });
    }
    throw failure;
  }
  await deps.db.query(`UPDATE invite_links SET sent_at = $2 WHERE ${grantColumn(grantOf(context))} = $1 AND sent_at IS NULL`, [context.grant_id, deps.clock.now()]);
  deps.logger.info('invite.sent', { paymentId: context.grant_id, grantKind: context.grant_kind, subscriptionId: context.subscription_id });
}
