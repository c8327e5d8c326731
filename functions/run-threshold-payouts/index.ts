import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { runBalancePayouts, runThresholdPayouts } from '../../shared/payouts/index.js';

/**
 * Scheduled hourly: one payout per threshold owner whose parked USDT has reached the threshold, and
 * one per instant owner's balance that is due (returned payouts, top-ups, a strategy switch).
 */
ff.cloudEvent(
  'run-threshold-payouts',
  consume({
    consumer: 'run-threshold-payouts',
    topic: 'threshold-payouts-requested',
    maxAgeSeconds: 1800,
    isTickOnce: true,
    handle: async (delivery, services) => {
      const threshold = await runThresholdPayouts({ ...services, logger: delivery.logger });
      const balances = await runBalancePayouts({ ...services, logger: delivery.logger });
      if (threshold.due > 0 || balances.owed > 0) delivery.logger.info('payouts.owner_run', { threshold, balances });
    },
  }),
);
