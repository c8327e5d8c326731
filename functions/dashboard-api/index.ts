import * as ff from '@google-cloud/functions-framework';
import * as z from 'zod';
import { relayAfterCommit } from '../../shared/bus/index.js';
import { loadChannelServices, loadSubscribeBot } from '../../shared/channels/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { createDashboardRouter, createOriginPolicy, dashboardRoutes, loadOwnerWebhookSettings, maxRequestBodyBytes, serveDashboardRequest } from '../../shared/dashboard/index.js';
import { assertServicesConfigured, getServices } from '../../shared/runtime/index.js';
import { clientIpReader, publicHttpFunction, trustedProxyHopsOf } from '../../shared/http-entry/index.js';
import { logger } from '../../shared/logging/index.js';
import { loadBurstLimits } from '../../shared/watchdog/index.js';
import { loadSecretReader } from '../../shared/secrets/index.js';
import { accessTokenSettingsOf } from '../../shared/accounts/index.js';

const jwtSecret = loadSecretReader('JWT_SECRET'); // JWT_SECRET (+ _PREVIOUS) or Secret Manager: SECRETS_SOURCE
const config = loadConfig({
  DASHBOARD_CORS_ORIGINS: configVars.DASHBOARD_CORS_ORIGINS,
  TELEGRAM_BOT_USERNAME: configVars.TELEGRAM_BOT_USERNAME.optional(),
  TRUSTED_PROXY_HOPS: configVars.TRUSTED_PROXY_HOPS,
  K_SERVICE: z.string().optional(), // set by Cloud Run: production, behind Google's front end
});
assertServicesConfigured({ withFieldKeys: true }); // opens the owner's sealed email and wallets
const isOnCloudRun = Boolean(config.K_SERVICE);
const clientIp = clientIpReader(trustedProxyHopsOf(config), logger);
const channels = loadChannelServices();
const subscribeBot = loadSubscribeBot(logger); // module scope: getMe (without a username) once per instance
const [bursts, ownerWebhooks] = [loadBurstLimits(['loginFailures']), loadOwnerWebhookSettings()]; // no OWNER_WEBHOOK_SIGNING_KEY: webhook writes answer 503
const router = createDashboardRouter({
  routes: dashboardRoutes,
  originPolicy: createOriginPolicy(config.DASHBOARD_CORS_ORIGINS, { isOnCloudRun }),
  deps: () => getServices().then(async (services) => ({ ...services, accessTokens: await accessTokenSettingsOf(jwtSecret, services.clock.now(), logger), telegramBotUsername: config.TELEGRAM_BOT_USERNAME, channels, subscribeBot, bursts, ownerWebhooks })),
});

/** Dashboard REST API under /api/v1 (public; accounts, channels, earnings; envelope, body limit, security headers). */
ff.http('dashboard-api', publicHttpFunction({ maxBodyBytes: maxRequestBodyBytes(dashboardRoutes) }, (req, res) =>
  serveDashboardRequest(router, req, res, {
    isBehindGoogleFrontEnd: isOnCloudRun,
    clientIp, // mails queued by the request go out now (below); the scheduled relay catches any this misses
    afterResponse: async (queued) => relayAfterCommit(await getServices(), queued),
  }),
));
