import type { PaymentBurstLimits } from './payment-bursts.js';
import { type Publisher, relayOutbox } from '../bus/index.js';
import type { NowPaymentsClient } from '../nowpayments/index.js';
import { redriveStuckWork, watchStuckWork, type WatchdogDeps } from '../watchdog/index.js';
import { reconcilePayments } from './reconcile.js';

export interface ReconciliationDeps extends WatchdogDeps {
  publisher: Publisher;
  nowpayments: NowPaymentsClient;
  /** The failed-payment burst alert's limit (`loadBurstLimits`); its default when unset. */
  bursts?: PaymentBurstLimits;
}

/**
 * The `reconcile` run (every 5 minutes): payments whose IPNs went missing are re-read; what
 * reconcile owns and has sat too long is re-driven (STATE_MACHINES); the outbox is relayed, so the
 * re-published messages go out now; then every state's age limit is checked and stuck rows alerted.
 * Each part runs even when an earlier one failed for some rows.
 */
export async function runReconciliation(deps: ReconciliationDeps) {
  const payments = await reconcilePayments(deps);
  const redrive = await redriveStuckWork(deps, 'reconcile');
  const outbox = await relayOutbox(deps, { limit: 500 });
  const watch = await watchStuckWork(deps);
  return { payments, redriven: redrive.redriven, outbox, alerts: watch.raised, failed: [...redrive.failed, ...watch.failed] };
}
