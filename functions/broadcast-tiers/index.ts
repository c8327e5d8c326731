import * as ff from '@google-cloud/functions-framework';
import { createPostPacer, runTierBroadcasts } from '../../shared/broadcasts/index.js';
import { consume } from '../../shared/pubsub-entry/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { broadcastError } from '../../shared/broadcasts/index.js';
import { logger } from '../../shared/logging/index.js';
import { createBotUsernameSource, loadBotApi } from '../../shared/telegram/index.js';

const config = loadConfig({ TELEGRAM_BOT_USERNAME: configVars.TELEGRAM_BOT_USERNAME.optional() });
const telegram = loadBotApi();
// One pacer per instance: the flood limits are the bot's, whichever message asked.
const pacer = createPostPacer();
const bot = createBotUsernameSource({ configured: config.TELEGRAM_BOT_USERNAME, telegram, logger });

/** The scheduler's tick (every due channel) and the owner's "broadcast now" (named channels). */
ff.cloudEvent(
  'broadcast-tiers',
  consume({
    consumer: 'broadcast-tiers',
    topic: 'broadcast-requested',
    maxAgeSeconds: 600,
    handle: async (delivery, services) => {
      const report = await runTierBroadcasts(
        {
          ...services,
          logger: delivery.logger,
          telegram,
          pacer,
          botUsername: async () => (await bot.username()) ?? Promise.reject(broadcastError('bot_username_unavailable', 'getMe did not answer: the links need the bot username')),
        },
        delivery.message.channelIds,
      );
      if (report.posted + report.failed + report.deferred > 0) delivery.logger.info('broadcasts.run', { ...report });
    },
  }),
);
