import { randomUUID } from 'node:crypto';
import * as ff from '@google-cloud/functions-framework';
import * as z from 'zod';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { httpEntryError, clientIpReader, createIpAllowlist, errorResult, publicHttpFunction, sendResult, serveWithRelay, trustedProxyHopsOf } from '../../shared/http-entry/index.js';
import { keptIpnHeaders, lookForRepeatedIpn, MAX_IPN_BODY_BYTES, receiveIpn } from '../../shared/payments/index.js';
import { assertServicesConfigured, servicesIfReady } from '../../shared/runtime/index.js';
import { loadBurstLimits } from '../../shared/watchdog/index.js';
import { loadSecretReader } from '../../shared/secrets/index.js';

const config = loadConfig({
  NOWPAYMENTS_IPN_ALLOWED_IPS: configVars.NOWPAYMENTS_IPN_ALLOWED_IPS,
  TRUSTED_PROXY_HOPS: configVars.TRUSTED_PROXY_HOPS, // X-Forwarded-For hops to trust (docs/deploy.md)
  K_SERVICE: z.string().optional(), // set by Cloud Run: requests arrive through Google's front end
});
const ipnSecret = loadSecretReader('NOWPAYMENTS_IPN_SECRET'); // or Secret Manager: SECRETS_SOURCE
assertServicesConfigured();
const isAllowedIp = createIpAllowlist(config.NOWPAYMENTS_IPN_ALLOWED_IPS);
const clientIpOf = clientIpReader(trustedProxyHopsOf(config));
const bursts = loadBurstLimits(['ipnSignatureFailures', 'paymentFailures']);

/** NowPayments IPN webhook (public; envelope, body limit, security headers). A repeat is answered from one read; what a new IPN queued (settlement, notices) goes out before the answer. */
ff.http('nowpayments-ipn', publicHttpFunction({ maxBodyBytes: MAX_IPN_BODY_BYTES }, async (req, res) => {
  if (req.method !== 'POST') return sendResult(res.set('allow', 'POST'), errorResult(httpEntryError('method_not_allowed', 'Send IPNs with POST')));
  const rawBody = (req as { rawBody?: Buffer }).rawBody?.toString('utf8') ?? '';
  const ipn = { rawBody, signature: req.get('x-nowpayments-sig'), clientIp: clientIpOf(req), requestId: randomUUID() };
  const services = servicesIfReady();
  const secret = services && ipnSecret.cached(services.clock.now());
  const firstLook = services && secret ? await lookForRepeatedIpn({ ...services, ipnSecret: secret, isAllowedIp }, ipn) : undefined;
  if (firstLook && 'status' in firstLook) return sendResult(res, firstLook);
  await serveWithRelay(res, async (services, requestId) =>
    receiveIpn(
      { ...services, ipnSecret: await ipnSecret.read(services.clock.now()), reloadIpnSecret: () => ipnSecret.reload(services.clock.now()), isAllowedIp, bursts },
      { ...ipn, headers: keptIpnHeaders(req.headers), requestId, firstLook },
    ),
  );
}));
