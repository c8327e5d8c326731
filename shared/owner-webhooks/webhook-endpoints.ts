import { enqueueAccountMail } from '../accounts/index.js';
import { recordAuditEvent } from '../audit/index.js';
import { enqueueMessage } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import { configVars, loadConfig } from '../config/index.js';
import type { Db, Tx } from '../db/index.js';
import { formatPublicId, parsePublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import { cursorAtSql, decodeDeliveryCursor, encodeDeliveryCursor } from './delivery-cursor.js';
import { ownerWebhookError } from './errors.js';
import type { WebhookEventType } from './webhook-events.js';
import type {
  CreateWebhookEndpointInput,
  RotateWebhookSecretInput,
  UpdateWebhookEndpointInput,
  WebhookDeliveryListQuery,
  WebhookDeliveryResource,
  WebhookEndpointResource,
} from './webhook-schemas.js';
import { DEFAULT_ROTATION_OVERLAP_HOURS, endpointSecret } from './webhook-signature.js';
import { webhookUrlProblem, type WebhookUrlSettings } from './webhook-url.js';

/** Endpoints one account may have (not counting deleted ones). */
export const MAX_WEBHOOK_ENDPOINTS = 10;
const DEFAULT_DELIVERY_PAGE = 20;

export interface OwnerWebhookSettings extends WebhookUrlSettings {
  /** OWNER_WEBHOOK_SIGNING_KEY, to show an endpoint's secret on creation and rotation. */
  signingKey: string;
}

/** The dashboard's settings from OWNER_WEBHOOK_SIGNING_KEY (optional there), once per cold start. */
export function loadOwnerWebhookSettings(env: NodeJS.ProcessEnv = process.env): OwnerWebhookSettings | undefined {
  const config = loadConfig({ OWNER_WEBHOOK_SIGNING_KEY: configVars.OWNER_WEBHOOK_SIGNING_KEY.optional() }, env);
  return config.OWNER_WEBHOOK_SIGNING_KEY === undefined ? undefined : { signingKey: config.OWNER_WEBHOOK_SIGNING_KEY };
}

export interface OwnerWebhookDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

/** Who asked, for the audit trail. */
export interface WebhookActor {
  accountId: string;
  requestId?: string;
  ip?: string | undefined;
}

interface EndpointRow {
  id: string;
  url: string;
  description: string;
  events: WebhookEventType[];
  is_enabled: boolean;
  secret_version: number;
  previous_secret_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

const ENDPOINT_COLUMNS = 'id, url, description, events, is_enabled, secret_version, previous_secret_until, created_at, updated_at';

function endpointResource(row: EndpointRow, now: Date): WebhookEndpointResource {
  return {
    id: formatPublicId('webhookEndpoint', row.id),
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.is_enabled,
    secretVersion: row.secret_version,
    previousSecretUntil: row.previous_secret_until !== null && row.previous_secret_until > now ? row.previous_secret_until.toISOString() : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function assertUrl(url: string, settings: WebhookUrlSettings): void {
  const problem = webhookUrlProblem(url, settings);
  if (problem) throw ownerWebhookError('validation_failed', `The webhook URL is refused: it ${problem}; see fields.`, { fields: { url: problem } });
}

/** The endpoint's uuid if it is one of the account's live endpoints. */
async function ownedEndpoint(tx: Tx | Db, accountId: string, publicId: string, lock = false): Promise<EndpointRow> {
  const id = parsePublicIdOr404('webhookEndpoint', publicId);
  const { rows } = await tx.query<EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM owner_webhook_endpoints WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [id, accountId],
  );
  if (!rows[0]) throw ownerWebhookError('webhook_endpoint_not_found', 'No webhook endpoint with this id among yours', { endpointId: publicId });
  return rows[0];
}

function parsePublicIdOr404(kind: 'webhookEndpoint' | 'webhookDelivery', publicId: string): string {
  try {
    return parsePublicId(kind, publicId);
  } catch {
    throw kind === 'webhookEndpoint'
      ? ownerWebhookError('webhook_endpoint_not_found', 'No webhook endpoint with this id among yours', { endpointId: publicId.slice(0, 64) })
      : ownerWebhookError('webhook_delivery_not_found', 'No webhook delivery with this id among yours', { deliveryId: publicId.slice(0, 64) });
  }
}

const audit = (tx: Tx, actor: WebhookActor, at: Date, action: string, endpointId: string, details: Record<string, unknown> = {}) =>
  recordAuditEvent(tx, {
    occurredAt: at,
    actor: { type: 'account', id: actor.accountId },
    action,
    subject: { type: 'account', id: actor.accountId },
    details: { endpointId: formatPublicId('webhookEndpoint', endpointId), ...details },
    requestId: actor.requestId ?? null,
    ip: actor.ip,
  });

/** The host of a URL for the audit trail (a path or query may hold the owner's own token). */
const hostOf = (url: string) => new URL(url).host;

export async function listWebhookEndpoints(deps: OwnerWebhookDeps, accountId: string): Promise<{ items: WebhookEndpointResource[] }> {
  const { rows } = await deps.db.query<EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM owner_webhook_endpoints WHERE account_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`,
    [accountId],
  );
  const now = deps.clock.now();
  return { items: rows.map((row) => endpointResource(row, now)) };
}

/** Mails the owner that events now go somewhere new or are signed with a new secret (a stolen session would do exactly this). */
const mailOwner = (tx: Tx, actor: WebhookActor, now: Date) => enqueueAccountMail(tx, { kind: 'webhook_endpoint_changed', accountId: actor.accountId, now });

/**
 * Registers an endpoint (at most 10 per account; the account row is locked so two requests cannot
 * both take the tenth place) and answers it with its signing secret. `confirm` (the account's
 * password: re-authentication) runs once the input is valid, and the owner is mailed.
 *
 * @throws PermanentError `validation_failed` (`fields.url`), whatever `confirm` throws, `webhook_endpoint_limit_reached`.
 */
export async function createWebhookEndpoint(
  deps: OwnerWebhookDeps,
  settings: OwnerWebhookSettings,
  actor: WebhookActor,
  input: CreateWebhookEndpointInput,
  confirm: () => Promise<void>,
): Promise<WebhookEndpointResource & { secret: string }> {
  assertUrl(input.url, settings);
  await confirm();
  const now = deps.clock.now();
  const row = await deps.db.transaction(async (tx) => {
    await tx.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', [actor.accountId]);
    const { rows: counted } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM owner_webhook_endpoints WHERE account_id = $1 AND deleted_at IS NULL', [actor.accountId]);
    if ((counted[0]?.n ?? 0) >= MAX_WEBHOOK_ENDPOINTS) {
      throw ownerWebhookError('webhook_endpoint_limit_reached', `An account may have at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints; delete one first.`, { limit: MAX_WEBHOOK_ENDPOINTS });
    }
    const { rows } = await tx.query<EndpointRow>(
      `INSERT INTO owner_webhook_endpoints (account_id, url, description, events, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $5) RETURNING ${ENDPOINT_COLUMNS}`,
      [actor.accountId, input.url, input.description ?? '', input.events, now],
    );
    const created = rows[0] as EndpointRow;
    await audit(tx, actor, now, 'webhook_endpoint.created', created.id, { host: hostOf(created.url), events: created.events });
    await mailOwner(tx, actor, now);
    return created;
  });
  deps.logger.info('owner_webhook.endpoint_created', { endpointId: formatPublicId('webhookEndpoint', row.id), host: hostOf(row.url) });
  return { ...endpointResource(row, now), secret: endpointSecret(settings.signingKey, row.id, row.secret_version) };
}

/**
 * Changes an endpoint. A new URL needs `confirmUrlChange` (the account's password: where the events
 * go is what a stolen session would change) and mails the owner; resending the stored URL does not.
 *
 * @throws PermanentError `webhook_endpoint_not_found`, `validation_failed`, whatever
 *   `confirmUrlChange` throws, `webhook_endpoint_changed_meanwhile` (the URL changed between the
 *   check and the update: send it again).
 */
export async function updateWebhookEndpoint(
  deps: OwnerWebhookDeps,
  settings: OwnerWebhookSettings,
  actor: WebhookActor,
  endpointId: string,
  input: UpdateWebhookEndpointInput,
  confirmUrlChange: () => Promise<void>,
): Promise<WebhookEndpointResource> {
  if (input.url !== undefined) assertUrl(input.url, settings);
  // The password check (scrypt) runs before the transaction, never while the row is locked.
  const stored = input.url === undefined ? undefined : await ownedEndpoint(deps.db, actor.accountId, endpointId);
  const isUrlConfirmed = stored !== undefined && stored.url !== input.url;
  if (isUrlConfirmed) await confirmUrlChange();
  const now = deps.clock.now();
  const row = await deps.db.transaction(async (tx) => {
    const before = await ownedEndpoint(tx, actor.accountId, endpointId, true);
    const isUrlChange = input.url !== undefined && input.url !== before.url;
    if (isUrlChange && (!isUrlConfirmed || before.url !== stored?.url)) {
      throw ownerWebhookError('webhook_endpoint_changed_meanwhile', 'The endpoint changed while this request was checked; load it and send the change again.', { endpointId });
    }
    const { rows } = await tx.query<EndpointRow>(
      `UPDATE owner_webhook_endpoints SET url = coalesce($2, url), description = coalesce($3, description), events = coalesce($4, events),
              is_enabled = coalesce($5, is_enabled), updated_at = $6
        WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      [before.id, input.url ?? null, input.description ?? null, input.events ?? null, input.enabled ?? null, now],
    );
    const after = rows[0] as EndpointRow;
    await audit(tx, actor, now, 'webhook_endpoint.updated', before.id, {
      fields: Object.keys(input).filter((field) => field !== 'currentPassword').sort(),
      ...(input.url !== undefined ? { host: hostOf(after.url) } : {}),
      ...(input.enabled !== undefined ? { enabled: after.is_enabled } : {}),
    });
    if (isUrlChange) await mailOwner(tx, actor, now);
    return after;
  });
  return endpointResource(row, now);
}

/**
 * Deletes an endpoint (kept as a row for its delivery log; pending deliveries end as failed when
 * their turn comes). @throws PermanentError `webhook_endpoint_not_found`.
 */
export async function deleteWebhookEndpoint(deps: OwnerWebhookDeps, actor: WebhookActor, endpointId: string): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const endpoint = await ownedEndpoint(tx, actor.accountId, endpointId, true);
    await tx.query('UPDATE owner_webhook_endpoints SET deleted_at = $2, updated_at = $2 WHERE id = $1', [endpoint.id, now]);
    await audit(tx, actor, now, 'webhook_endpoint.deleted', endpoint.id, { host: hostOf(endpoint.url) });
  });
}

/**
 * A new signing secret: the version goes up, and the previous secret keeps signing every delivery
 * (a second `v1`) for `overlapHours` (default 24, at most 168), so the owner can switch their
 * receiver without missing one. Whoever holds a secret can forge events to the owner's receiver: the
 * owner must `confirm` (the account's password), and is mailed.
 * @throws PermanentError `webhook_endpoint_not_found`, whatever `confirm` throws.
 */
export async function rotateWebhookSecret(
  deps: OwnerWebhookDeps,
  settings: OwnerWebhookSettings,
  actor: WebhookActor,
  endpointId: string,
  input: RotateWebhookSecretInput,
  confirm: () => Promise<void>,
): Promise<WebhookEndpointResource & { secret: string }> {
  await ownedEndpoint(deps.db, actor.accountId, endpointId);
  await confirm();
  const now = deps.clock.now();
  const overlapHours = input.overlapHours ?? DEFAULT_ROTATION_OVERLAP_HOURS;
  const row = await deps.db.transaction(async (tx) => {
    const endpoint = await ownedEndpoint(tx, actor.accountId, endpointId, true);
    const { rows } = await tx.query<EndpointRow>(
      `UPDATE owner_webhook_endpoints SET secret_version = secret_version + 1, updated_at = $2,
              previous_secret_until = CASE WHEN $3::int > 0 THEN $2::timestamptz + make_interval(hours => $3::int) END
        WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      [endpoint.id, now, overlapHours],
    );
    const rotated = rows[0] as EndpointRow;
    await audit(tx, actor, now, 'webhook_endpoint.secret_rotated', endpoint.id, { fromVersion: endpoint.secret_version, toVersion: rotated.secret_version, overlapHours });
    await mailOwner(tx, actor, now);
    return rotated;
  });
  return { ...endpointResource(row, now), secret: endpointSecret(settings.signingKey, row.id, row.secret_version) };
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  type: WebhookDeliveryResource['eventType'];
  state: WebhookDeliveryResource['state'];
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  resend_of: string | null;
  created_at: Date;
  cursor_at: string;
  attempt_log: { attempt: number; started_at: string; duration_ms: number; status_code: number | null; error_class: string | null; response_body: string | null }[];
}

const DELIVERY_SELECT = `SELECT d.id, d.endpoint_id, d.event_id, v.type, d.state, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error,
            d.resend_of, d.created_at, ${cursorAtSql('d.created_at')} AS cursor_at,
            coalesce((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'started_at', a.started_at, 'duration_ms', a.duration_ms,
                        'status_code', a.status_code, 'error_class', a.error_class, 'response_body', a.response_body) ORDER BY a.attempt)
                        FROM owner_webhook_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS attempt_log
       FROM owner_webhook_deliveries d JOIN owner_webhook_events v ON v.id = d.event_id`;

function deliveryResource(row: DeliveryRow): WebhookDeliveryResource {
  return {
    id: formatPublicId('webhookDelivery', row.id),
    endpointId: formatPublicId('webhookEndpoint', row.endpoint_id),
    eventId: formatPublicId('webhookEvent', row.event_id),
    eventType: row.type,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    resendOf: row.resend_of === null ? null : formatPublicId('webhookDelivery', row.resend_of),
    createdAt: row.created_at.toISOString(),
    attemptLog: row.attempt_log.map((attempt) => ({
      attempt: attempt.attempt,
      startedAt: new Date(attempt.started_at).toISOString(),
      durationMs: attempt.duration_ms,
      statusCode: attempt.status_code,
      errorClass: attempt.error_class,
      responseBody: attempt.response_body,
    })),
  };
}

/**
 * An endpoint's deliveries, newest first, in cursor pages (as the earnings lists), each with its
 * attempt log. @throws PermanentError `webhook_endpoint_not_found`, `invalid_cursor`.
 */
export async function listWebhookDeliveries(deps: OwnerWebhookDeps, accountId: string, endpointId: string, query: WebhookDeliveryListQuery): Promise<{ items: WebhookDeliveryResource[]; nextCursor: string | null }> {
  const id = parsePublicIdOr404('webhookEndpoint', endpointId);
  const { rows: owned } = await deps.db.query('SELECT 1 FROM owner_webhook_endpoints WHERE id = $1 AND account_id = $2', [id, accountId]);
  if (owned.length === 0) throw ownerWebhookError('webhook_endpoint_not_found', 'No webhook endpoint with this id among yours', { endpointId });
  const limit = query.limit === undefined ? DEFAULT_DELIVERY_PAGE : Number(query.limit);
  const after = query.cursor === undefined ? undefined : decodeDeliveryCursor(query.cursor);
  const { rows } = await deps.db.query<DeliveryRow>(
    `${DELIVERY_SELECT}
      WHERE d.endpoint_id = $1 ${after ? 'AND (d.created_at, d.id) < ($3::timestamptz, $4::uuid)' : ''}
      ORDER BY d.created_at DESC, d.id DESC LIMIT $2`,
    after ? [id, limit + 1, after.at, after.id] : [id, limit + 1],
  );
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return { items: kept.map(deliveryResource), nextCursor: rows.length > limit && last ? encodeDeliveryCursor({ at: last.cursor_at, id: last.id }) : null };
}

/**
 * Sends a delivery's event to its endpoint again, as a new delivery (`resendOf` names the one it
 * repeats) with its own attempts and 3-day retry window; queued in the same transaction.
 *
 * @throws PermanentError `webhook_delivery_not_found`, `webhook_endpoint_deleted`.
 */
export async function resendWebhookDelivery(deps: OwnerWebhookDeps, actor: WebhookActor, deliveryId: string): Promise<WebhookDeliveryResource> {
  const id = parsePublicIdOr404('webhookDelivery', deliveryId);
  const now = deps.clock.now();
  const created = await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ event_id: string; endpoint_id: string; deleted_at: Date | null }>(
      `SELECT d.event_id, d.endpoint_id, e.deleted_at FROM owner_webhook_deliveries d JOIN owner_webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = $1 AND e.account_id = $2`,
      [id, actor.accountId],
    );
    const original = rows[0];
    if (!original) throw ownerWebhookError('webhook_delivery_not_found', 'No webhook delivery with this id among yours', { deliveryId });
    if (original.deleted_at !== null) throw ownerWebhookError('webhook_endpoint_deleted', 'The endpoint of this delivery was deleted; nothing can be sent to it.', { deliveryId });
    const { rows: inserted } = await tx.query<{ id: string }>(
      `INSERT INTO owner_webhook_deliveries (event_id, endpoint_id, state, next_attempt_at, enqueued_at, resend_of, created_at, state_changed_at)
       VALUES ($1, $2, 'pending', $3, $3, $4, $3, $3) RETURNING id`,
      [original.event_id, original.endpoint_id, now, id],
    );
    const newId = (inserted[0] as { id: string }).id;
    await enqueueMessage(tx, 'owner-webhook-requested', { deliveryId: newId }, { at: now, dedupeKey: `owner-webhook-requested:${newId}:resend` });
    await audit(tx, actor, now, 'webhook_delivery.resent', original.endpoint_id, { deliveryId: formatPublicId('webhookDelivery', id) });
    const { rows: fresh } = await tx.query<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.id = $1`, [newId]);
    return fresh[0] as DeliveryRow;
  });
  return deliveryResource(created);
}
