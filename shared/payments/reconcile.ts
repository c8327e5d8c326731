import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { NowPaymentsClient } from '../nowpayments/index.js';
import type { PaymentBurstLimits } from './payment-bursts.js';
import { applyPaymentUpdate } from './payment-updates.js';

export interface ReconcileDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  nowpayments: NowPaymentsClient;
  /** A non-final payment untouched for this long is re-read from NowPayments. Default 10 minutes. */
  staleAfterMinutes?: number;
  /** Payments older than this are left to an operator. Default 7 days. */
  maxAgeDays?: number;
  /** Most payments re-read per run. Default 50. */
  batchSize?: number;
  /** The failed-payment burst alert's limit (`loadBurstLimits`); its default when unset. */
  bursts?: PaymentBurstLimits;
}

export interface PaymentReconcileReport {
  checked: number;
  changed: number;
  settled: number;
  failed: number;
}

/**
 * Missed IPNs: payments stuck in a non-final status are re-read with GET /v1/payment/{id} and
 * applied exactly as an IPN would be (same forward-only upsert, same settlement). Each read is
 * recorded as a payment event; a payment whose status did not move is looked at again after
 * `staleAfterMinutes`.
 */
export async function reconcilePayments(deps: ReconcileDeps): Promise<PaymentReconcileReport> {
  const now = deps.clock.now();
  const staleBefore = new Date(now.getTime() - (deps.staleAfterMinutes ?? 10) * 60_000);
  const notBefore = new Date(now.getTime() - (deps.maxAgeDays ?? 7) * 86_400_000);
  const { rows } = await deps.db.query<{ id: string; provider_payment_id: string }>(
    `SELECT id, provider_payment_id FROM payments
     WHERE settled_at IS NULL AND status IN ('waiting', 'confirming', 'confirmed', 'sending', 'partially_paid')
       AND updated_at < $1 AND created_at >= $2
     ORDER BY updated_at
     LIMIT $3`,
    [staleBefore, notBefore, deps.batchSize ?? 50],
  );
  const report: PaymentReconcileReport = { checked: 0, changed: 0, settled: 0, failed: 0 };
  for (const stuck of rows) {
    report.checked++;
    try {
      const payment = await deps.nowpayments.retrievePayment(stuck.provider_payment_id);
      const result = await deps.db.transaction(async (tx) => {
        // The provider's answer is kept as the event, stored with the update that applies it.
        const applied = await applyPaymentUpdate(tx, deps, payment, 'reconcile', {
          receivedAt: deps.clock.now(),
          headers: '{"source":"reconcile"}',
          body: JSON.stringify(payment),
          providerPaymentId: payment.paymentId,
          orderId: payment.orderId,
          providerStatus: payment.rawStatus.slice(0, 64),
          digest: null,
        });
        if (applied.outcome !== 'updated') {
          await tx.query('UPDATE payments SET updated_at = $2 WHERE id = $1', [stuck.id, deps.clock.now()]);
        }
        return applied;
      });
      if (result.outcome === 'updated') {
        report.changed++;
        if (result.isSettledNow) report.settled++;
      }
    } catch (error) {
      report.failed++;
      // Space out a payment that cannot be read, so it does not crowd the front of every batch.
      await deps.db.query('UPDATE payments SET updated_at = $2 WHERE id = $1', [stuck.id, deps.clock.now()]).catch(() => undefined);
      deps.logger.warn('reconcile.payment_failed', { paymentId: stuck.id, code: errorCode(error), error });
    }
  }
  return report;
}
