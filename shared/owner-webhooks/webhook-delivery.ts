import { enqueueAccountMail } from '../accounts/index.js';
import { recordAuditEvent } from '../audit/index.js';
import { outboxInsertSql, trackInsertedOutboxRows } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Tx } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import { ownerWebhookError } from './errors.js';
import { SIGNATURE_HEADER, signatureHeader, signingSecrets } from './webhook-signature.js';
import { type PostOutcome, postPinned } from './webhook-transport.js';
import { type HostResolver, resolveWebhookTarget, systemResolver, type WebhookUrlSettings } from './webhook-url.js';

const MINUTE = 60;
const HOUR = 3_600;
/** A delivery is retried for this long after it was created, then `failed`. */
export const RETRY_WINDOW_SECONDS = 3 * 24 * HOUR;
/** The longest wait between two attempts. */
const MAX_RETRY_DELAY_SECONDS = 12 * HOUR;
/** Default limit on one POST, connect to last byte. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** How long a delivery holds its row while it POSTs: the timeout plus room for the bookkeeping. */
const LEASE_SECONDS = 60;

/** Wait after the n-th failed attempt: 1 min, 2, 4, … doubling, at most 12 h (about 14 attempts in 3 days). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(MINUTE * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_SECONDS);
}

export interface WebhookDeliverySettings extends WebhookUrlSettings {
  /** OWNER_WEBHOOK_SIGNING_KEY: endpoint secrets are derived from it. */
  signingKey: string;
  /** DNS, injected in tests (a name that resolves to a private address). Default the system resolver. */
  resolver?: HostResolver;
  timeoutMs?: number;
}

export interface WebhookDeliveryDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

export type WebhookDeliveryOutcome = 'delivered' | 'retry_scheduled' | 'failed' | 'not_due' | 'in_progress' | 'finished_already';

interface ClaimedDelivery {
  id: string;
  attempts: number;
  created_at: Date;
  endpoint_id: string;
  url: string;
  is_enabled: boolean;
  deleted_at: Date | null;
  secret_version: number;
  previous_secret_until: Date | null;
  event_id: string;
  type: string;
  payload: Record<string, unknown>;
  event_created_at: Date;
}

/** The JSON body of an event, the same bytes for every delivery and resend of it. */
export function webhookEventBody(event: { id: string; type: string; createdAt: Date; data: Record<string, unknown> }): string {
  return JSON.stringify({ id: formatPublicId('webhookEvent', event.id), type: event.type, created: Math.floor(event.createdAt.getTime() / 1000), data: event.data });
}

/**
 * The deliver-owner-webhook stage, for one `owner-webhook-requested` message (a delivery id):
 *
 * - claims the delivery (`leased_until`) if it is pending and due: a duplicate message, concurrent or
 *   late, finds it leased, delivered or not yet due and does nothing, so one attempt is one POST;
 * - an endpoint disabled or deleted since ends the delivery as `failed`;
 * - resolves the host and refuses any private address (`refused_address`), then POSTs the signed
 *   event pinned to the checked address (no redirects, `timeoutMs`);
 * - records the attempt (status, duration, error class, ≤ 1 KiB of the answer) and the outcome in one
 *   transaction: a 2xx is `delivered`; anything else schedules the next attempt
 *   (`retryDelaySeconds`), and once the next one would fall past 3 days the delivery is `failed`;
 *   an endpoint that has delivered nothing since that delivery was created (3 days of failures) is
 *   then disabled, audited, and its owner mailed (`disableFailingEndpoint`).
 *
 * Nothing here is retried by Pub/Sub: the sweep (`requeueDueWebhookDeliveries`) queues due attempts.
 * Only a database failure is thrown (redelivered); an unknown delivery id is a `PermanentError`.
 */
export async function deliverOwnerWebhook(deps: WebhookDeliveryDeps, settings: WebhookDeliverySettings, deliveryId: string): Promise<WebhookDeliveryOutcome> {
  const startedAt = deps.clock.now();
  const claimed = await claimDelivery(deps.db, deliveryId, startedAt);
  if (typeof claimed === 'string') return claimed;
  const log = { deliveryId: formatPublicId('webhookDelivery', claimed.id), endpointId: formatPublicId('webhookEndpoint', claimed.endpoint_id), attempt: claimed.attempts };
  if (!claimed.is_enabled || claimed.deleted_at !== null) {
    const reason = claimed.deleted_at !== null ? 'endpoint_deleted' : 'endpoint_disabled';
    await deps.db.query(
      `UPDATE owner_webhook_deliveries SET state = 'failed', next_attempt_at = NULL, leased_until = NULL, last_error = $3, state_changed_at = $2,
              attempts = attempts - 1
        WHERE id = $1 AND state = 'pending'`,
      [claimed.id, startedAt, reason],
    );
    deps.logger.info('owner_webhook.skipped', { ...log, reason });
    return 'failed';
  }

  const body = webhookEventBody({ id: claimed.event_id, type: claimed.type, createdAt: claimed.event_created_at, data: claimed.payload });
  const timestamp = Math.floor(startedAt.getTime() / 1000);
  const secrets = signingSecrets(settings.signingKey, { id: claimed.endpoint_id, secretVersion: claimed.secret_version, previousSecretUntil: claimed.previous_secret_until }, startedAt);
  const target = await resolveWebhookTarget(claimed.url, settings.resolver ?? systemResolver, settings);
  const outcome: PostOutcome | { errorClass: 'dns' | 'refused_address'; detail: string } =
    'refused' in target
      ? { errorClass: target.refused, detail: target.detail }
      : await postPinned(
          target,
          { [SIGNATURE_HEADER]: signatureHeader(secrets, timestamp, body), 'PayGate-Event-Id': formatPublicId('webhookEvent', claimed.event_id), 'PayGate-Delivery-Id': log.deliveryId },
          body,
          settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        );
  const finishedAt = deps.clock.now();
  const durationMs = Math.max(0, finishedAt.getTime() - startedAt.getTime());
  const statusCode = 'statusCode' in outcome ? outcome.statusCode : null;
  const isDelivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
  const errorClass = 'errorClass' in outcome ? outcome.errorClass : isDelivered ? null : statusCode !== null && statusCode >= 300 && statusCode < 400 ? 'redirect' : 'http_status';
  const nextAttemptAt = new Date(finishedAt.getTime() + retryDelaySeconds(claimed.attempts) * 1000);
  const isOutOfTime = nextAttemptAt.getTime() > claimed.created_at.getTime() + RETRY_WINDOW_SECONDS * 1000;
  const state = isDelivered ? 'delivered' : isOutOfTime ? 'failed' : 'pending';
  const lastError = isDelivered ? null : 'detail' in outcome ? `${outcome.errorClass}: ${outcome.detail}`.slice(0, 200) : `HTTP ${statusCode}`;
  let isEndpointDisabled = false;
  await deps.db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO owner_webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error_class, response_body)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [claimed.id, claimed.attempts, startedAt, durationMs, statusCode, errorClass, 'responseBody' in outcome ? outcome.responseBody : null],
    );
    await tx.query(
      `UPDATE owner_webhook_deliveries SET state = $3, leased_until = NULL, last_status_code = $4, last_error = $5,
              next_attempt_at = CASE WHEN $3 = 'pending' THEN $6::timestamptz END,
              state_changed_at = CASE WHEN $3 = 'pending' THEN state_changed_at ELSE $7 END
        WHERE id = $1 AND state = 'pending' AND attempts = $2`,
      [claimed.id, claimed.attempts, state, statusCode, lastError, nextAttemptAt, finishedAt],
    );
    if (state === 'failed') isEndpointDisabled = await disableFailingEndpoint(tx, claimed.endpoint_id, claimed.created_at, finishedAt);
  });
  if (isEndpointDisabled) deps.logger.warn('owner_webhook.endpoint_disabled', { endpointId: log.endpointId, reason: 'failing_for_3_days' });
  const fields = { ...log, statusCode, errorClass, durationMs, host: new URL(claimed.url).host };
  if (state === 'delivered') deps.logger.info('owner_webhook.delivered', fields);
  else if (state === 'failed') deps.logger.warn('owner_webhook.failed', { ...fields, detail: 'retries exhausted after 3 days' });
  else deps.logger.info('owner_webhook.retry_scheduled', { ...fields, nextAttemptAt });
  return state === 'delivered' ? 'delivered' : state === 'failed' ? 'failed' : 'retry_scheduled';
}

/**
 * An endpoint whose delivery just ran out of its 3 days, and that has delivered nothing since that
 * delivery was created, is failing for good: it is disabled (its other pending deliveries then end
 * `endpoint_disabled`), audited as the system's doing, and its owner mailed to fix it and resend.
 * One delivered event in those days keeps it enabled. Runs in the attempt's transaction.
 */
async function disableFailingEndpoint(tx: Tx, endpointId: string, failingSince: Date, now: Date): Promise<boolean> {
  const { rows } = await tx.query<{ account_id: string }>(
    `UPDATE owner_webhook_endpoints e SET is_enabled = false, updated_at = $3
      WHERE e.id = $1 AND e.is_enabled AND e.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM owner_webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'delivered' AND d.state_changed_at >= $2)
      RETURNING e.account_id`,
    [endpointId, failingSince, now],
  );
  const accountId = rows[0]?.account_id;
  if (accountId === undefined) return false;
  await recordAuditEvent(tx, {
    occurredAt: now,
    actor: { type: 'system' },
    action: 'webhook_endpoint.disabled',
    subject: { type: 'account', id: accountId },
    details: { endpointId: formatPublicId('webhookEndpoint', endpointId), reason: 'failing_for_3_days' },
    requestId: null,
  });
  await enqueueAccountMail(tx, { kind: 'webhook_endpoint_disabled', accountId, now });
  return true;
}

async function claimDelivery(db: Db, deliveryId: string, now: Date): Promise<ClaimedDelivery | Exclude<WebhookDeliveryOutcome, 'delivered' | 'retry_scheduled' | 'failed'>> {
  const { rows } = await db.query<ClaimedDelivery>(
    `WITH claimed AS (
       UPDATE owner_webhook_deliveries SET leased_until = $2::timestamptz + make_interval(secs => $3), attempts = attempts + 1
        WHERE id = $1 AND state = 'pending' AND next_attempt_at <= $2 AND (leased_until IS NULL OR leased_until <= $2)
       RETURNING id, attempts, created_at, endpoint_id, event_id)
     SELECT c.id, c.attempts, c.created_at, c.endpoint_id, e.url, e.is_enabled, e.deleted_at, e.secret_version, e.previous_secret_until,
            c.event_id, v.type, v.payload, v.created_at AS event_created_at
       FROM claimed c JOIN owner_webhook_endpoints e ON e.id = c.endpoint_id JOIN owner_webhook_events v ON v.id = c.event_id`,
    [deliveryId, now, LEASE_SECONDS],
  );
  if (rows[0]) return rows[0];
  const { rows: found } = await db.query<{ state: string; leased: boolean }>(
    'SELECT state, coalesce(leased_until > $2, false) AS leased FROM owner_webhook_deliveries WHERE id = $1',
    [deliveryId, now],
  );
  const row = found[0];
  if (!row) throw ownerWebhookError('unknown_webhook_delivery', 'No webhook delivery has this id', { deliveryId });
  if (row.state !== 'pending') return 'finished_already';
  return row.leased ? 'in_progress' : 'not_due';
}

/** Due deliveries whose message went out at least this long ago are queued again. */
const REQUEUE_AFTER_SECONDS = 5 * MINUTE;

// One message per delivery and sweep instant: two overlapping sweeps cannot queue it twice.
const REQUEUE_SQL = outboxInsertSql('owner-webhook-requested', {
  from: 'due',
  payload: `jsonb_build_object('deliveryId', due.id::text)`,
  dedupeKey: `'owner-webhook-requested:' || due.id::text || ':' || to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS')`,
  at: '$1',
});

/**
 * The retry-owner-webhooks sweep (every minute): queues one `owner-webhook-requested` message for
 * every pending delivery that is due, not held by a delivery in progress, and whose last message was
 * queued at least 5 minutes ago (a lost message, a crashed delivery, a retry whose time has come), in
 * one transaction. Returns how many it queued (at most `limit`).
 */
export async function requeueDueWebhookDeliveries(deps: { db: Db; clock: Clock }, options: { limit?: number } = {}): Promise<number> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: bigint }>(
      `WITH due AS (
         UPDATE owner_webhook_deliveries SET enqueued_at = $1
          WHERE id IN (SELECT id FROM owner_webhook_deliveries
                        WHERE state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
                          AND (enqueued_at <= $1::timestamptz - make_interval(secs => $2) OR enqueued_at < next_attempt_at)
                        ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING id)
       ${REQUEUE_SQL}`,
      [now, REQUEUE_AFTER_SECONDS, options.limit ?? 500],
    );
    trackInsertedOutboxRows(rows.map((row) => BigInt(row.id)));
    return rows.length;
  });
}
