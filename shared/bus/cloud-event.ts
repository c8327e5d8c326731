import { PermanentError } from '../errors/index.js';
import { busError } from './errors.js';

/**
 * The Pub/Sub → function envelope, exactly as a gen2 function receives it from Eventarc: a binary
 * CloudEvent whose data is `MessagePublishedData` (googleapis/google-cloudevents
 * proto/google/events/cloud/pubsub/v1/data.proto). Real payloads carry both camelCase and
 * snake_case ids (`messageId` / `message_id`), so both are produced and accepted.
 */
export const MESSAGE_PUBLISHED_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';

/** Our own message id attribute: the de-duplication key that survives a re-publish. */
export const MESSAGE_ID_ATTRIBUTE = 'pgp_message_id';

export interface PubSubMessage {
  /** Pub/Sub's id for this publish. */
  pubsubMessageId: string;
  /** The id consumers de-duplicate on: our `pgp_message_id` attribute, else Pub/Sub's id. */
  messageId: string;
  publishTime: Date;
  attributes: Record<string, string>;
  /** The message body as published (UTF-8 JSON text). */
  data: string;
  /** Topic name, from the CloudEvent source (`//pubsub.googleapis.com/projects/P/topics/T`). */
  topic: string | undefined;
  subscription: string | undefined;
}

export interface BinaryCloudEventRequest {
  headers: Record<string, string>;
  body: string;
}

export function buildPubSubCloudEvent(input: {
  projectId: string;
  topic: string;
  subscription: string;
  pubsubMessageId: string;
  publishTime: Date;
  data: string;
  attributes: Record<string, string>;
}): BinaryCloudEventRequest {
  const publishTime = input.publishTime.toISOString();
  const body = {
    message: {
      data: Buffer.from(input.data, 'utf8').toString('base64'),
      attributes: input.attributes,
      messageId: input.pubsubMessageId,
      message_id: input.pubsubMessageId,
      publishTime,
      publish_time: publishTime,
    },
    subscription: `projects/${input.projectId}/subscriptions/${input.subscription}`,
  };
  return {
    headers: {
      'content-type': 'application/json',
      'ce-id': input.pubsubMessageId,
      'ce-specversion': '1.0',
      'ce-type': MESSAGE_PUBLISHED_TYPE,
      'ce-source': `//pubsub.googleapis.com/projects/${input.projectId}/topics/${input.topic}`,
      'ce-time': publishTime,
    },
    body: JSON.stringify(body),
  };
}

function malformed(reason: string): PermanentError {
  return busError('malformed_envelope', `Not a Pub/Sub MessagePublished CloudEvent: ${reason}`);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Decodes the CloudEvent a function receives; a malformed envelope is a permanent error. */
export function decodePubSubCloudEvent(event: { id?: string; source?: string; data?: unknown }): PubSubMessage {
  const data = asRecord(typeof event.data === 'string' ? safeJson(event.data) : event.data);
  const message = asRecord(data?.message);
  if (!message) throw malformed('data.message is missing');
  const pubsubMessageId = message.messageId ?? message.message_id ?? event.id;
  if (typeof pubsubMessageId !== 'string' || pubsubMessageId === '') throw malformed('no message id');
  const encoded = message.data;
  if (typeof encoded !== 'string') throw malformed('data.message.data is missing');
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(asRecord(message.attributes) ?? {})) {
    if (typeof value === 'string') attributes[key] = value;
  }
  const publishTimeText = message.publishTime ?? message.publish_time;
  const publishTime = typeof publishTimeText === 'string' ? new Date(publishTimeText) : new Date(Number.NaN);
  if (Number.isNaN(publishTime.getTime())) throw malformed('no valid publishTime');
  const topic = /\/topics\/([^/]+)$/.exec(event.source ?? '')?.[1];
  const ourId = attributes[MESSAGE_ID_ATTRIBUTE];
  return {
    pubsubMessageId,
    messageId: ourId && ourId.length > 0 ? ourId : pubsubMessageId,
    publishTime,
    attributes,
    data: Buffer.from(encoded, 'base64').toString('utf8'),
    topic,
    subscription: typeof data?.subscription === 'string' ? data.subscription : undefined,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
