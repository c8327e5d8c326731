import { outboxInsertSql, trackInsertedOutboxRows } from '../bus/index.js';
import type { Tx } from '../db/index.js';

/** The events an owner can subscribe an endpoint to. */
export const WEBHOOK_EVENT_TYPES = [
  'payment.settled',
  'subscription.started',
  'subscription.renewed',
  'subscription.ended',
  'payout.completed',
  'payout.failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Scalars only: ids in public form, amounts and times as strings. Never a wallet address or an email. */
export type WebhookEventData = Record<string, string | null>;

export interface WebhookEventInput {
  /** The channel owner's account (the endpoints are looked up by it). */
  accountId: string;
  type: WebhookEventType;
  /** What caused it, unique per type (`payment:<uuid>`): a repeated effect records nothing new. */
  sourceKey: string;
  data: WebhookEventData;
  at: Date;
}

/** An access grant's subscription news: a settled payment, a trial or a claimed gift. */
export interface SubscriptionGrantNews {
  accountId: string;
  channelPublicId: string;
  telegramUserId: bigint;
  /** What granted the period; `paymentPublicId` is set for a payment only. */
  grant: { kind: 'payment' | 'trial' | 'gift'; id: string; paymentPublicId?: string };
  extension: { subscriptionPublicId: string; startsAt: Date; expiresAt: Date; isRenewal: boolean };
  at: Date;
}

/**
 * `subscription.started` (or `.renewed` when the period stacks on a running subscription) for one
 * access grant, keyed by the grant so a repeated effect records it once. The one shape for every grant.
 */
export function subscriptionGrantEvent(news: SubscriptionGrantNews): WebhookEventInput {
  return {
    accountId: news.accountId,
    type: news.extension.isRenewal ? 'subscription.renewed' : 'subscription.started',
    sourceKey: `${news.grant.kind}:${news.grant.id}`,
    at: news.at,
    data: {
      subscriptionId: news.extension.subscriptionPublicId,
      channelId: news.channelPublicId,
      grant: news.grant.kind,
      paymentId: news.grant.paymentPublicId ?? null,
      telegramUserId: news.telegramUserId.toString(),
      periodStartsAt: news.extension.startsAt.toISOString(),
      expiresAt: news.extension.expiresAt.toISOString(),
    },
  };
}

/**
 * SQL for "does this owner have a live endpoint?", for the effect's own first statement to select
 * (`… AS has_webhooks`), so that an owner without endpoints costs the effect no statement at all.
 * `accountColumn` is the SQL naming the owner's account id.
 */
export const hasLiveWebhookEndpointSql = (accountColumn: string) =>
  `EXISTS (SELECT 1 FROM owner_webhook_endpoints whe WHERE whe.account_id = ${accountColumn} AND whe.is_enabled AND whe.deleted_at IS NULL)`;

const QUEUE_DELIVERIES_SQL = outboxInsertSql('owner-webhook-requested', {
  from: 'deliveries d',
  payload: `jsonb_build_object('deliveryId', d.id::text)`,
  dedupeKey: `'owner-webhook-requested:' || d.id::text || ':0'`,
  at: 'd.created_at',
});

/**
 * Records events in the caller's transaction (the effect that caused them), in ONE statement: for
 * each event with at least one enabled endpoint subscribed to its type, the event row, one pending
 * delivery per such endpoint and one `owner-webhook-requested` outbox message per delivery. An event
 * nobody listens to writes nothing; an event already recorded (same source and type) writes nothing
 * again, so a redelivered stage message cannot send it twice. Returns how many deliveries it queued.
 */
export async function recordOwnerWebhookEvents(tx: Tx, events: readonly WebhookEventInput[]): Promise<number> {
  if (events.length === 0) return 0;
  const source = events.map((event) => ({
    account_id: event.accountId,
    type: event.type,
    source_key: event.sourceKey,
    payload: event.data,
    created_at: event.at.toISOString(),
  }));
  const { rows } = await tx.query<{ id: bigint }>(
    `WITH source AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(account_id uuid, type text, source_key text, payload jsonb, created_at timestamptz)),
     targets AS (
       SELECT s.*, e.id AS endpoint_id FROM source s
         JOIN owner_webhook_endpoints e ON e.account_id = s.account_id AND e.is_enabled AND e.deleted_at IS NULL AND s.type = ANY (e.events)),
     events AS (
       INSERT INTO owner_webhook_events (account_id, type, source_key, payload, created_at)
       SELECT DISTINCT ON (source_key, type) account_id, type, source_key, payload, created_at FROM targets
       ON CONFLICT (source_key, type) DO NOTHING
       RETURNING id, type, source_key),
     deliveries AS (
       INSERT INTO owner_webhook_deliveries (event_id, endpoint_id, state, next_attempt_at, enqueued_at, created_at, state_changed_at)
       SELECT ev.id, t.endpoint_id, 'pending', t.created_at, t.created_at, t.created_at, t.created_at
         FROM events ev JOIN targets t ON t.source_key = ev.source_key AND t.type = ev.type
       RETURNING id, created_at),
     queued AS (${QUEUE_DELIVERIES_SQL})
     SELECT id FROM queued`,
    [JSON.stringify(source)],
  );
  trackInsertedOutboxRows(rows.map((row) => BigInt(row.id)));
  return rows.length;
}
