import { checkMoneyPathInvariants, type ObservedOwner, type Violation } from '../../shared/testing/money-path-invariants.js';
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
