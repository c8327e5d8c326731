import { createHash } from 'node:crypto';
import type { InlineKeyboardMarkup } from 'grammy/types';
import { donateLink, subscribeLink } from '../telegram/deep-links.js';
import { type Language, translate } from '../texts/index.js';

/** What a channel's posts show, as read from the database when its turn comes. */
export interface ChannelPostFacts {
  channelId: string;
  /** Only an active channel sells; any other status takes its posts down. */
  isLive: boolean;
  openTitle: string;
  openDescription: string;
  closedTitle: string;
  closedDescription: string;
  tiers: { tierNumber: number; priceCents: bigint; durationDays: number }[];
  donationsEnabled: boolean;
  donationMessage: string | null;
  /** The owner's language: the posts speak it. */
  language: Language;
}

export interface ChatPost {
  text: string;
  replyMarkup: InlineKeyboardMarkup;
}

export interface ChannelPosts {
  /** The tier buttons for the open channel; null when there is nothing to sell. */
  open: ChatPost | null;
  /** The donation button for the closed channel; null when donations are off. */
  closed: ChatPost | null;
  /** SHA-256 of both posts: equal digests show the same thing. */
  digest: string;
}

/**
 * The open channel's post: a welcome naming both chats and one URL button per active tier, each a
 * deep link naming the channel and the tier by opaque id (the bot reads the price from the
 * database when it is pressed, so a post can never sell at a price it shows wrongly for long: an
 * edit of a tier asks for a new post). The closed channel's post: the owner's appeal and a donate
 * deep link. URL buttons, not callbacks: a callback in a channel would answer every member.
 */
export function composeChannelPosts(facts: ChannelPostFacts, botUsername: string): ChannelPosts {
  const open =
    facts.isLive && facts.tiers.length > 0
      ? {
          text: translate(facts.language, 'tierPost', facts),
          replyMarkup: {
            inline_keyboard: facts.tiers.map((tier) => [
              {
                text: translate(facts.language, 'tierPostButton', tier.tierNumber, tier.priceCents, tier.durationDays),
                url: subscribeLink(botUsername, facts.channelId, tier.tierNumber),
              },
            ]),
          },
        }
      : null;
  const closed =
    facts.isLive && facts.donationsEnabled
      ? {
          text: translate(facts.language, 'donationPost', facts.donationMessage),
          replyMarkup: { inline_keyboard: [[{ text: translate(facts.language, 'donationPostButton'), url: donateLink(botUsername, facts.channelId) }]] },
        }
      : null;
  const digest = createHash('sha256').update(JSON.stringify([open, closed])).digest('hex');
  return { open, closed, digest };
}
