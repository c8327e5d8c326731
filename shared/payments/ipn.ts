import { createHash, randomUUID } from 'node:crypto';
import { deadLetterAction, recordDeadLetter } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { PermanentError } from '../errors/index.js';
import { errorResult, type HttpResult } from '../http-entry/index.js';
import type { Logger } from '../logging/index.js';
import {
  authenticateIpnBody,
  type IpnAuthentication,
  type IpnVerification,
  type NowPaymentsPayment,
  parseNowPaymentsPayment,
  readIpnPayloadExactly,
  verifyIpnSignature,
} from '../nowpayments/index.js';
import { noteIpnSignatureFailure, type PaymentBurstLimits } from './payment-bursts.js';
import { acceptedVersions, type RotatingSecret } from '../secrets/index.js';
import { applyPaymentUpdate, isProgressStatus, type PaymentEventRecord, paymentEventInsertSql, paymentEventValues, recordPaymentReport } from './payment-updates.js';
import { paymentError } from './errors.js';

/** NowPayments IPN bodies are a few KiB; anything near this is not one. */
export const MAX_IPN_BODY_BYTES = 64 * 1024;

export interface IpnDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** NOWPAYMENTS_IPN_SECRET, or the rotating secret: the previous value is accepted until its overlap ends. */
  ipnSecret: string | RotatingSecret;
  /** Re-reads the secret when a signature matches no known value (another instance read a rotation first); undefined = unchanged. Optional. */
  reloadIpnSecret?: () => Promise<RotatingSecret | undefined>;
  isAllowedIp: (ip: string | undefined) => boolean;
  /** Burst alerts on bad signatures and failed payments (`loadBurstLimits`); defaults when unset. */
  bursts?: PaymentBurstLimits;
}

export interface IpnRequest {
  rawBody: string;
  signature: string | undefined;
  clientIp: string | undefined;
  /** Headers worth keeping with the raw event (never authorization or cookies). */
  headers: Record<string, string>;
  /** Names this request in the answer and the logs; one is made when absent. */
  requestId?: string;
  /** What `lookForRepeatedIpn` found for this request (authentic, not a repeat), so it is not checked again. */
  firstLook?: IpnFirstLook;
}

/** An IPN `lookForRepeatedIpn` authenticated (with `key`) and found not to repeat an applied body. */
export interface IpnFirstLook {
  key: Extract<IpnAuthentication, { isValid: true }>['key'];
  digest: string;
}

/**
 * Only NowPayments bodies are stored with a digest, so the digest alone names the event. Adding
 * `provider = 'nowpayments'` changed nothing it returns but let the planner, on a table without
 * statistics yet (a new database, a fresh partition of traffic), AND the digest index with the
 * `(provider, …)` index and walk every event: 5,000 against 31,000 reads a second (docs/performance.md).
 */
export const IPN_REPEAT_QUERY = `SELECT EXISTS (SELECT 1 FROM payment_events WHERE body_digest = decode($1, 'hex')) AS "isRepeat"`;
const REPEATED: HttpResult = { status: 200, body: { status: 'ok', outcome: 'unchanged' } };

function sha256Hex(rawBody: string): string {
  return createHash('sha256').update(rawBody, 'utf8').digest('hex');
}

/**
 * The first look at an IPN, taken before the request opens its relay scope, with the secret and
 * services already at hand: an authentic exact repeat of a body already applied (NowPayments resends
 * until it sees a 200, and repeats anyway) is answered here from one read and nothing else. A repeat
 * cannot change the payment and its body is stored already, byte for byte (sql/021); only a body that
 * parsed as a payment is stored with its digest, so it is neither read exactly nor parsed again. This
 * path makes as few promises as it can: each costs the framework's per-request domain and async
 * hooks (docs/performance.md). It writes nothing: a crash after it loses nothing (NowPayments resends),
 * and deliveries racing past it as "new" are applied once by `applyPaymentUpdate`.
 *
 * Returns the answer to a repeat, or what it found (authentic, not a repeat) for `receiveIpn` to go
 * on from; undefined when the full path must decide (a refused address, a bad or unknown signature,
 * a progress status, which its own statement records, or a failed read).
 */
export function lookForRepeatedIpn(
  deps: Pick<IpnDeps, 'db' | 'clock' | 'logger' | 'isAllowedIp'> & { ipnSecret: RotatingSecret },
  request: Pick<IpnRequest, 'rawBody' | 'signature' | 'clientIp' | 'requestId'>,
): Promise<HttpResult | IpnFirstLook | undefined> | undefined {
  if (!deps.isAllowedIp(request.clientIp) || Buffer.byteLength(request.rawBody, 'utf8') > MAX_IPN_BODY_BYTES) return undefined;
  // Not read exactly: a repeat needs only its status and id (for the log), and a new body is read
  // exactly by receiveIpn.
  const authenticated = authenticateIpnBody({ rawBody: request.rawBody, signature: request.signature, secret: acceptedVersions(deps.ipnSecret, deps.clock.now()) });
  if (!authenticated.isValid || isProgressStatus(authenticated.parsed.payment_status)) return undefined;
  const digest = sha256Hex(request.rawBody);
  return deps.db.query<{ isRepeat: boolean }>(IPN_REPEAT_QUERY, [digest]).then(
    ({ rows }) => {
      if (rows[0]?.isRepeat !== true) return { key: authenticated.key, digest };
      logRepeat(deps.logger.child({ requestId: request.requestId }), request, authenticated.parsed);
      return REPEATED;
    },
    () => undefined,
  );
}

function logRepeat(logger: Logger, request: Pick<IpnRequest, 'clientIp'>, payload: Record<string, unknown>): void {
  logger.info('ipn.repeated', { providerPaymentId: lookupText(payload, 'payment_id'), status: lookupText(payload, 'payment_status'), clientIp: request.clientIp });
}

/**
 * A payload value as an event's lookup column holds it: 1..200 characters of text. A value it cannot
 * hold (empty, or with a NUL, which PostgreSQL text refuses) stays only in the raw body. Otherwise the
 * insert fails, and so would the evidence-keeping retry, which repeats it: an authentic IPN would get a 500.
 */
function lookupText(payload: Record<string, unknown>, key: string): string | null {
  const value = payload[key];
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const kept = String(value).slice(0, 200);
  return kept === '' || kept.includes('\u0000') ? null : kept;
}

const KEPT_HEADERS = ['content-type', 'user-agent', 'x-forwarded-for', 'x-nowpayments-sig'];

export function keptIpnHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') kept[name] = value.slice(0, 512);
  }
  return kept;
}

/**
 * The IPN webhook: authenticate (optional IP allowlist, then the HMAC signature: 401 and nothing
 * stored when it fails), store the raw event, apply the payment update, answer quickly. Every
 * authentic IPN gets 200, duplicates and stale statuses included; malformed input gets 400 with a
 * reason; only our own transient trouble (database down) answers 503 so NowPayments retries.
 */
export async function receiveIpn(deps: IpnDeps, request: IpnRequest): Promise<HttpResult> {
  const requestId = request.requestId ?? randomUUID();
  const log = deps.logger.child({ requestId });
  if (!deps.isAllowedIp(request.clientIp)) {
    log.warn('ipn.ip_refused', { clientIp: request.clientIp });
    return errorResult(paymentError('ip_not_allowed', 'This address may not send payment notifications'), requestId);
  }
  if (Buffer.byteLength(request.rawBody, 'utf8') > MAX_IPN_BODY_BYTES) {
    return errorResult(paymentError('payload_too_large', `IPN bodies are limited to ${MAX_IPN_BODY_BYTES} bytes`), requestId);
  }
  const verification = request.firstLook ? readIpnPayloadExactly(request.rawBody, request.firstLook.key) : await authenticate(deps, request);
  if (!verification.isValid) {
    log.warn('ipn.signature_invalid', { reason: verification.reason, clientIp: request.clientIp });
    await noteIpnSignatureFailure(deps, deps.clock.now());
    return errorResult(paymentError('invalid_signature', 'The x-nowpayments-sig signature does not match this body'), requestId);
  }

  // During an overlap: NowPayments still signs with the value being replaced (kid only, never the value).
  if (verification.key.role === 'previous') log.info('ipn.previous_secret', { kid: verification.key.kid });

  const payload = verification.payload;
  const text = (key: string) => lookupText(payload, key);
  const digest = request.firstLook?.digest ?? sha256Hex(request.rawBody);
  // An exact repeat of a body already applied, as `lookForRepeatedIpn` tells it, unless it did.
  const isRepeat = async () => (await deps.db.query<{ isRepeat: boolean }>(IPN_REPEAT_QUERY, [digest])).rows[0]?.isRepeat === true;
  const repeated = (): HttpResult => {
    logRepeat(log, request, payload);
    return REPEATED;
  };
  // A progress status (waiting … sending) goes first to the one statement that records it, which
  // absorbs a repeat itself; every other status is checked for a repeat here.
  const isProgress = isProgressStatus(payload.payment_status);
  if (!isProgress && !request.firstLook) {
    try {
      if (await isRepeat()) return repeated();
    } catch (error) {
      log.error('ipn.failed', { error });
      return errorResult(error, requestId);
    }
  }

  let payment: NowPaymentsPayment | undefined;
  let parseError: unknown;
  try {
    payment = parseNowPaymentsPayment(payload);
  } catch (error) {
    parseError = error;
  }
  const record: PaymentEventRecord = {
    receivedAt: deps.clock.now(),
    headers: JSON.stringify(request.headers),
    body: request.rawBody,
    providerPaymentId: text('payment_id'),
    orderId: text('order_id'),
    providerStatus: text('payment_status')?.slice(0, 64) ?? null,
    // Marks the event applied; a body that is not a payment never is.
    digest: payment ? digest : null,
  };
  try {
    if (payment) {
      // On its way (waiting … sending), or `finished`: recorded with its event in one statement.
      const recorded = await recordPaymentReport(deps.db, deps, payment, record);
      if (recorded) return { status: 200, body: { status: 'ok', outcome: recorded.outcome } };
      // Not recordable that way (a settled payment, say): a progress report was not checked for a repeat yet.
      if (isProgress && (await isRepeat())) return repeated();
    }

    // The event is stored in the transaction that applies it (with the checkout's read), or alone
    // when the body is not a payment.
    const result = payment
      ? await deps.db.transaction((tx) => applyPaymentUpdate(tx, deps, payment, 'ipn', record))
      : await deps.db.query(paymentEventInsertSql(1), paymentEventValues(record)).then(() => undefined);
    if (!payment) {
      log.error('ipn.malformed', { error: parseError });
      return errorResult(parseError instanceof PermanentError ? parseError : paymentError('invalid_ipn', 'The IPN body is not a NowPayments payment'), requestId);
    }
    return { status: 200, body: { status: 'ok', outcome: result?.outcome } };
  } catch (error) {
    if (isRejectedByConstraints(error)) {
      // Authentic but impossible values (the database's checks refused them): keep the evidence,
      // tell an operator, and answer 400 so the provider does not loop on it.
      const deadLetter = await deps.db.transaction(async (tx) => {
        // No digest: this body was refused, not applied, so a resend goes through the checks again.
        await tx.query(paymentEventInsertSql(1), paymentEventValues({ ...record, digest: null }));
        return recordDeadLetter(tx, {
          source: 'nowpayments-ipn',
          messageId: `nowpayments:${text('payment_id') ?? 'unknown'}:${text('payment_status') ?? 'unknown'}`,
          reasonCode: 'ipn_values_rejected',
          reason: (error as { constraint?: string }).constraint ?? 'a database check refused the IPN values',
          data: request.rawBody,
          at: deps.clock.now(),
        });
      });
      log.critical('ipn.values_rejected', {
        constraint: (error as { constraint?: string }).constraint,
        deadLetterId: String(deadLetter.id),
        action: deadLetterAction(deadLetter.id),
      });
      return errorResult(paymentError('invalid_ipn', 'The IPN holds values this gateway cannot accept'), requestId);
    }
    log.error('ipn.failed', { error });
    return errorResult(error, requestId);
  }
}

/** The signature against the secret's accepted values; on a mismatch, once more if the secret was rotated meanwhile. */
async function authenticate(deps: IpnDeps, request: IpnRequest): Promise<IpnVerification> {
  const now = deps.clock.now();
  const verification = verifyIpnSignature({ rawBody: request.rawBody, signature: request.signature, secret: acceptedVersions(deps.ipnSecret, now) });
  if (verification.isValid || verification.reason !== 'signature_mismatch' || !deps.reloadIpnSecret) return verification;
  // Throttled by the reader: a forged header costs a second check only when the secret changed.
  const reloaded = await deps.reloadIpnSecret();
  return reloaded ? verifyIpnSignature({ rawBody: request.rawBody, signature: request.signature, secret: acceptedVersions(reloaded, now) }) : verification;
}

/** SQLSTATE class 22 (data exception) or 23514 (check violation): the values, not the database, are at fault. */
function isRejectedByConstraints(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === '23514' || code.startsWith('22'));
}
