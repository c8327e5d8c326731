import path from 'node:path';
import { tmpdir } from 'node:os';
import { PubSub } from '@google-cloud/pubsub';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { collectUnhandledRejections } from '../testing/unhandled-rejections.js';
import { createPubSubPublisher } from './publisher.js';

/**
 * A real client whose credentials cannot load (a key file that does not exist), aimed at Google's
 * endpoint rather than an emulator (which needs no credentials): starting its publishing stub fails
 * at once, without any network.
 */
function pubsubWithoutCredentials(): PubSub {
  return new PubSub({ projectId: 'paygateprime-test', apiEndpoint: 'pubsub.googleapis.com', keyFilename: path.join(tmpdir(), 'paygateprime-no-such-key.json') });
}

/** A publisher that loads a new client that cannot start each time it asks for one, and how many it loaded. */
function publisherLoadingClients() {
  let loads = 0;
  const publisher = createPubSubPublisher({
    pubsub: async () => {
      loads += 1;
      return pubsubWithoutCredentials();
    },
    timeoutMs: 5_000,
  });
  return { publisher, loads: () => loads };
}

describe('createPubSubPublisher when the client cannot start (credentials)', () => {
  const unhandled = collectUnhandledRejections();

  it('fails the publish as transient and leaves no unhandled rejection (the Functions Framework would answer the running request 500)', async () => {
    const publisher = createPubSubPublisher({ pubsub: pubsubWithoutCredentials(), timeoutMs: 5_000 });
    const failure = await publisher.publish('payment-settled', { paymentId: 'p1' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ code: 'publish_failed', isRetryable: true, context: { topic: 'payment-settled' } });
    expect(await unhandled.settle()).toEqual([]);
  });

  it('starts over on the next publish instead of keeping the failed client', async () => {
    const { publisher, loads } = publisherLoadingClients();
    await expect(publisher.publish('payment-settled', { n: 1 })).rejects.toMatchObject({ code: 'publish_failed' });
    await expect(publisher.publish('payment-settled', { n: 2 })).rejects.toMatchObject({ code: 'publish_failed' });
    expect(loads()).toBe(2);
    expect(await unhandled.settle()).toEqual([]);
  });

  it('fails concurrent publishes on one failed start alike, each as transient, and starts once for them', async () => {
    const { publisher, loads } = publisherLoadingClients();
    const outcomes = await Promise.allSettled(['payment-settled', 'invite-requested', 'payout-requested'].map((topic) => publisher.publish(topic, { topic })));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const outcome of outcomes) expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'publish_failed', isRetryable: true });
    expect(loads()).toBe(1);
    expect(await unhandled.settle()).toEqual([]);
  });

  it('drops the failed stub of a client it was given, so the next publish builds a new one', async () => {
    const pubsub = pubsubWithoutCredentials();
    const publisher = createPubSubPublisher({ pubsub, timeoutMs: 5_000 });
    await expect(publisher.publish('payment-settled', { n: 1 })).rejects.toMatchObject({ code: 'publish_failed' });
    expect(pubsub.api.PublisherClient).toBeUndefined();
    expect(await unhandled.settle()).toEqual([]);
  });
});
