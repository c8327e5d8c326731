import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/bus/index.js';
import { runThresholdPayouts } from '../../shared/payouts/index.js';

/** Scheduled hourly: one payout per threshold owner whose parked USDT has reached the threshold. */
ff.cloudEvent(
  'run-threshold-payouts',
  consume({
    consumer: 'run-threshold-payouts',
    topic: 'threshold-payouts-requested',
    maxAgeSeconds: 1800,
    isTickOnce: true,
    handle: async (delivery, services) => {
      const report = await runThresholdPayouts({ ...services, log: delivery.logger });
      if (report.due > 0) delivery.logger.info('payouts.threshold_run', { ...report });
    },
  }),
);
