import { runAndRelay } from '../bus/outbox.js';
import { TransientError } from '../errors/index.js';
import { getServices, type Services } from '../runtime/index.js';
import { errorResult, type HttpResult, sendResult } from './responses.js';

/** What `serveWithRelay` needs of an Express response. */
type ResultResponse = Parameters<typeof sendResult>[0];

/**
 * One request of an HTTP entry point whose work queues messages: gets the services (answering 503
 * `service_unavailable` in the envelope when they cannot be built, e.g. the database is unreachable
 * at cold start), runs `work`, publishes the outbox rows it queued (`runAndRelay`: those and no
 * others; a failure is left to the scheduled relay) and then answers with its result.
 */
export async function serveWithRelay(response: ResultResponse, work: (services: Services) => Promise<HttpResult>): Promise<void> {
  const services = await getServices().catch((error: unknown) => error as Error);
  if (services instanceof Error) {
    sendResult(response, errorResult(new TransientError('service_unavailable', 'The service is starting or its database is unreachable', {}, services)));
    return;
  }
  sendResult(response, await runAndRelay(services, () => work(services)));
}
