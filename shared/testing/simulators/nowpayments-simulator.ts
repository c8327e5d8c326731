import { createHash, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { systemClock, type Clock } from '../../clock/index.js';
import type { Logger } from '../../logging/index.js';
import { bpsOf, formatUnits, mulDiv, parseUnits } from '../../money/index.js';
import { type NowPaymentsStatus, IPN_SIGNATURE_HEADER, parseJsonPreservingNumbers, signIpnPayload } from '../../nowpayments/index.js';
import { renderInvoicePage } from './nowpayments-invoice-page.js';
import { createOutcomePayer, type NowPaymentsChainSettlement, type OutcomePayer, type SignedOutcome } from './nowpayments-simulator-chain.js';
import { type IpnQueue, NowPaymentsSimulatorStateSchema, type NowPaymentsSimulatorState } from './nowpayments-simulator-state.js';
import { createStateFileWriter, readStateFile } from '../sandbox/state-file.js';

/**
 * A local NowPayments speaking its public HTTP API, for tests and `npm start`. Built from the public API docs and
 * real IPN captures, not from our client:
 *
 * - `GET /v1/status`, `POST /v1/invoice`, `GET /v1/payment/:id` with `x-api-key`, answering the documented fields
 *   and the documented error shape `{ status: false, statusCode, code, message }`;
 * - IPNs POSTed to the invoice's `ipn_callback_url`: keys sorted, amounts and ids as JSON numbers, `updated_at` in
 *   epoch milliseconds, a `fee` object, signed in `x-nowpayments-sig` the way NowPayments documents;
 * - `GET /invoice/:id`: a plain payment page with buttons, and JSON control endpoints under `/sandbox/` for other
 *   processes (no key: a local tool only).
 *
 * Amounts are exact decimal arithmetic on bigints; crypto amounts have 8 decimals, like NowPayments' own.
 * With `chain`, the outcome of every payment that reaches the merchant (`finished`, `partially_paid`) is
 * really sent to the outcome wallet on the local chain, before the payment's IPNs.
 */
export interface NowPaymentsSimulatorOptions {
  /** The only `x-api-key` accepted. */
  apiKey: string;
  /** Key of the IPN signatures. */
  ipnSecret: string;
  /** Port to listen on (127.0.0.1); 0 (default) picks a free one. */
  port?: number;
  /** Base of `invoice_url` (`<publicUrl>/invoice/<id>`); default the server's own URL. */
  publicUrl?: string;
  /** US dollars per whole coin, as decimal strings. Default `{ eth: '3000', btc: '60000', usdttrc20: '1', usdterc20: '1' }`. */
  usdPerCoin?: Record<string, string>;
  /** The merchant's payout currency. Default `'eth'`. */
  outcomeCurrency?: string;
  /** NowPayments' fee, in basis points kept from the outcome. Default 50 (0.5 %). */
  processorFeeBps?: number;
  /** Source of invoice and payment times. Default the system clock. */
  clock?: Clock;
  /** Sends IPNs. Default the global fetch. */
  fetch?: typeof fetch;
  /** Per-IPN limit in milliseconds. Default 10 000 (NowPayments itself waits about 3 s). */
  ipnTimeoutMs?: number;
  /**
   * An IPN the callback did not answer 2xx (down, 5xx, timeout) is sent again after each of these
   * delays in turn, then given up. NowPayments does not publish its schedule; the sandbox uses
   * 1, 2, 5, 10 and 30 s. IPNs still to be sent are kept in the state file, so after a restart
   * `resumeIpns()` goes on with them, as the real service would have while we were down.
   * Default none: each IPN is sent once (tests count deliveries).
   */
  ipnRetryDelaysMs?: readonly number[];
  /** Receives `nowpayments_simulator.*` events; nothing secret is logged. Default: silent. */
  logger?: Logger;
  /**
   * Keep invoices, payments and IPN history in this JSON file: loaded at start, rewritten after every
   * change, so a restarted sandbox still knows the invoices its checkouts point at. Default: memory only.
   */
  stateFile?: string;
  /**
   * Pay each outcome on a local chain, as NowPayments pays the merchant's outcome wallet: when a payment
   * ends `finished` or `partially_paid`, exactly its outcome (in the outcome currency's base units: ETH,
   * or the USDT token for `usdterc20`) goes from the payer account to `outcomeWallet`, once per payment
   * (signed and kept in the state file before it is broadcast, so a restart re-sends the same bytes and
   * never pays twice), and is mined before the first IPN is sent. Default: nothing moves on chain.
   */
  chain?: NowPaymentsChainSettlement;
}

export interface SimulatedPaymentOptions {
  /** Part of `pay_amount` actually paid, as a decimal string: `'1'` full (default), `'0.5'` half, `'1.2'` overpaid. */
  fraction?: string;
  /** Coin the payer picks. Default `'eth'`; must have a `usdPerCoin` rate. */
  payCurrency?: string;
  /** Default true; false = every IPN is lost (reconciliation must find the payment via `GET /v1/payment/{id}`). */
  deliverIpn?: boolean;
  /** Deliver only the first N IPNs of the sequence and lose the rest (e.g. 1: only `waiting` arrives). */
  deliverFirstIpns?: number;
  /** Sends every IPN this many times in a row. Default 1. */
  repeatEachIpn?: number;
  /** `'reverse'` sends the status sequence backwards: the final status first, then the stale ones. Default forward. */
  order?: 'forward' | 'reverse';
  /** Default `finished` for a fraction ≥ 1, `partially_paid` below. */
  finalStatus?: 'finished' | 'partially_paid' | 'failed' | 'refunded';
  /** Writes every non-zero amount in the IPN JSON in exponent form (`6.66667e-3`). Default false. */
  useExponentNotation?: boolean;
}

export interface SimulatedInvoice {
  id: string;
  tokenId: string;
  orderId: string | null;
  orderDescription: string | null;
  /** Decimal text as sent. */
  priceAmount: string;
  priceCurrency: string;
  ipnCallbackUrl: string | null;
  invoiceUrl: string;
  successUrl: string | null;
  cancelUrl: string | null;
  isFixedRate: boolean;
  isFeePaidByUser: boolean;
  createdAt: Date;
}

export interface SimulatedPayment {
  paymentId: string;
  invoiceId: string;
  purchaseId: string;
  /** The payment's latest status in processing order (whatever order its IPNs were delivered in). */
  status: NowPaymentsStatus;
  /** Every status it went through, in processing order. */
  statuses: NowPaymentsStatus[];
  orderId: string | null;
  orderDescription: string | null;
  priceAmount: string;
  priceCurrency: string;
  payCurrency: string;
  payAddress: string;
  /** Amounts: canonical decimal text, 8 decimals at most. */
  payAmount: string;
  actuallyPaid: string;
  actuallyPaidAtFiat: string;
  outcomeAmount: string;
  outcomeCurrency: string;
  /** NowPayments' fee, in the outcome currency. */
  serviceFee: string;
  /** Time of the first status (`waiting`). */
  createdAt: Date;
  /** Time of the latest status: the clock's time at `pay()`; each earlier status is one simulated second before. */
  updatedAt: Date;
  /** With `chain`: the mined transaction that paid the outcome to the outcome wallet; null when none was (yet). */
  outcomeTxHash: string | null;
}

export interface IpnDelivery {
  paymentId: string;
  status: string;
  /** The callback's HTTP status; 0 when it could not be reached or timed out. */
  httpStatus: number;
}

export interface NowPaymentsSimulator {
  /** Server base, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** `${url}/v1`, for `createNowPaymentsClient({ apiUrl })`. */
  apiUrl: string;
  invoices(): SimulatedInvoice[];
  payments(): SimulatedPayment[];
  /** Creates a payment for the invoice and sends its IPN sequence; resolves once every IPN was answered. */
  pay(invoiceId: string, options?: SimulatedPaymentOptions): Promise<SimulatedPayment>;
  /** The payer picks a coin and never pays: a payment goes waiting → expired, with IPNs. */
  expire(invoiceId: string): Promise<void>;
  /** Sends the payment's latest status again; returns the callback's HTTP status (0 when unreachable). */
  resendIpn(paymentId: string): Promise<number>;
  /** Goes on with what a previous run had not finished (state file): outcomes not yet mined, then IPNs not yet delivered; returns how many payments have some. */
  resumeIpns(): number;
  /** IPNs still to be sent or retried. */
  readonly unsentIpnCount: number;
  readonly ipnDeliveries: readonly IpnDelivery[];
  close(): Promise<void>;
}

const DEFAULT_USD_PER_COIN: Record<string, string> = { eth: '3000', btc: '60000', usdttrc20: '1', usdterc20: '1' };
/** Crypto amounts and rates are computed in these units. */
const COIN_DECIMALS = 8;
const RATE_DECIMALS = 18;
const MAX_BODY_BYTES = 1024 * 1024;
const STEP_MS = 1000;

const SEQUENCES: Record<NonNullable<SimulatedPaymentOptions['finalStatus']> | 'expired', NowPaymentsStatus[]> = {
  finished: ['waiting', 'confirming', 'confirmed', 'sending', 'finished'],
  partially_paid: ['waiting', 'confirming', 'partially_paid'],
  failed: ['waiting', 'confirming', 'failed'],
  // NowPayments does not document the path to `refunded`; the shortest plausible one.
  refunded: ['waiting', 'confirming', 'refunded'],
  expired: ['waiting', 'expired'],
};

/** Validates SimulatedPaymentOptions from the JSON control endpoint and from `pay()`. */
const SimulatedPaymentOptionsSchema = z
  .object({
    fraction: z.string().regex(/^\d+(\.\d+)?$/).optional(),
    payCurrency: z.string().regex(/^[a-z0-9]{1,32}$/).optional(),
    deliverIpn: z.boolean().optional(),
    deliverFirstIpns: z.number().int().min(0).max(10).optional(),
    repeatEachIpn: z.number().int().min(1).max(20).optional(),
    order: z.enum(['forward', 'reverse']).optional(),
    finalStatus: z.enum(['finished', 'partially_paid', 'failed', 'refunded']).optional(),
    useExponentNotation: z.boolean().optional(),
  })
  .strict();

// ---------------------------------------------------------------------------------------------------------------
// JSON text with exact numbers. NowPayments' servers write numbers as JavaScript does (`0.00666667`, `1e-7`); we
// produce the same text from decimal strings without ever making a float.

/** A JSON number token written from exact decimal text. */
class JsonNumber {
  constructor(readonly text: string) {}
}
type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

function num(decimalText: string, exponentForm = false): JsonNumber {
  return new JsonNumber(exponentForm ? exponentNumberText(decimalText) : jsNumberText(decimalText));
}

/** Significant digits and decimal exponent `n` of a non-negative canonical decimal: value = 0.digits × 10^n. */
function decimalShape(text: string): { digits: string; n: number } {
  const [whole = '', fraction = ''] = text.split('.');
  const all = `${whole}${fraction}`;
  const leading = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(leading).replace(/0+$/, '');
  return { digits, n: whole.length - leading };
}

/** The text `Number.prototype.toString` gives for this value (ECMA-262 Number::toString), computed on strings. */
function jsNumberText(text: string): string {
  const { digits, n } = decimalShape(text);
  const k = digits.length;
  if (k === 0) return '0';
  if (k <= n && n <= 21) return digits + '0'.repeat(n - k);
  if (0 < n && n <= 21) return `${digits.slice(0, n)}.${digits.slice(n)}`;
  if (-6 < n && n <= 0) return `0.${'0'.repeat(-n)}${digits}`;
  const exponent = n - 1;
  return `${digits[0]}${k > 1 ? `.${digits.slice(1)}` : ''}e${exponent >= 0 ? '+' : '-'}${Math.abs(exponent)}`;
}

/** Scientific notation for every non-zero value: `0.00666667` → `6.66667e-3`. */
function exponentNumberText(text: string): string {
  const { digits, n } = decimalShape(text);
  if (digits === '') return '0';
  return `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${n - 1}`;
}

function writeJson(value: JsonValue, sortKeys: boolean): string {
  if (value instanceof JsonNumber) return value.text;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => writeJson(item, sortKeys)).join(',')}]`;
  const keys = sortKeys ? Object.keys(value).sort() : Object.keys(value);
  return `{${keys.map((key) => `${JSON.stringify(key)}:${writeJson(value[key] ?? null, sortKeys)}`).join(',')}}`;
}

// ---------------------------------------------------------------------------------------------------------------

interface InvoiceRecord extends SimulatedInvoice {
  updatedAt: Date;
}

/** The outcome's transfer on chain: due, then signed (kept before it is broadcast), then mined. */
interface OutcomeTransfer extends Partial<SignedOutcome> {
  currency: string;
  /** Base units of the outcome currency on chain. */
  units: string;
  isMined: boolean;
}

interface PaymentRecord extends Omit<SimulatedPayment, 'outcomeTxHash'> {
  /** Per status, in processing order: the time it was reached. */
  statusTimes: Date[];
  outcomeTransfer?: OutcomeTransfer | null;
}

/** Thrown for requests the real API would refuse; becomes the documented error body. */
class ApiRefusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A deterministic, plausible-looking deposit address per invoice and coin. */
function depositAddress(invoiceId: string, payCurrency: string): string {
  const hex = createHash('sha512').update(`address:${invoiceId}:${payCurrency}`).digest('hex');
  if (payCurrency === 'btc') return `bc1q${hex.slice(0, 38)}`;
  if (payCurrency.endsWith('trc20') || payCurrency === 'trx') {
    const base58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    return `T${Array.from({ length: 33 }, (_, i) => base58[parseInt(hex.slice(i * 2, i * 2 + 2), 16) % 58]).join('')}`;
  }
  return `0x${hex.slice(0, 40)}`;
}

function cloneInvoice(record: InvoiceRecord): SimulatedInvoice {
  const { updatedAt: _updatedAt, ...invoice } = record;
  return { ...invoice, createdAt: new Date(record.createdAt) };
}

function clonePayment(record: PaymentRecord): SimulatedPayment {
  const { statusTimes: _statusTimes, outcomeTransfer, ...payment } = record;
  return {
    ...payment,
    statuses: [...record.statuses],
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
    outcomeTxHash: outcomeTransfer?.isMined ? (outcomeTransfer.txHash ?? null) : null,
  };
}

export async function startNowPaymentsSimulator(options: NowPaymentsSimulatorOptions): Promise<NowPaymentsSimulator> {
  if (options.apiKey === '' || options.ipnSecret === '') throw new Error('The NowPayments simulator needs an apiKey and an ipnSecret');
  const clock = options.clock ?? systemClock;
  const doFetch = options.fetch ?? fetch;
  const ipnTimeoutMs = options.ipnTimeoutMs ?? 10_000;
  const outcomeCurrency = (options.outcomeCurrency ?? 'eth').toLowerCase();
  const feeBps = options.processorFeeBps ?? 50;
  const rates = new Map<string, bigint>();
  for (const [coin, rate] of Object.entries(options.usdPerCoin ?? DEFAULT_USD_PER_COIN)) {
    const units = parseUnits(rate, RATE_DECIMALS);
    if (units <= 0n) throw new Error(`usdPerCoin.${coin} must be greater than zero`);
    rates.set(coin.toLowerCase(), units);
  }
  if (!rates.has(outcomeCurrency)) throw new Error(`outcomeCurrency ${outcomeCurrency} has no usdPerCoin rate`);
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000) throw new Error('processorFeeBps must be an integer from 0 to 10000');

  const payer: OutcomePayer | undefined = options.chain ? await createOutcomePayer(options.chain) : undefined;
  const invoices = new Map<string, InvoiceRecord>();
  const payments = new Map<string, PaymentRecord>();
  const deliveries: IpnDelivery[] = [];
  // IPNs still to be sent, per payment, in the order NowPayments sends them.
  const ipnQueues = new Map<string, IpnQueue>();
  const retryDelaysMs = options.ipnRetryDelaysMs ?? [];
  const retryTimers = new Set<NodeJS.Timeout>();
  // Payments whose queue is being sent now: resumeIpns() must not start a second sender on one.
  const draining = new Set<string>();
  let isClosed = false;
  // Ids start at a random point so a simulator without a state file does not hand out ids a local
  // database already holds; with one, they continue from the last id it handed out.
  let nextId = 4_000_000_000 + randomInt(0, 900_000_000);
  const stored = options.stateFile === undefined ? undefined : readStateFile(options.stateFile, NowPaymentsSimulatorStateSchema);
  if (stored) {
    for (const invoice of stored.invoices) invoices.set(invoice.id, invoice);
    for (const payment of stored.payments) payments.set(payment.paymentId, payment);
    deliveries.push(...stored.ipnDeliveries);
    for (const queue of stored.ipnQueues ?? []) ipnQueues.set(queue.paymentId, queue);
    nextId = stored.lastId;
  }
  const writer = options.stateFile === undefined ? undefined : createStateFileWriter(options.stateFile);
  /** Called after every change: a kill -9 right after loses at most a change in progress. */
  const save = (): void => {
    const state: NowPaymentsSimulatorState = {
      version: 1,
      lastId: nextId,
      invoices: [...invoices.values()],
      payments: [...payments.values()],
      ipnDeliveries: deliveries,
      ipnQueues: [...ipnQueues.values()],
    };
    writer?.save(state);
  };
  const newId = () => String((nextId += 1 + randomInt(0, 7)));
  let publicUrl = '';

  const rateOf = (coin: string): bigint => {
    const rate = rates.get(coin);
    if (rate === undefined) throw new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', `pay_currency ${coin} is not supported`);
    return rate;
  };

  // ---- payments and IPNs ----------------------------------------------------------------------------------------

  function createPayment(invoice: InvoiceRecord, input: SimulatedPaymentOptions, sequence: NowPaymentsStatus[]): PaymentRecord {
    const payCurrency = (input.payCurrency ?? 'eth').toLowerCase();
    const payRate = rateOf(payCurrency);
    const outRate = rateOf(outcomeCurrency);
    const price = parseUnits(invoice.priceAmount, RATE_DECIMALS);
    // pay_amount = price / rate, rounded up to 8 decimals so paying it in full covers the price.
    const payAmount = mulDiv(price, 10n ** BigInt(COIN_DECIMALS), payRate, 'up');
    const isExpired = sequence.includes('expired');
    const fraction = isExpired ? 0n : parseUnits(input.fraction ?? '1', RATE_DECIMALS);
    const actuallyPaid = mulDiv(payAmount, fraction, 10n ** BigInt(RATE_DECIMALS), 'down');
    const atFiat = mulDiv(actuallyPaid, payRate, 10n ** BigInt(RATE_DECIMALS), 'down');
    // Outcome: what arrived (or, before anything arrived, what is expected), valued at the rates, minus the fee.
    const basis = actuallyPaid > 0n ? actuallyPaid : payAmount;
    const gross = mulDiv(basis, payRate, outRate, 'down');
    const fee = bpsOf(gross, feeBps, 'up');
    // The last status is reached now, each earlier one a simulated second before it: updated_at tells the processing
    // order even when IPNs are delivered out of order, and no time lies in the future.
    const now = clock.now().getTime();
    const statusTimes = sequence.map((_, index) => new Date(now - (sequence.length - 1 - index) * STEP_MS));
    const createdAt = statusTimes[0] ?? new Date(now);
    const payment: PaymentRecord = {
      paymentId: newId(),
      invoiceId: invoice.id,
      purchaseId: newId(),
      status: sequence[sequence.length - 1] ?? 'waiting',
      statuses: [...sequence],
      orderId: invoice.orderId,
      orderDescription: invoice.orderDescription,
      priceAmount: invoice.priceAmount,
      priceCurrency: invoice.priceCurrency,
      payCurrency,
      payAddress: depositAddress(invoice.id, payCurrency),
      payAmount: formatUnits(payAmount, COIN_DECIMALS),
      actuallyPaid: formatUnits(actuallyPaid, COIN_DECIMALS),
      actuallyPaidAtFiat: formatUnits(atFiat, COIN_DECIMALS),
      outcomeAmount: formatUnits(gross - fee, COIN_DECIMALS),
      outcomeCurrency,
      serviceFee: formatUnits(fee, COIN_DECIMALS),
      createdAt,
      updatedAt: statusTimes[statusTimes.length - 1] ?? createdAt,
      statusTimes,
      outcomeTransfer: null,
    };
    // NowPayments sends the outcome to the merchant's wallet when the funds are processed: `finished`,
    // or `partially_paid` ("appears when the funds have arrived in your wallet").
    const final = sequence[sequence.length - 1];
    const units = payer && (final === 'finished' || final === 'partially_paid') ? payer.unitsOf(outcomeCurrency, payment.outcomeAmount) : undefined;
    if (units !== undefined && units > 0n) payment.outcomeTransfer = { currency: outcomeCurrency, units: units.toString(), isMined: false };
    // Saved by runSequence together with the payment's IPNs: a kill between the two writes would leave a payment nobody hears of.
    payments.set(payment.paymentId, payment);
    return payment;
  }

  /** The IPN body for one status: the fields and types of real IPN captures, keys sorted as NowPayments sends them. */
  function ipnBody(payment: PaymentRecord, statusIndex: number, exponentForm: boolean): string {
    const status = payment.statuses[statusIndex] ?? payment.status;
    const hasFunds = statusIndex > 0 && status !== 'expired';
    const amount = (text: string) => num(text, exponentForm);
    const body: JsonValue = {
      actually_paid: amount(hasFunds ? payment.actuallyPaid : '0'),
      actually_paid_at_fiat: amount(hasFunds ? payment.actuallyPaidAtFiat : '0'),
      fee: {
        currency: payment.outcomeCurrency,
        depositFee: amount('0'),
        serviceFee: amount(payment.serviceFee),
        withdrawalFee: amount('0'),
      },
      invoice_id: num(payment.invoiceId),
      order_description: payment.orderDescription,
      order_id: payment.orderId,
      outcome_amount: amount(payment.outcomeAmount),
      outcome_currency: payment.outcomeCurrency,
      parent_payment_id: null,
      pay_address: payment.payAddress,
      pay_amount: amount(payment.payAmount),
      pay_currency: payment.payCurrency,
      payin_extra_id: null,
      payment_extra_ids: null,
      payment_id: num(payment.paymentId),
      payment_status: status,
      price_amount: amount(payment.priceAmount),
      price_currency: payment.priceCurrency,
      purchase_id: payment.purchaseId,
      updated_at: num(String((payment.statusTimes[statusIndex] ?? payment.updatedAt).getTime())),
    };
    return writeJson(body, true);
  }

  async function sendIpn(payment: PaymentRecord, statusIndex: number, exponentForm: boolean): Promise<number> {
    const invoice = invoices.get(payment.invoiceId);
    const status = payment.statuses[statusIndex] ?? payment.status;
    if (!invoice?.ipnCallbackUrl) return 0;
    const body = ipnBody(payment, statusIndex, exponentForm);
    // NowPayments signs JSON.stringify(sortObject(params)) of the parsed payload; signIpnPayload does exactly that.
    const signature = signIpnPayload(JSON.parse(body) as Record<string, unknown>, options.ipnSecret);
    let httpStatus = 0;
    try {
      const response = await doFetch(invoice.ipnCallbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IPN_SIGNATURE_HEADER]: signature, 'user-agent': 'NowPaymentsSimulator' },
        body,
        signal: AbortSignal.timeout(ipnTimeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      httpStatus = response.status;
    } catch {
      httpStatus = 0;
    }
    deliveries.push({ paymentId: payment.paymentId, status, httpStatus });
    save();
    options.logger?.info('nowpayments_simulator.ipn_sent', { paymentId: payment.paymentId, status, httpStatus });
    return httpStatus;
  }

  const isAnswered = (httpStatus: number) => httpStatus >= 200 && httpStatus < 300;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        retryTimers.delete(timer);
        resolve();
      }, ms);
      retryTimers.add(timer);
    });

  /**
   * Sends a payment's queued IPNs in order. One the callback does not answer 2xx is sent again after
   * each retry delay, then given up; the queue is saved after every step. `onFirstFailure` fires when
   * an IPN is not answered, so `pay()` can return while retries go on.
   */
  async function drainIpnQueue(queue: IpnQueue, onFirstFailure?: () => void): Promise<void> {
    if (draining.has(queue.paymentId)) return;
    draining.add(queue.paymentId);
    try {
      await sendQueuedIpns(queue, onFirstFailure);
    } finally {
      draining.delete(queue.paymentId);
    }
  }

  async function sendQueuedIpns(queue: IpnQueue, onFirstFailure?: () => void): Promise<void> {
    const payment = payments.get(queue.paymentId);
    while (payment && !isClosed && queue.statusIndexes.length > 0) {
      const statusIndex = queue.statusIndexes[0] as number;
      const httpStatus = await sendIpn(payment, statusIndex, queue.isExponentForm);
      if (isClosed) return;
      if (isAnswered(httpStatus) || queue.failedAttempts >= retryDelaysMs.length) {
        queue.statusIndexes.shift();
        queue.failedAttempts = 0;
        save();
        continue;
      }
      onFirstFailure?.();
      await pause(retryDelaysMs[queue.failedAttempts] as number);
      queue.failedAttempts += 1;
      save();
    }
    if (ipnQueues.get(queue.paymentId) === queue && queue.statusIndexes.length === 0) {
      ipnQueues.delete(queue.paymentId);
      save();
    }
  }

  async function runSequence(payment: PaymentRecord, input: SimulatedPaymentOptions): Promise<void> {
    if (input.deliverIpn === false) {
      save();
      return settleOutcome(payment);
    }
    const indexes = payment.statuses.map((_, index) => index).slice(0, input.deliverFirstIpns ?? payment.statuses.length);
    if (input.order === 'reverse') indexes.reverse();
    const queue: IpnQueue = {
      paymentId: payment.paymentId,
      statusIndexes: indexes.flatMap((index) => Array.from({ length: input.repeatEachIpn ?? 1 }, () => index)),
      isExponentForm: input.useExponentNotation === true,
      failedAttempts: 0,
    };
    ipnQueues.set(payment.paymentId, queue);
    save();
    // The funds reach the merchant before NowPayments says so; a failure here leaves the IPNs queued for resumeIpns().
    await settleOutcome(payment);
    // Resolves when every IPN was answered, or at the first that was not (its retries go on in the background).
    await new Promise<void>((resolve) => {
      void drainIpnQueue(queue, resolve).then(resolve);
    });
  }

  // One signer at a time: nonces are taken in order. Per payment, one settlement at a time.
  let signing: Promise<unknown> = Promise.resolve();
  const settling = new Map<string, Promise<void>>();

  /** Pays the payment's outcome on chain once: signs and keeps the bytes, then delivers them until mined. */
  function settleOutcome(payment: PaymentRecord): Promise<void> {
    const transfer = payment.outcomeTransfer;
    if (!payer || !transfer || transfer.isMined) return Promise.resolve();
    const running = settling.get(payment.paymentId);
    if (running) return running;
    const settled = (async () => {
      if (transfer.signedTx === undefined) {
        const signed = signing.then(async () => {
          if (transfer.signedTx !== undefined) return;
          const storedNext = Math.max(-1, ...[...payments.values()].map((other) => other.outcomeTransfer?.nonce ?? -1)) + 1;
          Object.assign(transfer, await payer.sign(transfer.currency, BigInt(transfer.units), storedNext));
          save();
        });
        signing = signed.catch(() => undefined);
        await signed;
      }
      await payer.deliver(transfer as SignedOutcome, () => isClosed);
      if (isClosed) return;
      transfer.isMined = true;
      save();
      options.logger?.info('nowpayments_simulator.outcome_sent', { paymentId: payment.paymentId, currency: transfer.currency, units: transfer.units, txHash: transfer.txHash });
    })().finally(() => settling.delete(payment.paymentId));
    settling.set(payment.paymentId, settled);
    return settled;
  }

  /** After a restart: the outcome first (if it was not mined), then the IPNs left. */
  async function resumePayment(paymentId: string): Promise<void> {
    const payment = payments.get(paymentId);
    try {
      if (payment) await settleOutcome(payment);
    } catch (error) {
      options.logger?.error('nowpayments_simulator.outcome_failed', { paymentId, error });
      return;
    }
    const queue = ipnQueues.get(paymentId);
    if (queue) await drainIpnQueue(queue);
  }

  function invoiceOrThrow(invoiceId: string): InvoiceRecord {
    const invoice = invoices.get(invoiceId);
    if (!invoice) throw new ApiRefusal(404, 'NOT_FOUND', `Invoice ${invoiceId} not found`);
    return invoice;
  }

  async function pay(invoiceId: string, given: SimulatedPaymentOptions = {}): Promise<SimulatedPayment> {
    const input = SimulatedPaymentOptionsSchema.parse(given);
    const invoice = invoiceOrThrow(invoiceId);
    const fraction = parseUnits(input.fraction ?? '1', RATE_DECIMALS);
    if (fraction <= 0n) throw new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', 'fraction must be greater than zero');
    const finalStatus = input.finalStatus ?? (fraction >= 10n ** BigInt(RATE_DECIMALS) ? 'finished' : 'partially_paid');
    const payment = createPayment(invoice, input, SEQUENCES[finalStatus]);
    await runSequence(payment, input);
    return clonePayment(payment);
  }

  async function expireInvoice(invoiceId: string): Promise<SimulatedPayment> {
    const payment = createPayment(invoiceOrThrow(invoiceId), {}, SEQUENCES.expired);
    await runSequence(payment, {});
    return clonePayment(payment);
  }

  // ---- HTTP -------------------------------------------------------------------------------------------------------

  function requireApiKey(request: IncomingMessage): void {
    if (request.headers['x-api-key'] !== options.apiKey) throw new ApiRefusal(403, 'INVALID_API_KEY', 'Invalid api key');
  }

  function createInvoice(text: string): InvoiceRecord {
    let typed: Record<string, unknown>;
    let exact: Record<string, unknown>;
    try {
      typed = JSON.parse(text) as Record<string, unknown>;
      exact = parseJsonPreservingNumbers(text) as Record<string, unknown>;
    } catch {
      throw new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', 'Request body must be a valid JSON object');
    }
    if (typed === null || typeof typed !== 'object' || Array.isArray(typed)) {
      throw new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', 'Request body must be a valid JSON object');
    }
    const refuse = (message: string): never => {
      throw new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', message);
    };
    if (typed.price_amount === undefined) refuse('price_amount is required');
    // The type from JSON.parse, the value from the exact text: no float decides anything about the price.
    if (typeof typed.price_amount !== 'number') refuse('price_amount must be a number');
    const priceText = String(exact.price_amount);
    let priceUnits = 0n;
    try {
      priceUnits = parseUnits(priceText, RATE_DECIMALS);
    } catch {
      refuse(`price_amount must have at most ${RATE_DECIMALS} decimals`);
    }
    if (priceUnits <= 0n) refuse('price_amount must be greater than 0');
    if (typeof typed.price_currency !== 'string') refuse('price_currency is required');
    const priceCurrency = String(typed.price_currency).toLowerCase();
    if (priceCurrency !== 'usd') refuse(`price_currency ${priceCurrency} is not supported by the simulator (use usd)`);
    const optionalString = (field: string): string | null => {
      const value = typed[field];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'string') return refuse(`${field} must be a string`);
      return value;
    };
    const optionalUri = (field: string): string | null => {
      const value = optionalString(field);
      if (value === null) return null;
      try {
        const url = new URL(value);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      } catch {
        refuse(`${field} must be a valid uri`);
      }
      return value;
    };
    const optionalBoolean = (field: string): boolean => {
      const value = typed[field];
      if (value === undefined || value === null) return false;
      if (typeof value !== 'boolean') return refuse(`${field} must be a boolean`);
      return value;
    };
    const id = newId();
    const now = clock.now();
    const invoice: InvoiceRecord = {
      id,
      tokenId: digest(`token:${id}`).slice(0, 10),
      orderId: optionalString('order_id'),
      orderDescription: optionalString('order_description'),
      priceAmount: formatUnits(priceUnits, RATE_DECIMALS),
      priceCurrency,
      ipnCallbackUrl: optionalUri('ipn_callback_url'),
      invoiceUrl: `${publicUrl}/invoice/${id}`,
      successUrl: optionalUri('success_url'),
      cancelUrl: optionalUri('cancel_url'),
      isFixedRate: optionalBoolean('is_fixed_rate'),
      isFeePaidByUser: optionalBoolean('is_fee_paid_by_user'),
      createdAt: now,
      updatedAt: now,
    };
    invoices.set(id, invoice);
    save();
    return invoice;
  }

  /** The create-invoice answer: the documented fields (the docs show `id` and `price_amount` as strings). */
  function invoiceJson(invoice: InvoiceRecord): string {
    return JSON.stringify({
      id: invoice.id,
      token_id: invoice.tokenId,
      order_id: invoice.orderId,
      order_description: invoice.orderDescription,
      price_amount: jsNumberText(invoice.priceAmount),
      price_currency: invoice.priceCurrency,
      pay_currency: null,
      ipn_callback_url: invoice.ipnCallbackUrl,
      invoice_url: invoice.invoiceUrl,
      success_url: invoice.successUrl,
      cancel_url: invoice.cancelUrl,
      created_at: invoice.createdAt.toISOString(),
      updated_at: invoice.updatedAt.toISOString(),
      is_fixed_rate: invoice.isFixedRate,
      is_fee_paid_by_user: invoice.isFeePaidByUser,
    });
  }

  /** The `GET /v1/payment/:id` answer, in the documented field order. */
  function paymentJson(payment: PaymentRecord): string {
    const hasFunds = payment.status !== 'waiting' && payment.status !== 'expired';
    return writeJson(
      {
        payment_id: num(payment.paymentId),
        invoice_id: num(payment.invoiceId),
        payment_status: payment.status,
        pay_address: payment.payAddress,
        price_amount: num(payment.priceAmount),
        price_currency: payment.priceCurrency,
        pay_amount: num(payment.payAmount),
        actually_paid: num(hasFunds ? payment.actuallyPaid : '0'),
        actually_paid_at_fiat: num(hasFunds ? payment.actuallyPaidAtFiat : '0'),
        pay_currency: payment.payCurrency,
        order_id: payment.orderId,
        order_description: payment.orderDescription,
        purchase_id: payment.purchaseId,
        created_at: payment.createdAt.toISOString(),
        updated_at: payment.updatedAt.toISOString(),
        outcome_amount: num(payment.outcomeAmount),
        outcome_currency: payment.outcomeCurrency,
        payin_extra_id: null,
      },
      false,
    );
  }

  function sandboxInvoicesJson(): string {
    return JSON.stringify({
      invoices: [...invoices.values()].map((invoice) => ({
        ...cloneInvoice(invoice),
        payments: [...payments.values()].filter((payment) => payment.invoiceId === invoice.id).map(clonePayment),
      })),
    });
  }

  async function readBody(request: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new ApiRefusal(413, 'PAYLOAD_TOO_LARGE', 'Request body is too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  function send(response: ServerResponse, status: number, body: string, contentType = 'application/json'): void {
    response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    response.end(body);
  }

  /** Reads SimulatedPaymentOptions from a JSON body, or `fraction` from an HTML form. */
  function controlOptions(request: IncomingMessage, text: string): { input: SimulatedPaymentOptions; isForm: boolean } {
    const isForm = (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    if (isForm) {
      const fraction = new URLSearchParams(text).get('fraction');
      return { input: fraction ? { fraction } : {}, isForm };
    }
    let parsed: unknown = {};
    try {
      parsed = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', 'Body must be JSON SimulatedPaymentOptions');
    }
    const result = SimulatedPaymentOptionsSchema.safeParse(parsed);
    if (!result.success) {
      const fields = result.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
      throw new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', `Invalid options: ${fields}`);
    }
    return { input: result.data, isForm };
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://simulator').pathname;
    let match: RegExpExecArray | null;

    if (method === 'GET' && path === '/v1/status') return send(response, 200, '{"message":"OK"}');

    if (method === 'POST' && path === '/v1/invoice') {
      requireApiKey(request);
      const invoice = createInvoice(await readBody(request));
      options.logger?.info('nowpayments_simulator.invoice_created', { invoiceId: invoice.id, orderId: invoice.orderId });
      return send(response, 200, invoiceJson(invoice));
    }

    if (method === 'GET' && (match = /^\/v1\/payment\/([^/]+)$/.exec(path))) {
      requireApiKey(request);
      const id = match[1] ?? '';
      if (!/^\d+$/.test(id)) throw new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', 'Payment id must be a number');
      const payment = payments.get(id);
      if (!payment) throw new ApiRefusal(404, 'NOT_FOUND', 'Payment not found');
      return send(response, 200, paymentJson(payment));
    }

    if (method === 'GET' && (match = /^\/invoice\/(\d+)$/.exec(path))) {
      const invoice = invoiceOrThrow(match[1] ?? '');
      const own = [...payments.values()].filter((payment) => payment.invoiceId === invoice.id);
      const ethAmount = mulDiv(parseUnits(invoice.priceAmount, RATE_DECIMALS), 10n ** BigInt(COIN_DECIMALS), rateOf('eth'), 'up');
      const page = renderInvoicePage({
        invoice: cloneInvoice(invoice),
        payments: own.map(clonePayment),
        deliveries: deliveries.filter((delivery) => own.some((payment) => payment.paymentId === delivery.paymentId)),
        payAddress: depositAddress(invoice.id, 'eth'),
        ethAmount: formatUnits(ethAmount, COIN_DECIMALS),
      });
      return send(response, 200, page, 'text/html; charset=utf-8');
    }

    if (method === 'GET' && path === '/sandbox/invoices') return send(response, 200, sandboxInvoicesJson());

    if (method === 'POST' && (match = /^\/sandbox\/invoices\/(\d+)\/(pay|expire)$/.exec(path))) {
      const invoiceId = match[1] ?? '';
      const { input, isForm } = controlOptions(request, await readBody(request));
      const payment = match[2] === 'pay' ? await pay(invoiceId, input) : await expireInvoice(invoiceId);
      if (isForm) {
        response.writeHead(303, { location: `/invoice/${invoiceId}` });
        response.end();
        return;
      }
      const sent = deliveries.filter((delivery) => delivery.paymentId === payment.paymentId);
      return send(response, 200, JSON.stringify({ payment, ipnDeliveries: sent }));
    }

    throw new ApiRefusal(404, 'NOT_FOUND', `Cannot ${method} ${path}`);
  }

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      const refusal =
        error instanceof ApiRefusal
          ? error
          : error instanceof z.ZodError
            ? new ApiRefusal(400, 'INVALID_REQUEST_PARAMS', 'Invalid options')
            : undefined;
      if (!refusal) options.logger?.error('nowpayments_simulator.failed', { error });
      const status = refusal?.statusCode ?? 500;
      const body = JSON.stringify({
        status: false,
        statusCode: status,
        code: refusal?.code ?? 'INTERNAL_ERROR',
        message: refusal?.message ?? 'Internal server error',
      });
      if (!response.headersSent) send(response, status, body);
      else response.end();
    });
  });

  // Clients reuse keep-alive sockets (undici drops them a second before the server's 5 s): on a busy
  // machine that timer can fire late and a call die with ECONNRESET. Never close idle sockets here.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  publicUrl = (options.publicUrl ?? url).replace(/\/+$/, '');

  return {
    url,
    apiUrl: `${url}/v1`,
    invoices: () => [...invoices.values()].map(cloneInvoice),
    payments: () => [...payments.values()].map(clonePayment),
    pay,
    async expire(invoiceId) {
      await expireInvoice(invoiceId);
    },
    async resendIpn(paymentId) {
      const payment = payments.get(paymentId);
      if (!payment) throw new Error(`No simulated payment ${paymentId}`);
      return sendIpn(payment, payment.statuses.length - 1, false);
    },
    resumeIpns() {
      const unpaid = [...payments.values()].filter((payment) => payment.outcomeTransfer && !payment.outcomeTransfer.isMined).map((payment) => payment.paymentId);
      const resumed = new Set([...unpaid, ...ipnQueues.keys()]);
      for (const paymentId of resumed) void resumePayment(paymentId);
      return resumed.size;
    },
    get unsentIpnCount() {
      return [...ipnQueues.values()].reduce((sum, queue) => sum + queue.statusIndexes.length, 0);
    },
    get ipnDeliveries() {
      return deliveries.map((delivery) => ({ ...delivery }));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        isClosed = true;
        for (const timer of retryTimers) clearTimeout(timer);
        retryTimers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
        payer?.close();
      }),
  };
}
