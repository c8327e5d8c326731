import * as z from 'zod';

/**
 * The ChangeNow simulator's state file: every exchange with what the API does not show (the decided
 * outcome, the deposit seen, the payout or refund in flight) and the chain block the deposit scan
 * has reached, so that a restarted sandbox finishes the swaps it had started.
 */
const date = z.iso.datetime().transform((text) => new Date(text));
const amount = z.string().regex(/^\d+(\.\d+)?$/);

const ExchangeStateSchema = z.object({
  id: z.string().min(1),
  status: z.enum(['new', 'waiting', 'confirming', 'exchanging', 'sending', 'finished', 'failed', 'refunded', 'verifying']),
  fromCurrency: z.string(),
  fromNetwork: z.string(),
  toCurrency: z.string(),
  toNetwork: z.string(),
  flow: z.string(),
  type: z.string(),
  expectedAmountFrom: amount,
  expectedAmountTo: amount,
  amountFrom: amount.nullable(),
  amountTo: amount.nullable(),
  payinAddress: z.string(),
  payoutAddress: z.string(),
  refundAddress: z.string().nullable(),
  payinExtraId: z.string().nullable(),
  payoutExtraId: z.string().nullable(),
  payinHash: z.string().nullable(),
  payoutHash: z.string().nullable(),
  refundHash: z.string().nullable(),
  refundAmount: amount.nullable(),
  createdAt: date,
  updatedAt: date,
  depositReceivedAt: date.nullable(),
  outcome: z.enum(['finished', 'failed', 'refunded']),
  // Files written before support settled failed exchanges have neither: refunded, not yet waited.
  support: z.enum(['refunded', 'finished', 'held']).default('refunded'),
  failedRounds: z.number().int().nonnegative().default(0),
  deposit: z.object({ amount, hash: z.string() }).nullable(),
  pendingHash: z.string().nullable(),
  pendingAmountTo: amount.nullable(),
});

export const ChangeNowSimulatorStateSchema = z.object({
  version: z.literal(1),
  exchanges: z.array(ExchangeStateSchema),
  /** The first block the deposit scan has not read yet; null without a chain. */
  nextBlockToScan: z.number().int().nonnegative().nullable(),
});

export type ChangeNowSimulatorState = z.infer<typeof ChangeNowSimulatorStateSchema>;
