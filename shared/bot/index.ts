export { type BotDeps, type BotContext, type SessionData } from './context.js';
export { type BotOptions, createBot } from './bot.js';
// The webhook function builds the bot's identity from its configuration (telegram/bot-info.ts).
export { botInfoFromConfig } from '../telegram/bot-info.js';
export { type WebhookDeps, type WebhookResult, MAX_UPDATE_BODY_BYTES, SECRET_TOKEN_HEADER, handleWebhookUpdate } from './webhook.js';
export { botFeatures } from './features/index.js';
