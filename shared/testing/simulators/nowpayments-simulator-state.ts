import * as z from 'zod';
import { NOWPAYMENTS_STATUSES } from '../../nowpayments/index.js';

/**
 * The NowPayments simulator's state file: invoices, payments with their status history, the IPNs
 * sent and the id counter, so that a restarted `npm start` still knows every invoice a checkout
 * points at. Amounts stay decimal text, times ISO text.
 */
const date = z.iso.datetime().transform((text) => new Date(text));
const decimal = z.string().regex(/^\d+(\.\d+)?$/);
const status = z.enum(NOWPAYMENTS_STATUSES);

const InvoiceStateSchema = z.object({
  id: z.string().regex(/^\d+$/),
  tokenId: z.string(),
  orderId: z.string().nullable(),
  orderDescription: z.string().nullable(),
  priceAmount: decimal,
  priceCurrency: z.string(),
  ipnCallbackUrl: z.string().nullable(),
  invoiceUrl: z.string(),
  successUrl: z.string().nullable(),
  cancelUrl: z.string().nullable(),
  isFixedRate: z.boolean(),
  isFeePaidByUser: z.boolean(),
  createdAt: date,
  updatedAt: date,
});

const PaymentStateSchema = z.object({
  paymentId: z.string().regex(/^\d+$/),
  invoiceId: z.string(),
  purchaseId: z.string(),
  status,
  statuses: z.array(status),
  orderId: z.string().nullable(),
  orderDescription: z.string().nullable(),
  priceAmount: decimal,
  priceCurrency: z.string(),
  payCurrency: z.string(),
  payAddress: z.string(),
  payAmount: decimal,
  actuallyPaid: decimal,
  actuallyPaidAtFiat: decimal,
  outcomeAmount: decimal,
  outcomeCurrency: z.string(),
  serviceFee: decimal,
  createdAt: date,
  updatedAt: date,
  statusTimes: z.array(date),
  /** With on-chain settlement: the outcome's transfer, signed and kept before it is broadcast; absent in older files. */
  outcomeTransfer: z
    .object({
      currency: z.string(),
      units: z.string().regex(/^\d+$/),
      nonce: z.number().int().min(0).optional(),
      signedTx: z.string().regex(/^0x[0-9a-f]+$/).optional(),
      txHash: z.string().regex(/^0x[0-9a-f]{64}$/).optional(),
      isMined: z.boolean(),
    })
    .nullable()
    .optional(),
});

export const NowPaymentsSimulatorStateSchema = z.object({
  version: z.literal(1),
  /** The last id handed out; the next one is above it. */
  lastId: z.number().int().positive(),
  invoices: z.array(InvoiceStateSchema),
  payments: z.array(PaymentStateSchema),
  ipnDeliveries: z.array(z.object({ paymentId: z.string(), status: z.string(), httpStatus: z.number().int() })),
  /** IPNs not yet answered (or given up), per payment, in sending order; absent in files from before retries. */
  ipnQueues: z
    .array(
      z.object({
        paymentId: z.string().regex(/^\d+$/),
        /** Indexes into the payment's `statuses`, next first. */
        statusIndexes: z.array(z.number().int().min(0)),
        isExponentForm: z.boolean(),
        /** Attempts of the first IPN that were not answered. */
        failedAttempts: z.number().int().min(0),
      }),
    )
    .optional(),
});

export type IpnQueue = NonNullable<z.infer<typeof NowPaymentsSimulatorStateSchema>['ipnQueues']>[number];

export type NowPaymentsSimulatorState = z.infer<typeof NowPaymentsSimulatorStateSchema>;
