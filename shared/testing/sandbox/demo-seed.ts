import { randomUUID } from 'node:crypto';
import { sealAccountEmail } from '../../accounts/index.js';
import { loadFieldCipher } from '../../field-crypto/index.js';
import { sealWallet } from '../../wallets/index.js';
import { hashPassword } from '../../accounts/passwords.js';
import type { Db } from '../../db/index.js';
import { subscribeStartPayload } from '../../telegram/deep-links.js';
import type { TelegramSimulator } from '../simulators/telegram-simulator.js';

/** Telegram ids of the sandbox's people (the simulator knows them; real Telegram does not). */
export const DEMO_OWNER_TELEGRAM_ID = 1000;
export const DEMO_SUBSCRIBER_TELEGRAM_ID = 1001;
/** The demo owner's dashboard login (`npm start` prints it). A sandbox account: never seeded anywhere else. */
export const DEMO_OWNER_EMAIL = 'demo-owner@paygateprime.local';
export const DEMO_OWNER_PASSWORD = 'demo-owner-password';
/** What data folders seeded before the demo owner had a password hold instead of a hash. */
const NO_PASSWORD_HASH = '$scrypt$sandbox-account-without-password';

export interface DemoChannel {
  id: string;
  title: string;
  strategy: 'instant' | 'threshold';
  openChatId: number;
  closedChatId: number;
  /** `/start` payload that opens the channel's tiers in the bot. */
  startPayload: string;
}

const DEMO_CHANNELS = [
  { key: 'instant', title: 'Demo Premium', strategy: 'instant', openChatId: -1001000000001, closedChatId: -1001000000002, wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
  { key: 'threshold', title: 'Demo Club', strategy: 'threshold', openChatId: -1001000000003, closedChatId: -1001000000004, wallet: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' },
] as const;

/**
 * A demo owner (dashboard login DEMO_OWNER_EMAIL / DEMO_OWNER_PASSWORD, linked to Telegram user 1000, notifications on) with two channels — one paid out
 * instantly, one on a $50 threshold — each with two tiers and donations, plus their chats and
 * people in the Telegram simulator. Idempotent: an existing demo owner, and chats and people the
 * simulator already knows, are reused across restarts.
 */
export async function seedDemo(db: Db, telegram: TelegramSimulator | undefined, at: Date): Promise<DemoChannel[]> {
  // scrypt only when the account has no real hash yet (a new data folder, or one from before it had a password).
  const { rows: known } = await db.query<{ id: string; password_hash: string }>('SELECT id, password_hash FROM accounts WHERE email_index = $1 OR lower(email) = $2', [
    loadFieldCipher().emailIndex(DEMO_OWNER_EMAIL),
    DEMO_OWNER_EMAIL,
  ]);
  const passwordHash = known[0] && known[0].password_hash !== NO_PASSWORD_HASH ? known[0].password_hash : await hashPassword(DEMO_OWNER_PASSWORD);
  const channels = await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO telegram_users (id, username, first_name, language_code, created_at, updated_at)
       VALUES ($1, 'demo_owner', 'Demo owner', 'en', $3, $3), ($2, 'alice', 'Alice', 'en', $3, $3)
       ON CONFLICT (id) DO NOTHING`,
      [DEMO_OWNER_TELEGRAM_ID, DEMO_SUBSCRIBER_TELEGRAM_ID, at],
    );
    // The address is sealed for the account's id: a known owner keeps its id (and its row's shape
    // until `npm run reencrypt`), a new one gets a fresh id.
    const ownerId = known[0]?.id ?? randomUUID();
    const sealed = sealAccountEmail(ownerId, DEMO_OWNER_EMAIL);
    await tx.query(
      `INSERT INTO accounts (id, email_ciphertext, email_index, email_hint, password_hash, email_verified_at, telegram_user_id, telegram_linked_at, created_at, updated_at)
       VALUES ($3, $4, $5, $6, $7, $1, $2, $1, $1, $1)
       ON CONFLICT (id) DO UPDATE SET password_hash = CASE WHEN accounts.password_hash = $8 THEN EXCLUDED.password_hash ELSE accounts.password_hash END`,
      [at, DEMO_OWNER_TELEGRAM_ID, ownerId, sealed.ciphertext, sealed.index, sealed.hint, passwordHash, NO_PASSWORD_HASH],
    );
    const seeded: DemoChannel[] = [];
    for (const demo of DEMO_CHANNELS) {
      const existing = await tx.query<{ id: string }>('SELECT id FROM channels WHERE closed_chat_id = $1 AND deleted_at IS NULL', [demo.closedChatId]);
      let channelId = existing.rows[0]?.id;
      if (!channelId) {
        const wallet = sealWallet(ownerId, demo.wallet, null);
        const { rows } = await tx.query<{ id: string }>(
          `WITH channel AS (
             INSERT INTO channels (owner_account_id, open_chat_id, closed_chat_id, open_title, closed_title, open_description, closed_description,
                                   status, payout_currency, payout_network, payout_wallet_ciphertext, payout_wallet_index, payout_wallet_hint,
                                   payout_strategy, payout_threshold_cents,
                                   donations_enabled, donation_min_cents, donation_max_cents, donation_message,
                                   notifications_enabled, notification_chat_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4 || ' (public)', $4, 'Free previews', 'Members-only posts and chat',
                     'active', 'ETH', 'ETH', $5, $10, $11, $6, $7, true, 100, 100000, 'Thank you for supporting us!', true, $8, $9, $9)
             RETURNING id),
           schedule AS (INSERT INTO broadcast_schedules (channel_id, next_run_at, created_at, updated_at) SELECT id, $9, $9, $9 FROM channel)
           SELECT id FROM channel`,
          [ownerId, demo.openChatId, demo.closedChatId, demo.title, wallet.ciphertext, demo.strategy, demo.strategy === 'threshold' ? 5000 : null, DEMO_OWNER_TELEGRAM_ID, at, wallet.index, wallet.hint],
        );
        channelId = rows[0]?.id as string;
        await tx.query(
          `INSERT INTO channel_tiers (channel_id, tier_number, price_cents, duration_days, created_at, updated_at)
           VALUES ($1, 1, 999, 30, $2, $2), ($1, 2, 2499, 90, $2, $2)`,
          [channelId, at],
        );
      }
      seeded.push({
        id: channelId,
        title: demo.title,
        strategy: demo.strategy,
        openChatId: demo.openChatId,
        closedChatId: demo.closedChatId,
        startPayload: subscribeStartPayload(channelId),
      });
    }
    return seeded;
  });

  if (telegram) {
    // A simulator that kept its state already has these people and chats (with whatever happened in
    // them since): only what is missing is added.
    const people = [
      { id: DEMO_OWNER_TELEGRAM_ID, first_name: 'Demo owner', username: 'demo_owner', language_code: 'en' },
      { id: DEMO_SUBSCRIBER_TELEGRAM_ID, first_name: 'Alice', username: 'alice', language_code: 'en' },
    ];
    for (const person of people) if (!telegram.hasUser(person.id)) telegram.addUser(person);
    for (const channel of channels) {
      for (const [chatId, title] of [[channel.openChatId, `${channel.title} (public)`], [channel.closedChatId, channel.title]] as const) {
        if (telegram.hasChat(chatId)) continue;
        telegram.addChat({ id: chatId, type: 'channel', title });
        telegram.addMember(chatId, DEMO_OWNER_TELEGRAM_ID, 'creator');
        telegram.setBotMembership(chatId, 'administrator');
      }
    }
  }
  return channels;
}
