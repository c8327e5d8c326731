import { getAsset, formatUnits, mulDiv, parseUnits } from '../money/index.js';
import type { PayoutBreakdown } from './earnings-schemas.js';
import { amountResource } from './payments.js';

/** What the database knows about one payout, in base units of its asset (gas in wei). */
export interface PayoutFacts {
  kind: 'instant' | 'threshold' | 'balance';
  state: string;
  asset: string;
  /** `payouts.amount_units`: what the claim moved and the transfer sends. */
  amountUnits: bigint;
  /** Instant payouts: the processor's fee on the payment (`payments.processor_fee_units`), when reported. */
  processorFeeUnits: bigint | null;
  /** Instant payouts: the `platform:fees` credit of the payment's settlement. */
  platformFeeUnits: bigint | null;
  hasSwap: boolean;
  /** Paid in the asset we hold, to the owner directly: no exchange will ever be involved. */
  isDirect: boolean;
  /** The exchange's estimate of what the owner gets (`swaps.expected_to_amount`, else the quote), destination currency. */
  estimatedToAmount: string | null;
  /** What the exchange says it sent the owner (`swaps.received_to_amount`), destination currency. */
  receivedToAmount: string | null;
  /** Gas of the confirmed transfer, wei (`chain_transfers.fee_units`). */
  transferFeeUnits: bigint | null;
}

// Exchange amounts are decimal text from the provider; 36 places hold any of them exactly enough.
const RATIO_DECIMALS = 36;

/**
 * The owner's view of a payout, every amount in the payout's asset:
 * `net = gross − processorFee − platformFee − swapSpread − networkFee`.
 *
 * - gross / fees: an instant payout pays one payment, so its gross is what that payment yielded
 *   and its fees are the payment's (processor fee as reported, platform fee from the ledger). A
 *   threshold payout claims an accumulated balance whose fees were taken payment by payment: gross
 *   is the claim and its own fees are 0 (`basis: 'balance'`).
 * - swapSpread: the part of the sent amount the exchange did not deliver against its own estimate,
 *   valued at the estimate's rate (`sent − floor(sent × received / estimated)`, so it is rounded
 *   against us, never in our favour); negative when the owner got more than estimated. Zero for a
 *   direct payout (no exchange), null until the exchange finished. The margin inside the estimate itself is not
 *   known to us and not shown.
 * - networkFee: gas charged to the owner, 0: the platform pays gas (`expense:network_fees`) and
 *   shows it as `platformPaidNetworkFee` (ETH).
 * - net is null until the payout completed (a failed, refunded or cancelled payout delivered
 *   nothing; its amount went back to the owner's balance).
 */
export function payoutBreakdown(facts: PayoutFacts): PayoutBreakdown {
  const { decimals } = getAsset(facts.asset);
  const format = (units: bigint) => formatUnits(units, decimals);
  const isInstant = facts.kind === 'instant';
  const processorFee = isInstant ? (facts.processorFeeUnits ?? 0n) : 0n;
  const platformFee = isInstant ? (facts.platformFeeUnits ?? 0n) : 0n;
  const sent = facts.amountUnits;
  const gross = sent + platformFee + processorFee;
  const networkFee = 0n;
  const spread = swapSpread(facts);
  const net = facts.state === 'completed' && spread !== null ? gross - processorFee - platformFee - spread - networkFee : null;
  return {
    asset: facts.asset,
    basis: isInstant ? 'payment' : 'balance',
    gross: format(gross),
    processorFee: format(processorFee),
    platformFee: format(platformFee),
    sent: format(sent),
    swapSpread: spread === null ? null : format(spread),
    networkFee: format(networkFee),
    platformPaidNetworkFee: amountResource('ETH', facts.transferFeeUnits),
    net: net === null ? null : format(net),
  };
}

function swapSpread(facts: PayoutFacts): bigint | null {
  if (facts.isDirect) return 0n;
  if (facts.estimatedToAmount === null || facts.receivedToAmount === null) return null;
  const estimated = parseUnits(facts.estimatedToAmount, RATIO_DECIMALS, 'floor');
  const received = parseUnits(facts.receivedToAmount, RATIO_DECIMALS, 'floor');
  if (estimated <= 0n) return null;
  return facts.amountUnits - mulDiv(facts.amountUnits, received, estimated, 'floor');
}
