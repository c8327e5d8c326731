import * as z from 'zod';
import { composeChannelPosts, type ChatPost } from '../broadcasts/index.js';
import type { Queryable } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import { languageOf } from '../texts/index.js';
import { channelUuid, findOwnedChannel } from './channel-store.js';
import { type Actor, type ChannelReadDeps, subscribeBotUsername } from './channels.js';
import { channelError } from './errors.js';

const PostPreviewSchema = z.object({
  /** Telegram HTML (parse_mode HTML): owner texts escaped, `<b>` the only tag. */
  html: z.string(),
  /** One URL button per row, as the post shows them. */
  buttons: z.array(z.object({ text: z.string(), url: z.string() })),
});

export const TierPostPreviewResourceSchema = z.object({
  channelId: z.string(),
  /** The language the posts speak: the owner's Telegram language (en or ru). */
  language: z.string(),
  /** The tier buttons in the open channel; null when nothing is for sale (no active tier, channel not active). */
  open: PostPreviewSchema.nullable(),
  /** The donation button in the closed channel; null when donations are off. */
  closed: PostPreviewSchema.nullable(),
});
export type TierPostPreviewResource = z.infer<typeof TierPostPreviewResourceSchema>;

async function ownerLanguageCode(q: Queryable, accountId: string): Promise<string | null> {
  const { rows } = await q.query<{ language_code: string | null }>(
    'SELECT u.language_code FROM accounts a LEFT JOIN telegram_users u ON u.id = a.telegram_user_id WHERE a.id = $1',
    [accountId],
  );
  return rows[0]?.language_code ?? null;
}

function postPreview(post: ChatPost | null) {
  if (!post) return null;
  const buttons = post.replyMarkup.inline_keyboard.flat().flatMap((button) => ('url' in button && button.url ? [{ text: button.text, url: button.url }] : []));
  return { html: post.text, buttons };
}

/**
 * The posts the broadcaster would put in the channel's chats now, composed by the same function
 * (`composeChannelPosts`) from the stored settings and the owner's language, so the dashboard shows
 * exactly what subscribers will see — whether or not a post is up yet.
 *
 * @throws PermanentError `channel_not_found` (also another account's or a deleted channel).
 * @throws TransientError `bot_username_unavailable` when the buttons' bot cannot be named right now.
 */
export async function previewTierPosts(deps: ChannelReadDeps, actor: Actor, channelPublicId: string): Promise<TierPostPreviewResource> {
  const [channel, botUsername, languageCode] = await Promise.all([
    findOwnedChannel(deps.db, actor.accountId, channelUuid(channelPublicId)),
    subscribeBotUsername(deps),
    ownerLanguageCode(deps.db, actor.accountId),
  ]);
  if (botUsername === undefined) {
    throw channelError('bot_username_unavailable', 'The bot username is not configured and Telegram could not be asked for it');
  }
  const { settings } = channel;
  const language = languageOf(languageCode);
  const posts = composeChannelPosts(
    {
      channelId: channel.id,
      isLive: channel.status === 'active',
      openTitle: settings.openChat.title,
      openDescription: settings.openChat.description,
      closedTitle: settings.closedChat.title,
      closedDescription: settings.closedChat.description,
      tiers: settings.tiers.map((tier, index) => ({ tierNumber: index + 1, priceCents: tier.priceCents, durationDays: tier.durationDays })),
      donationsEnabled: settings.donations.enabled,
      donationMessage: settings.donations.message,
      language,
    },
    botUsername,
  );
  return { channelId: formatPublicId('channel', channel.id), language, open: postPreview(posts.open), closed: postPreview(posts.closed) };
}
