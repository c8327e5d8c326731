import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import { formatUsdCents } from '../money/index.js';
import type { NowPaymentsPayment } from '../nowpayments/index.js';
import { applyPaymentUpdate, type PaymentUpdateResult, settlePayment } from '../payments/index.js';

/**
 * The money path's first steps for stage tests: a NowPayments report applied as the IPN applies it,
 * and the `payment-settled` messages it queued consumed by settle-payment, as often and as
 * concurrently as Pub/Sub may deliver them.
 */
export interface SettlementStepDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

/** What every `paymentReport` is priced at ($3000, 1 ETH): its checkout must cost this (`insertCheckout(db, { priceCents: REPORT_PRICE_CENTS })`), or the report is held. */
export const REPORT_PRICE_CENTS = 300_000n;

/** A NowPayments report for the checkout, paid in ETH: `paid` of `payAmount` (default 1 ETH) arrived, outcome as given. */
export function paymentReport(
  checkoutId: string,
  providerPaymentId: string,
  status: NowPaymentsPayment['status'],
  amounts: { paid: string; outcome: string; payAmount?: string; at: Date },
): NowPaymentsPayment {
  return {
    paymentId: providerPaymentId,
    invoiceId: null,
    status,
    rawStatus: status,
    orderId: formatPublicId('checkout', checkoutId),
    orderDescription: null,
    priceAmount: formatUsdCents(REPORT_PRICE_CENTS),
    priceCurrency: 'usd',
    payAmount: amounts.payAmount ?? '1',
    actuallyPaid: amounts.paid,
    actuallyPaidAtFiat: null,
    payCurrency: 'eth',
    payAddress: '0x1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c',
    outcomeAmount: amounts.outcome,
    outcomeCurrency: 'eth',
    createdAt: null,
    updatedAt: amounts.at,
  };
}

/** Applies a report in its own transaction, as an IPN does. */
export function applyReport(deps: SettlementStepDeps, report: NowPaymentsPayment): Promise<PaymentUpdateResult> {
  return deps.db.transaction((tx) => applyPaymentUpdate(tx, deps, report, 'ipn'));
}

/** The payment id of an applied report (fails the test when the report changed no payment). */
export function paymentIdOf(result: PaymentUpdateResult): string {
  if (result.outcome !== 'updated') throw new Error(`expected the report to update a payment, got ${result.outcome}`);
  return result.paymentId;
}

/**
 * Consumes every unpublished `payment-settled` message (marking it published), each delivered
 * `deliveries` times (default 2) with its outbox message id: one after the other, or every delivery of
 * every message at the same moment.
 * Returns how many messages there were.
 */
export async function deliverSettlementMessages(
  deps: SettlementStepDeps & { platformFeeBps: number },
  options: { deliveries?: number; concurrently?: boolean } = {},
): Promise<number> {
  const { rows } = await deps.db.query<{ message_id: string; payload: { paymentId: string } }>(
    `UPDATE outbox SET published_at = $1, provider_message_id = 'test-' || id WHERE topic = 'payment-settled' AND published_at IS NULL
     RETURNING message_id, payload`,
    [deps.clock.now()],
  );
  const deliver = (row: (typeof rows)[number]) =>
    settlePayment(deps, { consumer: 'settle-payment', messageId: row.message_id, topic: 'payment-settled' }, row.payload.paymentId);
  const all = rows.flatMap((row) => Array.from({ length: options.deliveries ?? 2 }, () => row));
  if (options.concurrently) await Promise.all(all.map(deliver));
  else for (const row of all) await deliver(row);
  return rows.length;
}
