import { type ChangeNowClient, createChangeNowClient } from '../changenow/index.js';
import type { Db } from '../db/index.js';
import { insertChannel, insertPayout, type PayoutFixture, randomEvmAddress } from './fixtures.js';
import type { ChangeNowSimulator } from './simulators/changenow-simulator.js';

/**
 * Payouts at a stage of the pipeline, for the quote / swap / transfer stage tests: a channel paid
 * out to the destination asked for, its payout claimed, moved to the state the stage acts on.
 */

/** Where an owner is paid: in the hot wallet's assets on Ethereum (no swap), or in BTC (a ChangeNow swap). */
export type PayoutDestination = 'ETH' | 'USDT' | 'BTC';

export const BTC_WALLET = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';

const DESTINATIONS: Record<PayoutDestination, { payoutCurrency: string; payoutNetwork: string; wallet: () => string }> = {
  ETH: { payoutCurrency: 'ETH', payoutNetwork: 'ETH', wallet: randomEvmAddress },
  USDT: { payoutCurrency: 'USDT', payoutNetwork: 'ETH', wallet: randomEvmAddress },
  BTC: { payoutCurrency: 'BTC', payoutNetwork: 'BTC', wallet: () => BTC_WALLET },
};

export interface PayoutAtStage {
  destination: PayoutDestination;
  asset?: 'ETH' | 'USDT_ERC20';
  amountUnits?: bigint;
  /** The payout's USD value for the outflow limits; null = unknown. Default $300. */
  usdCents?: bigint | null;
  /** Default the destination's kind of address. */
  wallet?: string;
  state?: 'requested' | 'quoted';
}

/** A claimed payout (state `requested`, or moved on to `quoted`) to a new channel's destination. */
export async function payoutAtStage(db: Db, options: PayoutAtStage): Promise<PayoutFixture> {
  const destination = DESTINATIONS[options.destination];
  const channel = await insertChannel(db, {
    payoutCurrency: destination.payoutCurrency,
    payoutNetwork: destination.payoutNetwork,
    payoutWallet: options.wallet ?? destination.wallet(),
  });
  const payout = await insertPayout(db, { channelId: channel.id, asset: options.asset, amountUnits: options.amountUnits });
  await db.query(`UPDATE payouts SET amount_usd_cents = $2, state = $3 WHERE id = $1`, [
    payout.id,
    options.usdCents === undefined ? '30000' : (options.usdCents?.toString() ?? null),
    options.state ?? 'requested',
  ]);
  return payout;
}

/** The topics of the messages queued for the payout, oldest first. */
export async function payoutMessages(db: Db, payoutId: string): Promise<string[]> {
  const { rows } = await db.query<{ topic: string }>(`SELECT topic FROM outbox WHERE payload->>'payoutId' = $1 ORDER BY id`, [payoutId]);
  return rows.map((row) => row.topic);
}

/** A ChangeNow client on the simulator that answers at the first attempt and lists the routes it called. */
export function countingChangeNowClient(simulator: ChangeNowSimulator, apiKey: string): { client: ChangeNowClient; requests: string[] } {
  const requests: string[] = [];
  const client = createChangeNowClient({
    apiUrl: simulator.apiUrl,
    apiKey,
    maxAttempts: 1,
    fetch: (input, init) => {
      requests.push(`${init?.method ?? 'GET'} ${new URL(input instanceof Request ? input.url : String(input)).pathname}`);
      return fetch(input, init);
    },
  });
  return { client, requests };
}
