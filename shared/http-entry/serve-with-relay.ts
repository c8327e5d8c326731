import { randomUUID } from 'node:crypto';
import { runAndRelay } from '../bus/outbox.js';
import { getServices, type Services } from '../runtime/index.js';
import { errorResult, type HttpResult, sendResult } from './responses.js';
import { httpEntryError } from './errors.js';

/** What `serveWithRelay` needs of an Express response. */
type ResultResponse = Parameters<typeof sendResult>[0];

/**
 * One request of an HTTP entry point whose work queues messages: gets the services (answering 503
 * `service_unavailable` in the envelope when they cannot be built, e.g. the database is unreachable
 * at cold start), runs `work`, publishes the outbox rows it queued (`runAndRelay`: those and no
 * others; a failure is left to the scheduled relay) and then answers with its result. Every answer,
 * refusals and failures `work` throws included, is the one error envelope with this request's
 * `requestId`, the id `work` also logs.
 */
export async function serveWithRelay(
  response: ResultResponse,
  work: (services: Services, requestId: string) => Promise<HttpResult>,
): Promise<void> {
  const requestId = randomUUID();
  let services: Services;
  try {
    services = await getServices();
  } catch (error) {
    sendResult(response, errorResult(httpEntryError('service_unavailable', 'The service is starting or its database is unreachable', {}, error as Error), requestId));
    return;
  }
  // try/catch rather than promise chains: each promise a request makes costs the framework's
  // per-request domain and async hooks a little (docs/performance.md, duplicates).
  let result: HttpResult;
  try {
    result = await runAndRelay(services, () => work(services, requestId));
  } catch (error) {
    services.logger.error('http.request_failed', { requestId, error });
    result = errorResult(error, requestId);
  }
  sendResult(response, result);
}
