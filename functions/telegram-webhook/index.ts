import * as ff from '@google-cloud/functions-framework';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { publicHttpFunction, serveWithRelay } from '../../shared/http-entry/index.js';
import { createNowPaymentsClient } from '../../shared/nowpayments/index.js';
import { assertServicesConfigured, getServices } from '../../shared/runtime/index.js';
import { loadSecretReader } from '../../shared/secrets/index.js';
import { botFeatures, botInfoFromConfig, createBot, handleWebhookUpdate, MAX_UPDATE_BODY_BYTES, SECRET_TOKEN_HEADER } from '../../shared/bot/index.js';

const config = loadConfig({
  TELEGRAM_BOT_TOKEN: configVars.TELEGRAM_BOT_TOKEN,
  TELEGRAM_API_ROOT: configVars.TELEGRAM_API_ROOT,
  TELEGRAM_BOT_USERNAME: configVars.TELEGRAM_BOT_USERNAME,
  NOWPAYMENTS_API_URL: configVars.NOWPAYMENTS_API_URL,
  NOWPAYMENTS_API_KEY: configVars.NOWPAYMENTS_API_KEY,
  PUBLIC_BASE_URL: configVars.PUBLIC_BASE_URL,
});
const webhookSecret = loadSecretReader('TELEGRAM_WEBHOOK_SECRET'); // or Secret Manager: SECRETS_SOURCE
assertServicesConfigured();
const nowpayments = createNowPaymentsClient({ apiUrl: config.NOWPAYMENTS_API_URL, apiKey: config.NOWPAYMENTS_API_KEY });
const bot = getServices().then((services) =>
  createBot(
    { ...services, nowpayments, publicBaseUrl: config.PUBLIC_BASE_URL, returnUrl: `https://t.me/${config.TELEGRAM_BOT_USERNAME}` },
    { token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT, botInfo: botInfoFromConfig(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_BOT_USERNAME), features: botFeatures() },
  ),
);

/** Telegram webhook (public, authenticated by the secret token; envelope, body limit, security headers). Owner alerts it queued go out before the answer. */
ff.http('telegram-webhook', publicHttpFunction({ maxBodyBytes: MAX_UPDATE_BODY_BYTES }, async (req, res) => {
  await serveWithRelay(res, async (services, requestId) =>
    handleWebhookUpdate(
      { bot: await bot, kv: services.kv, logger: services.logger, clock: services.clock, secretToken: await webhookSecret.read(services.clock.now()), reloadSecretToken: () => webhookSecret.reload(services.clock.now()) },
      { secretToken: req.get(SECRET_TOKEN_HEADER), body: req.body, requestId },
    ),
  );
}));
