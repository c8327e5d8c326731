export { type BotDeps, type BotContext, type SessionData } from './context.js';
export { type BotOptions, createBot } from './bot.js';
export { type WebhookDeps, type WebhookResult, SECRET_TOKEN_HEADER, handleWebhookUpdate } from './webhook.js';
export { botFeatures } from './features/index.js';
