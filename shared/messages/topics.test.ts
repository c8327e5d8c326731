import { fieldContext, loadFieldCipher } from '../field-crypto/index.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { loadTopology, repositoryRoot } from '../bus/topology.js';
import { avroSchemaFile, TOPIC_SCHEMAS, type TopicName } from './index.js';

const SEALED_ADDRESS = loadFieldCipher().encrypt('new@example.com', fieldContext.mailAddress('00000000-0000-4000-8000-000000000000'));

const PAYMENT_ID = '5d6c4f0e-8a7b-4c3d-9e2f-1a2b3c4d5e6f';
const CHANNEL_ID = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';

/** One valid message and invalid ones per topic: every valid one passes both zod and Avro, every invalid one fails both. */
const FIXTURES: Record<TopicName, { valid: unknown[]; invalid: unknown[] }> = {
  'payment-settled': {
    valid: [{ paymentId: PAYMENT_ID }],
    invalid: [{}, { paymentId: 42 }, { paymentId: null }],
  },
  'invite-requested': {
    valid: [{ paymentId: PAYMENT_ID }],
    invalid: [{}, { paymentId: 42 }],
  },
  'payout-requested': {
    valid: [{ payoutId: PAYMENT_ID }],
    invalid: [{}, { payoutId: true }],
  },
  'payout-quoted': {
    valid: [{ payoutId: PAYMENT_ID }],
    invalid: [{}, { payoutId: false }],
  },
  'transfer-requested': {
    valid: [{ payoutId: PAYMENT_ID }],
    invalid: [{}, { payoutId: 12 }],
  },
  'owner-notification-requested': {
    valid: [{ kind: 'payment_received', channelId: CHANNEL_ID, subjectId: PAYMENT_ID }],
    invalid: [{ kind: 'payment_received', channelId: CHANNEL_ID }, { kind: 1, channelId: CHANNEL_ID, subjectId: 'x' }],
  },
  'subscriber-notification-requested': {
    valid: [{ kind: 'payment_underpaid', subjectId: PAYMENT_ID }, { kind: 'gift_ready', subjectId: PAYMENT_ID }, { kind: 'gift_expired', subjectId: PAYMENT_ID }],
    invalid: [{ kind: 'payment_underpaid' }, { kind: 3, subjectId: PAYMENT_ID }],
  },
  'account-mail-requested': {
    valid: [
      { kind: 'verify_email', accountId: PAYMENT_ID, address: '' },
      // The address travels sealed (field encryption), never in clear.
      { kind: 'email_change_requested', accountId: PAYMENT_ID, address: SEALED_ADDRESS },
      { kind: 'payout_wallet_changed', accountId: PAYMENT_ID, address: '' },
      { kind: 'telegram_linked', accountId: PAYMENT_ID, address: '' },
    ],
    invalid: [
      { kind: 'verify_email', accountId: PAYMENT_ID },
      { kind: 'verify_email', accountId: 7, address: '' },
      { accountId: PAYMENT_ID, address: '' },
    ],
  },
  'operator-alert-requested': {
    valid: [{ alertId: '1' }, { alertId: '9223372036854775807' }],
    invalid: [{}, { alertId: 1 }, { alertId: null }],
  },
  'owner-webhook-requested': {
    valid: [{ deliveryId: PAYMENT_ID }],
    invalid: [{}, { deliveryId: 7 }, { deliveryId: null }],
  },
  'owner-webhook-retries-requested': {
    valid: [{ job: 'retry-owner-webhooks' }],
    invalid: [{}, { job: 7 }],
  },
  'broadcast-requested': {
    valid: [{ job: 'broadcast-tiers', channelIds: [] }, { job: 'dashboard', channelIds: [CHANNEL_ID] }],
    invalid: [{}, { channelId: CHANNEL_ID }, { job: 'dashboard', channelIds: [5] }, { job: 'dashboard', channelIds: null }],
  },
  'outbox-relay-requested': {
    valid: [{ job: 'relay-outbox' }],
    invalid: [{}, { job: 7 }],
  },
  'subscription-expiry-requested': {
    valid: [{ job: 'expire-subscriptions' }],
    invalid: [{}, { job: null }],
  },
  'reconciliation-requested': {
    valid: [{ job: 'reconcile' }],
    invalid: [{}, { job: false }],
  },
  'payout-tracking-requested': {
    valid: [{ job: 'track-payouts' }],
    invalid: [{}, { job: 3 }],
  },
  'conversion-requested': {
    valid: [{ job: 'convert-accumulated' }],
    invalid: [{}, { job: 3 }],
  },
  'threshold-payouts-requested': {
    valid: [{ job: 'run-threshold-payouts' }],
    invalid: [{}, { job: 3 }],
  },
  'renewal-reminders-requested': {
    valid: [{ job: 'remind-subscribers' }],
    invalid: [{}, { job: 3 }],
  },
  'hot-wallet-reconciliation-requested': {
    valid: [{ job: 'reconcile-hot-wallet' }],
    invalid: [{}, { job: 3 }],
  },
};

function avroType(topic: TopicName): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(path.join(repositoryRoot(), avroSchemaFile(topic)), 'utf8')));
}

describe('topic message schemas', () => {
  const topics = Object.keys(TOPIC_SCHEMAS) as TopicName[];

  it.each(topics)('%s: every valid fixture passes zod and Avro', (topic) => {
    const type = avroType(topic);
    for (const message of FIXTURES[topic].valid) {
      expect(TOPIC_SCHEMAS[topic].safeParse(message).success).toBe(true);
      // What Pub/Sub validates is the JSON text we publish.
      expect(type.isValid(JSON.parse(JSON.stringify(message)))).toBe(true);
    }
  });

  it.each(topics)('%s: every invalid fixture fails zod and Avro', (topic) => {
    const type = avroType(topic);
    for (const message of FIXTURES[topic].invalid) {
      expect(TOPIC_SCHEMAS[topic].safeParse(message).success, JSON.stringify(message)).toBe(false);
      expect(type.isValid(message), JSON.stringify(message)).toBe(false);
    }
  });

  // Strings and arrays of strings encode in Pub/Sub's Avro JSON exactly as JSON does; a union would not.
  it.each(topics)('%s: the Avro record has exactly the zod fields, all required strings or string arrays (flat, no unions)', (topic) => {
    const schema = JSON.parse(readFileSync(path.join(repositoryRoot(), avroSchemaFile(topic)), 'utf8')) as {
      fields: { name: string; type: unknown }[];
    };
    const zodShape = (TOPIC_SCHEMAS[topic] as z.ZodObject).shape;
    expect(schema.fields.map((field) => field.name).sort()).toEqual(Object.keys(zodShape).sort());
    for (const field of schema.fields) expect([JSON.stringify('string'), JSON.stringify({ type: 'array', items: 'string' })]).toContain(JSON.stringify(field.type));
    for (const key of Object.keys(zodShape)) expect(zodShape[key]?.safeParse(undefined).success).toBe(false);
  });

  it('lists every topic in pubsub-topics.yaml with its own schema file, and every schema file has a topic', () => {
    const topology = loadTopology();
    const declared = topology.topics.filter((topic) => topic.schemaFile);
    expect(declared.map((topic) => topic.name).sort()).toEqual([...topics].sort());
    for (const topic of declared) expect(topic.schemaFile).toBe(avroSchemaFile(topic.name as TopicName));
    const files = readdirSchemas();
    expect(files.sort()).toEqual(topics.map((topic) => avroSchemaFile(topic)).sort());
  });
});

function readdirSchemas(): string[] {
  return readdirSync(path.join(repositoryRoot(), 'schemas')).map((file) => `schemas/${file}`);
}
