// The link format lives with the bot that reads it (shared/telegram/deep-links.ts).
export { type SubscribeTarget, subscribeStartPayload, isSubscribeStartPayload, parseSubscribeStartPayload, subscribeLink, donateStartPayload, donateLink } from '../telegram/deep-links.js';
