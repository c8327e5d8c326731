import type { Db, Tx } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { type BurstLimits, type BurstRule, countBurstEvent, DEFAULT_BURST_LIMITS, recordBurstEvent } from '../watchdog/index.js';

/** Burst limits the payment entry points evaluate; each unset one is its variable's default. */
export type PaymentBurstLimits = Partial<Pick<BurstLimits, 'ipnSignatureFailures' | 'paymentFailures'>>;

/** The subject of the IPN rule: every IPN, whoever sends it (a wrong secret fails them all). */
const IPN_ENDPOINT = 'nowpayments-ipn';

function ipnSignatureFailuresRule(limits: PaymentBurstLimits | undefined): BurstRule {
  return {
    kind: 'ipn.signature_failures_burst',
    subjectType: 'endpoint',
    limit: limits?.ipnSignatureFailures ?? DEFAULT_BURST_LIMITS.ipnSignatureFailures,
    describe: (_subject, counts) =>
      `${counts.events} IPNs with a bad signature within ${counts.windowMinutes} minutes. ` +
      'If NowPayments sent them, NOWPAYMENTS_IPN_SECRET does not match the IPN secret in its dashboard (a rotation half done?): ' +
      'payments are not being applied; fix the secret, then reconcile re-reads them. Otherwise someone is forging IPNs: ' +
      'check NOWPAYMENTS_IPN_ALLOWED_IPS and the ipn.signature_invalid log lines (clientIp).',
  };
}

/**
 * Counts one IPN refused for its signature (`ipn.signature_failures_burst`). Called where the
 * verdict "bad signature" is known; nothing else of the IPN is written, and a flood of forgeries
 * never queues on a lock (`countBurstEvent`). A failure to count is logged and swallowed, so the
 * caller's 401 stands whatever the database does.
 */
export async function noteIpnSignatureFailure(deps: { db: Db; logger: Logger; bursts?: PaymentBurstLimits | undefined }, at: Date): Promise<void> {
  try {
    await countBurstEvent(deps.db, deps.logger, ipnSignatureFailuresRule(deps.bursts), { subjectId: IPN_ENDPOINT, at });
  } catch (error) {
    deps.logger.error('ipn.signature_failure_not_counted', { error });
  }
}

function paymentFailuresRule(limits: PaymentBurstLimits | undefined): BurstRule {
  return {
    kind: 'payments.failures_burst',
    subjectType: 'channel',
    limit: limits?.paymentFailures ?? DEFAULT_BURST_LIMITS.paymentFailures,
    countsActors: true,
    describe: (channelId, counts) =>
      `${counts.actors} payments for channel ${channelId} failed, expired or stayed underpaid within ${counts.windowMinutes} minutes. ` +
      'Look at the channel’s recent payments (pay currency, amounts, NowPayments status): a currency or network NowPayments cannot settle, ' +
      'a price subscribers cannot pay in time, or someone opening invoices to probe the channel.',
  };
}

/**
 * Counts a payment of `channelId` that has failed (`failed`, `expired`, or `partially_paid` below
 * the channel's tolerance), in the caller's transaction: the count is of distinct payments, so a
 * payment reported twice, or underpaid and later expired, counts once (`payments.failures_burst`).
 */
export async function notePaymentFailure(
  tx: Tx,
  deps: { logger: Logger; bursts?: PaymentBurstLimits | undefined },
  failure: { channelId: string; paymentId: string; at: Date },
): Promise<void> {
  await recordBurstEvent(tx, deps.logger, paymentFailuresRule(deps.bursts), { subjectId: failure.channelId, actorKey: failure.paymentId, at: failure.at });
}
