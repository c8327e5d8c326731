import { describe, expect, it } from 'vitest';
import { loadTopology, parseTopology, subscriptionsOf, TopologyError } from './topology.js';

const MINIMAL = `
defaults:
  subscriber: { maxDeliveryAttempts: 10, minBackoffSeconds: 10, maxBackoffSeconds: 600, timeoutSeconds: 60 }
deadLetterSubscriber: record-dead-letter
topics:
  payment-settled:
    schema: schemas/payment-settled.avsc
    deadLetterTopic: payment-settled-dlq
    subscribers:
      - function: settle-payment
        maxDeliveryAttempts: 5
scheduler: {}
`;

describe('pubsub-topics.yaml', () => {
  it('expands defaults, dead-letter topics and the dead-letter subscriber', () => {
    const topology = parseTopology(MINIMAL);
    expect(topology.topics.map((topic) => topic.name)).toEqual(['payment-settled', 'payment-settled-dlq']);
    expect(subscriptionsOf(topology, 'payment-settled')).toEqual([
      {
        function: 'settle-payment',
        topic: 'payment-settled',
        deadLetterTopic: 'payment-settled-dlq',
        maxDeliveryAttempts: 5,
        minBackoffSeconds: 10,
        maxBackoffSeconds: 600,
        timeoutSeconds: 60,
      },
    ]);
    expect(subscriptionsOf(topology, 'payment-settled-dlq')[0]).toMatchObject({ function: 'record-dead-letter', maxDeliveryAttempts: 100 });
    expect(subscriptionsOf(topology, 'payment-settled-dlq')[0]?.deadLetterTopic).toBeUndefined();
    expect(topology.eventFunctions).toEqual(['record-dead-letter', 'settle-payment']);
  });

  it.each([
    ['a max delivery attempts below what Pub/Sub allows', MINIMAL.replace('maxDeliveryAttempts: 5', 'maxDeliveryAttempts: 3'), /maxDeliveryAttempts/],
    ['a function name that is not kebab-case', MINIMAL.replace('function: settle-payment', 'function: settlePayment'), /kebab-case/],
    ['a scheduler job aimed at an unknown topic', MINIMAL.replace('scheduler: {}', 'scheduler:\n  tick: { schedule: "* * * * *", topic: nowhere, body: {} }'), /unknown topic/],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseTopology(text)).toThrow(TopologyError);
    expect(() => parseTopology(text)).toThrow(message);
  });

  it('loads the repository topology: every topic has a dead-letter topic and every job a topic', () => {
    const topology = loadTopology();
    for (const topic of topology.topics.filter((candidate) => candidate.schemaFile)) {
      expect(topology.topics.some((candidate) => candidate.name === topic.deadLetterTopic)).toBe(true);
    }
    expect(topology.schedulerJobs.length).toBeGreaterThan(0);
  });
});
