import { randomInt } from 'node:crypto';
import type { ChatAdministratorRights } from 'grammy/types';
import type { CreateChannelInput } from '../channels/index.js';
import type { Queryable } from '../db/index.js';
import { FIXTURE_NOW, insertAccount, insertTelegramUser, randomChatId } from './fixtures.js';
import type { TelegramSimulator } from './simulators/telegram-simulator.js';

/**
 * Set-up for channel registration tests: a dashboard account linked to a Telegram user, and a pair
 * of chats in the Telegram simulator that the user owns and the bot administers.
 */

/** A dashboard account whose Telegram link is done (the bot's `/start link_…` flow, shortcut). */
export interface LinkedOwner {
  accountId: string;
  telegramUserId: number;
}

/** Inserts an account linked to a new Telegram user, and that user into the simulator. */
export async function insertLinkedOwner(q: Queryable, telegram: TelegramSimulator): Promise<LinkedOwner> {
  const telegramUserId = randomInt(10_000_000, 2 ** 40);
  await insertTelegramUser(q, { id: BigInt(telegramUserId) });
  const account = await insertAccount(q);
  await q.query('UPDATE accounts SET telegram_user_id = $2, telegram_linked_at = $3 WHERE id = $1', [account.id, telegramUserId, FIXTURE_NOW]);
  telegram.addUser({ id: telegramUserId, first_name: 'Owner' });
  return { accountId: account.id, telegramUserId };
}

export interface OwnedChats {
  openChatId: bigint;
  closedChatId: bigint;
}

export interface OwnedChatsOptions {
  /** The bot's membership in the open chat; default administrator with every right. */
  openBot?: { status: 'administrator' | 'member' | 'left'; rights?: Partial<ChatAdministratorRights> };
  closedBot?: { status: 'administrator' | 'member' | 'left'; rights?: Partial<ChatAdministratorRights> };
  /** The owner's status in each chat; default creator. */
  openOwner?: 'creator' | 'administrator' | 'member' | 'none';
  closedOwner?: 'creator' | 'administrator' | 'member' | 'none';
}

/** Two new channels in the simulator: the owner's status and the bot's rights as asked. */
export function addOwnedChats(telegram: TelegramSimulator, ownerTelegramUserId: number, options: OwnedChatsOptions = {}): OwnedChats {
  const chats = { openChatId: randomChatId(), closedChatId: randomChatId() };
  const setUp = (chatId: bigint, bot: OwnedChatsOptions['openBot'], owner: OwnedChatsOptions['openOwner']) => {
    telegram.addChat({ id: Number(chatId), type: 'channel', title: `Chat ${chatId}` });
    const ownerStatus = owner ?? 'creator';
    if (ownerStatus !== 'none') telegram.addMember(Number(chatId), ownerTelegramUserId, ownerStatus);
    const status = bot?.status ?? 'administrator';
    if (status !== 'left') telegram.setBotMembership(Number(chatId), status, bot?.rights);
  };
  setUp(chats.openChatId, options.openBot, options.openOwner);
  setUp(chats.closedChatId, options.closedBot, options.closedOwner);
  return chats;
}

/** A complete, valid create request for these chats: one $9.99 30-day tier, instant USDT on TRON. */
export function channelInput(chats: OwnedChats, overrides: Partial<CreateChannelInput> = {}): CreateChannelInput {
  return {
    openChat: { id: chats.openChatId.toString(), title: 'Open news', description: 'Free posts' },
    closedChat: { id: chats.closedChatId.toString(), title: 'Members only' },
    tiers: [{ priceUsd: '9.99', durationDays: 30 }],
    payoutDestination: { currency: 'USDT', network: 'TRX', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' },
    payoutStrategy: { strategy: 'instant' },
    ...overrides,
  };
}
