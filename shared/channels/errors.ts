import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the channels/ folder raises, with its kind (status and retry follow from it). */
export const channelError = defineErrors({
  account_inactive: 'forbidden',
  bot_username_unavailable: 'unavailable',
  broadcast_cooling_down: 'rate_limited',
  channel_changed_concurrently: 'conflict',
  channel_limit_reached: 'conflict',
  channel_not_found: 'not_found',
  channel_ownership_unverified: 'unprocessable',
  chat_already_registered: 'conflict',
  telegram_link_changed: 'conflict',
  telegram_not_linked: 'conflict',
  validation_failed: 'invalid',
});
export type ChannelErrorCode = ErrorCodeOf<typeof channelError>;
