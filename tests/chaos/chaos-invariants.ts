import { MESSAGE_ID_ATTRIBUTE } from '../../shared/bus/index.js';
import type { BusEvent } from '../../shared/testing/fakes/in-process-bus.js';
import { checkMoneyPathInvariants, type DeadLetterSeen, type ObservedOwner, type Violation } from '../../shared/testing/money-path-invariants.js';
import type { SeededChannel } from '../e2e/gateway-harness.js';
import type { ChaosWorld } from './chaos-world.js';

export type { Violation };

export interface ChaosChannel extends SeededChannel, ObservedOwner {}

/** The money-path invariants after a chaos run, read through the world's in-process simulators and anvil. */
export async function checkInvariants(world: ChaosWorld, channels: readonly ChaosChannel[]): Promise<{ violations: Violation[]; outcome: Record<string, number> }> {
  const exchanges = new Map(world.changenow.exchanges().map((exchange) => [exchange.id, exchange]));
  const checked = await checkMoneyPathInvariants({
    db: world.gateway.testDb.db,
    finishedPaymentIds: world.gateway.nowpayments
      .payments()
      .filter((payment) => payment.status === 'finished')
      .map((payment) => payment.paymentId),
    messagesTo: async (userId) => world.gateway.telegram.messagesTo(userId).map((message) => message.text),
    describeExchange: (exchangeId) => {
      const exchange = exchanges.get(exchangeId);
      return exchange ? `${exchange.status}, deposit ${exchange.amountFrom ?? 'not seen'}` : 'unknown to ChangeNow';
    },
    describeDeadLetter: (letter) => describeDeadLetter(world.runtime.bus?.events ?? [], world.logLines, letter),
    platformFeeBps: Number(process.env.PLATFORM_FEE_BPS), // set by the world
    provider: world.provider,
    usdtContract: String(world.token.target),
    hotWallet: world.hotWallet,
    hotWalletBefore: world.hotWalletBefore,
    chainId: BigInt(world.anvil.chainId),
    owners: channels,
  });
  // Every IPN here is signed with the secret and every payment paid in full, whatever the faults:
  // a burst alert (docs/security.md, "Anomaly alerts") would be a false alarm, or a real finding.
  const { rows } = await world.gateway.testDb.db.query<{ alert: string; message: string }>(
    `SELECT alert, message FROM operator_alerts WHERE alert IN ('ipn.signature_failures_burst', 'payments.failures_burst', 'auth.login_failures_burst') ORDER BY id`,
  );
  for (const row of rows) checked.violations.push({ invariant: 'no burst alert', detail: `${row.alert}: ${row.message}` });
  return checked;
}

/**
 * How the message of a `max_delivery_attempts` dead letter fared, from the bus's events and the
 * functions' log lines: each attempt's answer (a 2xx followed by another attempt is an ack that was
 * lost) and the last error the consumer logged for it.
 */
export function describeDeadLetter(events: readonly BusEvent[], logLines: readonly string[], letter: DeadLetterSeen): string {
  // The dead-letter topic's message: its Pub/Sub id, or our id in the attribute.
  const forwardedAt = events.findIndex(
    (event) => event.type === 'published' && (event.pubsubMessageId === letter.messageId || event.attributes[MESSAGE_ID_ATTRIBUTE] === letter.messageId),
  );
  // The bus records 'dead-lettered' (with the original message's id) right before it forwards.
  const before = forwardedAt > 0 ? events[forwardedAt - 1] : undefined;
  if (before?.type !== 'dead-lettered') return 'its deliveries are not in the bus events';
  const consumer = before.function;
  const attempts = events
    .filter((event) => event.type === 'delivered' && event.function === consumer && event.pubsubMessageId === before.pubsubMessageId)
    .map((event) => (event.type === 'delivered' ? `${event.attempt}:${event.status}${event.isDuplicate ? ' (duplicate)' : ''}` : ''));
  const ids = new Set([before.pubsubMessageId, letter.messageId]);
  let lastError = 'none logged (every failed attempt was an answer lost after success, or the function never ran)';
  for (const line of logLines) {
    if (!line.includes('"message.failed"')) continue;
    let record: { message?: string; consumer?: string; messageId?: string; error?: { name?: string; code?: string; message?: string } };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    if (record.consumer !== consumer || !ids.has(record.messageId ?? '')) continue;
    lastError = `${record.error?.name}[${record.error?.code}]: ${record.error?.message}`;
  }
  return `attempts (attempt:status) ${attempts.join(', ')}; last error: ${lastError}`;
}
