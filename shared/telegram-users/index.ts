/**
 * The Telegram users the gateway knows (`telegram_users`): who they are as they last used the bot,
 * and whether they can be sent DMs. Checkout, account linking and the bot record them
 * (`upsertTelegramUser`); the bot and the DM stages record who blocked the bot.
 */
export { type TelegramUserProfile, upsertTelegramUser, recordDirectMessageReach, markDirectMessagesBlocked } from './telegram-users.js';
