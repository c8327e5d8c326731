import { randomUUID } from 'node:crypto';
import type { OnDemandBotApi } from '../telegram/index.js';
import { enqueueAccountMail } from '../accounts/index.js';
import { recordAuditEvent } from '../audit/index.js';
import { applyBroadcastSetting, createBroadcastSchedule, stopDeletedChannelBroadcasts } from '../broadcasts/schedules.js';
import type { Clock } from '../clock/index.js';
import { type Db, type Queryable, isUniqueViolation } from '../db/index.js';
import { PermanentError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import {
  type ChannelLimits,
  type ChannelSettings,
  MAX_CHANNELS_PER_ACCOUNT,
  checkChannelSettings,
  checkPayoutDestination,
  mergeSettings,
  parseInput,
  settingsFromCreateInput,
  validationError,
} from './channel-rules.js';
import {
  type ChannelListResource,
  type ChannelResource,
  CreateChannelInputSchema,
  UpdateChannelInputSchema,
} from './channel-schemas.js';
import type { BotUsernameSource } from '../telegram/bot-username.js';
import {
  SETTINGS_COLUMNS,
  channelNotFound,
  channelResource,
  channelUuid,
  findOwnedChannel,
  findOwnedChannels,
  initialScheduleValues,
  replaceTiers,
  settingsValues,
} from './channel-store.js';
import { type BotIdentity, verifyChatOwnership } from './chat-ownership.js';
import { auditChannelUpdate, isPayoutChanged, payoutDetails, sameDestination } from './channel-audit.js';
import { channelError } from './errors.js';

/** What registering and editing channels needs beyond the instance's services. */
export interface ChannelServices {
  /** The Bot API calls of the ownership checks (`createOnDemandBotApi`: grammY loads on the first). */
  telegram: OnDemandBotApi;
  bot: BotIdentity;
  limits: ChannelLimits;
}

/** Where the subscribe links in answers get the bot's username. */
export interface SubscribeLinkDeps {
  /** Default: the configured `bot.username` when there is one, else answers carry `subscribeLinks: null`. */
  subscribeBot?: BotUsernameSource | undefined;
  bot?: BotIdentity | undefined;
}

export interface ChannelDeps extends ChannelServices, SubscribeLinkDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  bot: BotIdentity;
}

/** What reads need: no Bot API client, so they work on instances without channel registration. */
export type ChannelReadDeps = Pick<ChannelDeps, 'db' | 'clock'> & SubscribeLinkDeps;

/** The username subscribe links are made with, or undefined when it cannot be known right now. */
export function subscribeBotUsername(deps: SubscribeLinkDeps): Promise<string | undefined> {
  return deps.subscribeBot ? deps.subscribeBot.username() : Promise.resolve(deps.bot?.username);
}

/** Who asks: the authenticated account, and the request's id and client IP for the audit trail. */
export interface Actor {
  accountId: string;
  requestId?: string;
  ip?: string | undefined;
}

/**
 * What needs the owner's password (re-authentication) when done with an access token, since a
 * stolen token must not redirect money or sales: `payout` (registering a channel, changing where or
 * how it is paid out), `chats` (repointing the open or closed chat: sales would grant access to
 * another chat), `deletion`.
 */
export type SensitiveChange = 'payout' | 'chats' | 'deletion';

/**
 * Re-authentication: called once with everything sensitive a request changes, after the input
 * passed every check and before Telegram is asked or anything is written. The dashboard passes a
 * check of the account's password (`confirmPasswordOfAccount`); it throws to refuse.
 */
export interface ChangeConfirmation {
  confirm(changes: readonly SensitiveChange[]): Promise<void>;
}

const CHAT_ID_CONSTRAINTS = ['channels_chat_ids_unique', 'channels_open_chat_id_key', 'channels_closed_chat_id_key'];

function chatTaken(): PermanentError {
  return channelError(
    'chat_already_registered',
    'One of these chats already belongs to a registered channel. Delete that channel first, or choose other chats.',
  );
}

/** The linked Telegram user of an active account. */
async function linkedTelegramUser(q: Queryable, accountId: string, options: { lock?: boolean } = {}): Promise<bigint> {
  const { rows } = await q.query<{ status: string; telegram_user_id: bigint | null }>(
    `SELECT status, telegram_user_id FROM accounts WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`,
    [accountId],
  );
  const account = rows[0];
  if (!account || account.status !== 'active') throw channelError('account_inactive', 'This account is disabled or deleted.');
  if (account.telegram_user_id === null) {
    throw channelError(
      'telegram_not_linked',
      'Link your Telegram account first (Settings → Telegram, then open the link in Telegram): channels can only be registered by an account linked to a Telegram user who administers the chats.',
    );
  }
  return BigInt(account.telegram_user_id);
}

async function liveChannelCount(q: Queryable, accountId: string): Promise<number> {
  const { rows } = await q.query<{ count: string }>('SELECT count(*)::text AS count FROM channels WHERE owner_account_id = $1 AND deleted_at IS NULL', [accountId]);
  return Number(rows[0]?.count ?? '0');
}

function limitReached(): PermanentError {
  return channelError(
    'channel_limit_reached',
    `An account can have at most ${MAX_CHANNELS_PER_ACCOUNT} channels. Delete one you no longer use to register another.`,
    { maxChannels: MAX_CHANNELS_PER_ACCOUNT },
  );
}

/** Maps the chat-uniqueness violations (index or trigger) to `chat_already_registered`. */
async function withChatUniqueness<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (CHAT_ID_CONSTRAINTS.some((constraint) => isUniqueViolation(error, constraint))) throw chatTaken();
    throw error;
  }
}

async function checkOrThrow(q: Queryable, settings: ChannelSettings, limits: ChannelLimits, destination: { check: boolean; allowDisabled: boolean }): Promise<ChannelSettings> {
  const problems = checkChannelSettings(settings, limits);
  let checked = settings;
  if (destination.check) {
    const result = await checkPayoutDestination(q, settings.payoutDestination, { allowDisabled: destination.allowDisabled });
    problems.push(...result.problems);
    checked = { ...settings, payoutDestination: result.destination };
  }
  if (problems.length > 0) throw validationError(problems);
  return checked;
}

/**
 * Registers a channel for the account. Input is checked (schema, configured minimums, the payout
 * pair and wallet), then the payout destination is confirmed (`confirmation`, the password), then
 * ownership is proven with the Bot API (outside any transaction), then one
 * transaction locks the account row (so two concurrent registrations cannot both pass the limit of
 * `MAX_CHANNELS_PER_ACCOUNT`), inserts the channel (`active`), its tiers and broadcast schedule
 * (every 24 hours unless `broadcast` says otherwise, due at once), and an audit entry.
 *
 * @throws PermanentError `validation_failed` (with `fields`), `telegram_not_linked`, `account_inactive`,
 *   `channel_limit_reached`, `channel_ownership_unverified`, `chat_already_registered`.
 * @throws TransientError when Telegram cannot be reached.
 */
export async function createChannel(deps: ChannelDeps, actor: Actor, rawInput: unknown, confirmation: ChangeConfirmation): Promise<ChannelResource> {
  const input = parseInput(CreateChannelInputSchema, rawInput);
  const telegramUserId = await linkedTelegramUser(deps.db, actor.accountId);
  const settings = await checkOrThrow(deps.db, settingsFromCreateInput(input, telegramUserId), deps.limits, { check: true, allowDisabled: false });
  // Cheap early answer; the authoritative count runs under the account lock below.
  if ((await liveChannelCount(deps.db, actor.accountId)) >= MAX_CHANNELS_PER_ACCOUNT) throw limitReached();
  await confirmation.confirm(['payout']);

  const botRights = await verifyChatOwnership(deps, {
    openChatId: settings.openChat.id,
    closedChatId: settings.closedChat.id,
    ownerTelegramUserId: telegramUserId,
    at: deps.clock.now(),
  });

  const channelId = randomUUID();
  await withChatUniqueness(() =>
    deps.db.transaction(async (tx) => {
      const now = deps.clock.now();
      // The account row lock serialises this account's registrations: the count cannot go stale.
      if ((await linkedTelegramUser(tx, actor.accountId, { lock: true })) !== telegramUserId) {
        throw channelError('telegram_link_changed', 'Your Telegram link changed while the chats were checked. Try again.');
      }
      if ((await liveChannelCount(tx, actor.accountId)) >= MAX_CHANNELS_PER_ACCOUNT) throw limitReached();
      const values = settingsValues(settings, actor.accountId);
      const placeholders = values.map((_, index) => `$${index + 5}`).join(', ');
      await tx.query(
        `INSERT INTO channels (id, owner_account_id, status, bot_rights, bot_rights_checked_at, created_at, updated_at, ${SETTINGS_COLUMNS.join(', ')})
         VALUES ($1, $2, 'active', $3, $4, $4, $4, ${placeholders})`,
        [channelId, actor.accountId, JSON.stringify(botRights), now, ...values],
      );
      const schedule = initialScheduleValues(input.broadcast?.intervalHours);
      await createBroadcastSchedule(tx, channelId, schedule, now);
      await replaceTiers(tx, channelId, settings.tiers, now);
      await recordAuditEvent(tx, {
        occurredAt: now,
        actor: { type: 'account', id: actor.accountId },
        action: 'channel.created',
        subject: { type: 'channel', id: channelId },
        details: { openChatId: settings.openChat.id.toString(), closedChatId: settings.closedChat.id.toString(), ...payoutDetails(settings) },
        requestId: actor.requestId,
        ip: actor.ip,
      });
    }),
  );
  deps.logger.info('channel.created', { channelId, accountId: actor.accountId });
  return channelResource(await findOwnedChannel(deps.db, actor.accountId, channelId), deps.clock.now(), await subscribeBotUsername(deps));
}

/**
 * One of the account's live channels. Its `subscribeLinks` are null when the bot's username cannot
 * be known (none configured and Telegram unreachable): the rest of the channel still answers.
 * @throws PermanentError `channel_not_found` (also for another account's channel).
 */
export async function retrieveChannel(deps: ChannelReadDeps, actor: Actor, channelPublicId: string): Promise<ChannelResource> {
  const [channel, botUsername] = await Promise.all([findOwnedChannel(deps.db, actor.accountId, channelUuid(channelPublicId)), subscribeBotUsername(deps)]);
  return channelResource(channel, deps.clock.now(), botUsername);
}

/** The account's live channels, oldest first, with the limit. */
export async function listChannels(deps: ChannelReadDeps, actor: Actor): Promise<ChannelListResource> {
  const [channels, botUsername] = await Promise.all([findOwnedChannels(deps.db, actor.accountId), subscribeBotUsername(deps)]);
  const now = deps.clock.now();
  return { channels: channels.map((channel) => channelResource(channel, now, botUsername)), count: channels.length, maxChannels: MAX_CHANNELS_PER_ACCOUNT };
}

/**
 * Changes a channel. Sections given replace the stored ones; the merged channel must pass every
 * rule a new one does (threshold minimum included). New chat ids are verified with the Bot API like
 * on create. A change of the payout destination (currency, network, wallet, extra id) or strategy
 * (instant/threshold, threshold amount) must be confirmed (`confirmation`, the password) and mails
 * the owner a `payout_wallet_changed` notice; so must a change of either chat, which mails a
 * `channel_chats_changed` notice. Resending the stored values needs no confirmation.
 * Changing the wallet or currency never touches payouts already created: each payout carries its
 * own copy of the destination. `broadcast` sets the schedule in the same transaction
 * (`applyBroadcastSetting`: null stops it, a number sets the interval and restarts a stopped one).
 * Audit: `channel.updated`, plus `channel.wallet_changed` and `channel.payout_settings_changed`
 * when those changed.
 *
 * @throws PermanentError `channel_not_found`, `validation_failed`, `telegram_not_linked`,
 *   `channel_ownership_unverified`, `chat_already_registered`, `channel_changed_concurrently`.
 */
export async function updateChannel(deps: ChannelDeps, actor: Actor, channelPublicId: string, rawInput: unknown, confirmation: ChangeConfirmation): Promise<ChannelResource> {
  const patch = parseInput(UpdateChannelInputSchema, rawInput);
  const channelId = channelUuid(channelPublicId);
  const before = await findOwnedChannel(deps.db, actor.accountId, channelId);
  const openChatId = patch.openChat?.id === undefined ? before.settings.openChat.id : BigInt(patch.openChat.id);
  const closedChatId = patch.closedChat?.id === undefined ? before.settings.closedChat.id : BigInt(patch.closedChat.id);
  const areChatsChanged = openChatId !== before.settings.openChat.id || closedChatId !== before.settings.closedChat.id;
  const needsLink = areChatsChanged || patch.notifications !== undefined;
  // Only new chats and the notification default need the linked user; other edits work without a link.
  const telegramUserId = needsLink ? await linkedTelegramUser(deps.db, actor.accountId) : 0n;

  // Fail on bad input before asking for the password or Telegram anything.
  const checked = await checkOrThrow(deps.db, mergeSettings(before.settings, patch, telegramUserId), deps.limits, {
    check: patch.payoutDestination !== undefined,
    allowDisabled: sameDestinationPair(patch, before.settings),
  });
  const isPayoutConfirmed = isPayoutChanged(before.settings, checked);
  const changes: SensitiveChange[] = [...(isPayoutConfirmed ? (['payout'] as const) : []), ...(areChatsChanged ? (['chats'] as const) : [])];
  if (changes.length > 0) await confirmation.confirm(changes);
  const botRights = areChatsChanged ? await verifyChatOwnership(deps, { openChatId, closedChatId, ownerTelegramUserId: telegramUserId, at: deps.clock.now() }) : null;

  await withChatUniqueness(() =>
    deps.db.transaction(async (tx) => {
      const now = deps.clock.now();
      const current = await findOwnedChannel(tx, actor.accountId, channelId, { lock: true });
      // Re-merge on the locked row so a concurrent update of another section is not overwritten.
      const merged = await checkOrThrow(tx, mergeSettings(current.settings, patch, telegramUserId), deps.limits, {
        check: patch.payoutDestination !== undefined,
        allowDisabled: sameDestinationPair(patch, current.settings),
      });
      const isVerified = merged.openChat.id === current.settings.openChat.id && merged.closedChat.id === current.settings.closedChat.id;
      if (!isVerified && (botRights === null || merged.openChat.id !== openChatId || merged.closedChat.id !== closedChatId)) {
        throw changedConcurrently();
      }
      const isPayoutChange = isPayoutChanged(current.settings, merged);
      // A concurrent edit can turn a resend of the stored payout settings into a change: never write one unconfirmed.
      if (isPayoutChange && !isPayoutConfirmed) throw changedConcurrently();
      const values = settingsValues(merged, actor.accountId);
      const assignments = SETTINGS_COLUMNS.map((column, index) => `${column} = $${index + 4}`).join(', ');
      // payout_destination_changed_at: payouts to a destination changed in the last 24 hours wait for an operator (payouts/limits.ts).
      await tx.query(
        `UPDATE channels SET ${assignments}, updated_at = $2,
           bot_rights = coalesce($3::jsonb, bot_rights), bot_rights_checked_at = CASE WHEN $3::jsonb IS NULL THEN bot_rights_checked_at ELSE $2 END,
           payout_destination_changed_at = CASE WHEN $${values.length + 4}::boolean THEN $2 ELSE payout_destination_changed_at END
         WHERE id = $1`,
        [channelId, now, isVerified ? null : JSON.stringify(botRights), ...values, !sameDestination(current.settings.payoutDestination, merged.payoutDestination)],
      );
      if (patch.tiers) await replaceTiers(tx, channelId, merged.tiers, now);
      if (patch.broadcast) await applyBroadcastSetting(tx, channelId, patch.broadcast.intervalHours, now);
      await auditChannelUpdate(tx, { actor, channelId, now, before: current.settings, after: merged, sections: Object.keys(patch) });
      if (isPayoutChange) await enqueueAccountMail(tx, { kind: 'payout_wallet_changed', accountId: actor.accountId, now });
      // Chats changed only as confirmed above (a concurrent change of them is refused before this).
      if (!isVerified) await enqueueAccountMail(tx, { kind: 'channel_chats_changed', accountId: actor.accountId, now });
    }),
  );
  deps.logger.info('channel.updated', { channelId, accountId: actor.accountId, sections: Object.keys(patch) });
  return channelResource(await findOwnedChannel(deps.db, actor.accountId, channelId), deps.clock.now(), await subscribeBotUsername(deps));
}

function changedConcurrently(): PermanentError {
  return channelError('channel_changed_concurrently', 'The channel changed while this update was checked. Reload it and try again.');
}

/** A destination in the same pair the channel already uses may stay on a pair that was disabled since. */
function sameDestinationPair(patch: { payoutDestination?: { currency: string; network: string } | undefined }, current: ChannelSettings): boolean {
  return patch.payoutDestination?.currency === current.payoutDestination.currency && patch.payoutDestination.network === current.payoutDestination.network;
}

/**
 * Retires a channel: status `deleted` (rows are never deleted: payments, balances and payouts hang
 * off it), its chats free for a new registration, its broadcasts stopped. Subscriptions already
 * sold run to their end; what the owner is owed stays in the ledger. Must be confirmed
 * (`confirmation`, the password) once the channel is known to be the account's; the owner is mailed
 * a `channel_deleted` notice.
 *
 * @throws PermanentError `channel_not_found` (also when already deleted or another account's), or
 *   whatever `confirmation` throws.
 */
export async function deleteChannel(deps: Pick<ChannelDeps, 'db' | 'clock' | 'logger'>, actor: Actor, channelPublicId: string, confirmation: ChangeConfirmation): Promise<void> {
  const channelId = channelUuid(channelPublicId);
  await findOwnedChannel(deps.db, actor.accountId, channelId);
  await confirmation.confirm(['deletion']);
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const { rowCount } = await tx.query(
      `UPDATE channels SET status = 'deleted', deleted_at = $3, updated_at = $3
        WHERE id = $1 AND owner_account_id = $2 AND deleted_at IS NULL`,
      [channelId, actor.accountId, now],
    );
    if (rowCount === 0) throw channelNotFound();
    await stopDeletedChannelBroadcasts(tx, channelId, now);
    await recordAuditEvent(tx, {
      occurredAt: now,
      actor: { type: 'account', id: actor.accountId },
      action: 'channel.deleted',
      subject: { type: 'channel', id: channelId },
      requestId: actor.requestId,
      ip: actor.ip,
    });
    await enqueueAccountMail(tx, { kind: 'channel_deleted', accountId: actor.accountId, now });
  });
  deps.logger.info('channel.deleted', { channelId, accountId: actor.accountId });
}
