import type { Api } from 'grammy';
import { type Clock, formatUtc } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import type { OperatorAlertRequested } from '../messages/index.js';
import { toTelegramError } from '../telegram/index.js';
import { watchdogError } from './errors.js';

/**
 * How long a delivery holds an alert while it calls Telegram: far longer than one sendMessage may
 * take (the Bot API client's 10 s timeout), so only a delivery that died mid-send leaves it to the next.
 */
export const OPERATOR_ALERT_CLAIM_SECONDS = 60;
/** Telegram refuses a message longer than 4096 characters. */
const MAX_TEXT_LENGTH = 4000;
const MAX_DETAIL_LENGTH = 300;

export interface OperatorNotifierSettings {
  /** The stages' Bot API (`loadBotApi`: its timeout, and no call inside a transaction). */
  telegram: Api;
  /** OPERATOR_ALERT_CHAT_ID; undefined: alerts stay CRITICAL logs and rows, nothing is sent. */
  chatId: number | undefined;
}

export interface OperatorNotifierDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

export type OperatorNotifyOutcome = 'sent' | 'already_sent' | 'not_configured';

interface AlertRow {
  id: bigint;
  alert: string;
  subject_type: string;
  subject_id: string;
  message: string;
  details: Record<string, unknown>;
  raised_at: Date;
}

/**
 * The notify-operator stage, built once per instance: for an `operator-alert-requested` message,
 * one Telegram message about the alert to the operator's chat.
 *
 * - The alert is claimed before Telegram is called (`notify_claimed_until`), and marked sent
 *   (`notified_at`) after: a redelivered or concurrent message finds it sent (acknowledged) or
 *   claimed (`operator_alert_in_progress`, retried later), so it is sent at most once. Only a
 *   delivery that died between the send and its record leaves the alert to be sent again after
 *   the claim lapses.
 * - Telegram's 429 holds the claim until its `retry_after` and is thrown (retried): no attempt
 *   reaches Telegram before it allows one.
 * - A chat the bot cannot write to (chat not found, bot blocked or removed, any permanent refusal)
 *   throws `operator_chat_unreachable` (dead-lettered with the reason, never retried); the claim is
 *   released, so a re-drive after the fix sends it.
 * - No chat configured: logged once per instance, acknowledged; the CRITICAL log line of
 *   `raiseOperatorAlert` is then the only notice.
 */
export function createOperatorNotifier(settings: OperatorNotifierSettings): (deps: OperatorNotifierDeps, request: OperatorAlertRequested) => Promise<OperatorNotifyOutcome> {
  let isUnconfiguredLogged = false;
  return async (deps, request) => {
    const { chatId } = settings;
    if (chatId === undefined) {
      if (!isUnconfiguredLogged) {
        isUnconfiguredLogged = true;
        deps.logger.warn('operator_alert.telegram_not_configured', {
          detail: 'OPERATOR_ALERT_CHAT_ID is unset: operator alerts are not delivered to Telegram (their CRITICAL log lines and operator_alerts rows remain)',
        });
      }
      return 'not_configured';
    }
    const alert = await claimAlert(deps, request.alertId);
    if (alert === 'already_sent') return alert;
    let messageId: number;
    try {
      messageId = (await settings.telegram.sendMessage(chatId, operatorAlertText(alert), { link_preview_options: { is_disabled: true } })).message_id;
    } catch (error) {
      throw await recordRefusal(deps, alert, error);
    }
    await deps.db.query(
      `UPDATE operator_alerts SET notified_at = $2, telegram_message_id = $3, notify_claimed_until = NULL, notify_error = NULL
        WHERE id = $1 AND notified_at IS NULL`,
      [alert.id, deps.clock.now(), messageId],
    );
    deps.logger.info('operator_alert.notified', { alertId: alert.id.toString(), alert: alert.alert });
    return 'sent';
  };
}

/** Takes the alert for this delivery, or says why not: sent already, or another delivery holds it. */
async function claimAlert(deps: OperatorNotifierDeps, alertId: string): Promise<AlertRow | 'already_sent'> {
  const now = deps.clock.now();
  const { rows } = await deps.db.query<AlertRow>(
    `UPDATE operator_alerts SET notify_claimed_until = $2::timestamptz + make_interval(secs => $3)
      WHERE id = $1 AND notified_at IS NULL AND (notify_claimed_until IS NULL OR notify_claimed_until <= $2)
     RETURNING id, alert, subject_type, subject_id, message, details, raised_at`,
    [alertId, now, OPERATOR_ALERT_CLAIM_SECONDS],
  );
  if (rows[0]) return rows[0];
  const { rows: found } = await deps.db.query<{ notified_at: Date | null; notify_claimed_until: Date | null }>(
    'SELECT notified_at, notify_claimed_until FROM operator_alerts WHERE id = $1',
    [alertId],
  );
  const row = found[0];
  if (!row) throw watchdogError('unknown_operator_alert', 'No operator alert has this id', { alertId });
  if (row.notified_at !== null) return 'already_sent';
  throw watchdogError('operator_alert_in_progress', 'Another delivery holds this alert, or Telegram asked to wait', {
    alertId,
    claimedUntil: row.notify_claimed_until?.toISOString() ?? null,
  });
}

/**
 * Records a failed send on the alert and returns the error to throw: retryable ones keep the claim
 * until Telegram's `retry_after` (else release it), permanent ones become `operator_chat_unreachable`.
 */
async function recordRefusal(deps: OperatorNotifierDeps, alert: AlertRow, error: unknown): Promise<Error> {
  const failure = toTelegramError(error, { alertId: alert.id.toString() });
  const retryAfterSeconds = typeof failure.context.retryAfterSeconds === 'number' ? failure.context.retryAfterSeconds : undefined;
  await deps.db.query(
    `UPDATE operator_alerts SET notify_error = $2,
            notify_claimed_until = CASE WHEN $4::float8 IS NULL THEN NULL ELSE $3::timestamptz + make_interval(secs => $4::float8) END
      WHERE id = $1 AND notified_at IS NULL`,
    [alert.id, failure.code, deps.clock.now(), failure.isRetryable ? (retryAfterSeconds ?? null) : null],
  );
  if (failure.isRetryable) return failure;
  const description = typeof failure.context.description === 'string' ? failure.context.description : failure.code;
  return watchdogError(
    'operator_chat_unreachable',
    `Telegram refused the operator alert for OPERATOR_ALERT_CHAT_ID (${description}): check the chat id, that the bot is in the chat (or the operator pressed Start in its private chat) and may post there, then re-drive this dead letter`,
    { alertId: alert.id.toString(), alert: alert.alert, code: failure.code, description },
    error,
  );
}

/** The alert as plain text: what, about what, the message, its details, when (UTC). */
export function operatorAlertText(alert: Pick<AlertRow, 'id' | 'alert' | 'subject_type' | 'subject_id' | 'message' | 'details' | 'raised_at'>): string {
  const details = Object.entries(alert.details).map(([name, value]) => `• ${name}: ${clip(typeof value === 'string' ? value : JSON.stringify(value), MAX_DETAIL_LENGTH)}`);
  const lines = [
    `🚨 Operator alert: ${alert.alert}`,
    `Subject: ${alert.subject_type} ${alert.subject_id}`,
    `Raised: ${formatUtc(alert.raised_at)}`,
    '',
    alert.message,
    ...(details.length > 0 ? ['', 'Details:', ...details] : []),
    '',
    `Alert #${alert.id}`,
  ];
  return clip(lines.join('\n'), MAX_TEXT_LENGTH);
}

function clip(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
