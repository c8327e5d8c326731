import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../clock/index.js';
import type { Logger } from '../../logging/index.js';
import { canonicalAmount, type ChangeNowStatus } from '../../changenow/index.js';
import { parseJsonPreservingNumbers } from '../../nowpayments/index.js';
import { createSimulatorChain, type SimulatorChain } from './changenow-simulator-chain.js';
import { ChangeNowSimulatorStateSchema, type ChangeNowSimulatorState } from './changenow-simulator-state.js';
import {
  decimalsOf,
  fakeDepositAddress,
  fakeTxHash,
  isPlausibleAddress,
  quoteToAmount,
  rateKey,
} from './changenow-simulator-pricing.js';
import { createStateFileWriter, readStateFile } from '../sandbox/state-file.js';

/**
 * A local ChangeNow speaking its public API v2, built from the public documentation's shapes (not from our client):
 *
 * - `GET /v2/exchange/min-amount`, `GET /v2/exchange/estimated-amount`, `POST /v2/exchange`,
 *   `GET /v2/exchange/by-id?id=…`, authenticated by `x-changenow-api-key`; amounts are JSON numbers, unknown amounts
 *   `null`; errors are `{ "error": "<code>", "message": "…" }` with HTTP 400/401/404.
 * - Each exchange gets a deposit address (a fresh random EVM address when the from-network is EVM) and moves one
 *   step per processing round: `new` → `waiting` → (deposit) `confirming` → `exchanging` → `sending` → `finished`,
 *   or `failed` / `refunded` (`setOutcome`, or a deposit below the minimum → `failed`).
 * - `failed` is not the end at ChangeNow: the deposit is with their support, who later refund it to the refund
 *   address (`refunded`, the default) or complete the exchange (`sending` → `finished`); see `supportAfterRounds`,
 *   `setOutcome` and `settleBySupport`.
 * - With `rpcUrl`, deposits are read from the chain, and payouts to EVM targets (eth, and tokens given in
 *   `tokens`) are really sent from `operatorKey`'s account at `rate × (1 − spreadBps/10000)`, floored once at the
 *   target's decimals. `amountTo` stays null until `finished`.
 */
export interface ChangeNowSimulatorOptions {
  /** The only `x-changenow-api-key` accepted. */
  apiKey: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** JSON-RPC of the local chain (anvil). Without it, deposits come only from `markDeposited`. */
  rpcUrl?: string;
  /** Pays payouts and refunds on the chain; required with `rpcUrl`. Give the simulator an account of its own. */
  operatorKey?: string;
  /** ERC-20 contracts by ticker on the chain, e.g. `{ usdt: '0x…' }`. */
  tokens?: Record<string, string>;
  /** Whole `to` per whole `from`, decimal strings keyed `'from->to'`. Default `{ 'eth->eth': '1', 'eth->usdt': '3000', 'eth->btc': '0.05', 'usdt->usdt': '1', 'usdt->eth': '0.000333333333333333' }`. */
  rates?: Record<string, string>;
  /** Kept by the simulated exchange, in basis points of the converted amount. Default 50 (0.5 %). */
  spreadBps?: number;
  /** Smallest `fromAmount` per `'from->to'`, decimal strings. Default `'0.001'` for every pair. */
  minAmounts?: Record<string, string>;
  /** Source of `createdAt`/`updatedAt`. Default the system clock. */
  clock?: Clock;
  /** Milliseconds between automatic processing rounds. Default 200; 0 = only `advance()` moves exchanges. */
  pollIntervalMs?: number;
  /**
   * Keep the exchanges (and how far the deposit scan has read the chain) in this JSON file: loaded at
   * start, rewritten after every change, so a restarted sandbox finishes the swaps it had started.
   * Default: memory only.
   */
  stateFile?: string;
  /** Told when an automatic round fails (an exchange that cannot pay out, the chain unreachable), once per distinct reason. Default: silent. */
  logger?: Logger;
  /**
   * Rounds a `failed` exchange waits before ChangeNow support settles it as its exchange's `support` says
   * (see `setOutcome`). Default 5.
   */
  supportAfterRounds?: number;
}

/** What ChangeNow support does with a failed exchange: refund the deposit, complete the exchange, or (tests) nothing yet. */
export type SupportOutcome = 'refunded' | 'finished' | 'held';

/** ChangeNow's status values, as the API writes them (the one vocabulary: `ChangeNowStatus`); the simulator never expires an exchange. */
export type SimulatedStatus = Exclude<ChangeNowStatus, 'expired'>;

export interface SimulatedExchange {
  id: string;
  status: SimulatedStatus;
  fromCurrency: string;
  fromNetwork: string;
  toCurrency: string;
  toNetwork: string;
  flow: string;
  type: string;
  /** Decimal text as ChangeNow would write it. */
  expectedAmountFrom: string;
  expectedAmountTo: string;
  amountFrom: string | null;
  amountTo: string | null;
  payinAddress: string;
  payoutAddress: string;
  refundAddress: string | null;
  payinExtraId: string | null;
  payoutExtraId: string | null;
  payinHash: string | null;
  payoutHash: string | null;
  refundHash: string | null;
  refundAmount: string | null;
  createdAt: Date;
  updatedAt: Date;
  depositReceivedAt: Date | null;
}

/** `'GET /v2/exchange/by-id'`, `'POST /v2/exchange'`, `'GET /v2/exchange/min-amount'`, `'GET /v2/exchange/estimated-amount'`. */
export type SimulatorRoute = string;

export interface InjectedFailure {
  /** HTTP status to answer; 0 = close the connection without an answer. */
  status: number;
  /** JSON body (object) or raw text. Default `{ error: 'internal_error', message: 'Internal server error' }`. */
  body?: unknown;
  /** True: do the work first (e.g. create the exchange), then answer with the failure: "accepted, answer lost". */
  afterHandling?: boolean;
}

export interface ChangeNowSimulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `<url>/v2`, what CHANGENOW_API_URL points at. */
  apiUrl: string;
  /** Copies of every exchange, oldest first. */
  exchanges(): SimulatedExchange[];
  /** The next request to `route` fails as described (queued: call twice for two failures). */
  failNext(route: SimulatorRoute, status: number, body?: unknown, options?: { afterHandling?: boolean }): void;
  /**
   * Ends the exchange `failed` or `refunded` (refund of the deposit to `refundAddress`) once its deposit is confirmed.
   * `support`: what ChangeNow support later does with it once failed (default `refunded`; `held`: nothing until
   * `settleBySupport`).
   */
  setOutcome(id: string, outcome: 'failed' | 'refunded', options?: { support?: SupportOutcome }): void;
  /** ChangeNow support settles the exchange at the next round once it is failed: refunds the deposit, or completes the exchange. */
  settleBySupport(id: string, outcome: 'refunded' | 'finished'): void;
  /** Records a deposit without a chain (or a fake one with it): `amount` decimal text of `fromCurrency`. */
  markDeposited(id: string, amount: string, hash?: string): void;
  /** Runs one processing round now: each open exchange moves at most one step. */
  advance(): Promise<void>;
  /** Runs rounds until `id` reaches one of `statuses`; throws after `maxRounds` (default 20). */
  advanceUntil(id: string, statuses: readonly SimulatedStatus[], maxRounds?: number): Promise<SimulatedExchange>;
  close(): Promise<void>;
}

const DEFAULT_RATES: Record<string, string> = {
  'eth->eth': '1',
  'eth->usdt': '3000',
  'eth->btc': '0.05',
  'usdt->usdt': '1',
  'usdt->eth': '0.000333333333333333',
};
const AMOUNT_FIELDS = new Set(['minAmount', 'maxAmount', 'fromAmount', 'toAmount', 'expectedAmountFrom', 'expectedAmountTo', 'amountFrom', 'amountTo', 'refundAmount', 'depositFee', 'withdrawalFee']);
const MAX_BODY_BYTES = 64 * 1024;
const FINAL = new Set<SimulatedStatus>(['finished', 'failed', 'refunded']);

interface ExchangeState extends SimulatedExchange {
  outcome: 'finished' | 'failed' | 'refunded';
  /** What support does once the exchange failed, and the rounds it has waited for them. */
  support: SupportOutcome;
  failedRounds: number;
  deposit: { amount: string; hash: string } | null;
  /** The payout or refund transaction in flight on the chain. */
  pendingHash: string | null;
  /** What the payout in flight sends; `amountTo` once it is mined. */
  pendingAmountTo: string | null;
}

class ApiError extends Error {
  constructor(readonly status: number, readonly error: string, message: string) {
    super(message);
  }
}

export async function startChangeNowSimulator(options: ChangeNowSimulatorOptions): Promise<ChangeNowSimulator> {
  const clock = options.clock ?? systemClock;
  const rates = { ...DEFAULT_RATES, ...options.rates };
  const spreadBps = options.spreadBps ?? 50;
  if (!Number.isInteger(spreadBps) || spreadBps < 0 || spreadBps >= 10_000) throw new RangeError('spreadBps must be an integer in 0..9999');
  const minAmounts = options.minAmounts ?? {};
  const supportAfterRounds = options.supportAfterRounds ?? 5;
  if (!Number.isInteger(supportAfterRounds) || supportAfterRounds < 0) throw new RangeError('supportAfterRounds must be a whole number of rounds');
  if (options.rpcUrl !== undefined && options.operatorKey === undefined) throw new Error('startChangeNowSimulator: rpcUrl needs operatorKey');
  const stored = options.stateFile === undefined ? undefined : readStateFile(options.stateFile, ChangeNowSimulatorStateSchema);
  const chain: SimulatorChain | null =
    options.rpcUrl === undefined
      ? null
      : await createSimulatorChain({ rpcUrl: options.rpcUrl, operatorKey: options.operatorKey as string, tokens: options.tokens, fromBlock: stored?.nextBlockToScan ?? undefined });

  const states = new Map<string, ExchangeState>();
  for (const exchange of stored?.exchanges ?? []) states.set(exchange.id, exchange);
  const writer = options.stateFile === undefined ? undefined : createStateFileWriter(options.stateFile);
  /**
   * Called after every change. A payout is sent, its hash recorded and the file written with no I/O in
   * between, so a kill -9 cannot make a restarted simulator send it a second time.
   */
  const save = (): void => {
    const state: ChangeNowSimulatorState = { version: 1, exchanges: [...states.values()], nextBlockToScan: chain?.nextBlockToScan() ?? null };
    writer?.save(state);
  };
  const failures = new Map<string, InjectedFailure[]>();

  const rateFor = (from: string, to: string): string => {
    const rate = rates[rateKey(from, to)];
    if (rate === undefined) throw new ApiError(400, 'pair_is_inactive', `Pair ${from}/${to} is inactive`);
    return rate;
  };
  const minFor = (from: string, to: string): string => canonicalAmount(minAmounts[rateKey(from, to)] ?? '0.001');
  const isBelow = (amount: string, min: string, currency: string): boolean =>
    BigInt(scaled(amount, currency)) < BigInt(scaled(min, currency));
  const touch = (state: ExchangeState, status: SimulatedStatus): void => {
    state.status = status;
    state.updatedAt = clock.now();
  };
  const isChainPaid = (currency: string, network: string): boolean => chain !== null && network === 'eth' && chain.isSupported(currency);

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  const handlers: Record<string, (query: URLSearchParams, body: Record<string, unknown>) => Record<string, unknown>> = {
    'GET /v2/exchange/min-amount': (query) => {
      const pair = readPair(query);
      rateFor(pair.fromCurrency, pair.toCurrency);
      return { ...pair, flow: query.get('flow') ?? 'standard', minAmount: minFor(pair.fromCurrency, pair.toCurrency) };
    },
    'GET /v2/exchange/estimated-amount': (query) => {
      const pair = readPair(query);
      const rate = rateFor(pair.fromCurrency, pair.toCurrency);
      const fromAmount = readAmount(query.get('fromAmount'), 'fromAmount');
      if (isBelow(fromAmount, minFor(pair.fromCurrency, pair.toCurrency), pair.fromCurrency)) {
        throw new ApiError(400, 'deposit_too_small', 'Out of min amount');
      }
      const flow = query.get('flow') ?? 'standard';
      return {
        ...pair,
        flow,
        type: query.get('type') ?? 'direct',
        rateId: flow === 'fixed-rate' ? randomBytes(16).toString('hex') : null,
        validUntil: flow === 'fixed-rate' ? new Date(clock.now().getTime() + 20 * 60_000).toISOString() : null,
        transactionSpeedForecast: '10-60',
        warningMessage: null,
        fromAmount,
        toAmount: quoteToAmount(fromAmount, pair.fromCurrency, pair.toCurrency, rate, spreadBps),
        depositFee: '0',
        withdrawalFee: '0',
        userId: null,
      };
    },
    'POST /v2/exchange': (_query, body) => {
      const text = (field: string): string => (typeof body[field] === 'string' ? (body[field] as string) : '');
      const pair = readPair(new URLSearchParams({ fromCurrency: text('fromCurrency'), toCurrency: text('toCurrency'), fromNetwork: text('fromNetwork'), toNetwork: text('toNetwork') }));
      const rate = rateFor(pair.fromCurrency, pair.toCurrency);
      const fromAmount = readAmount(text('fromAmount'), 'fromAmount');
      const address = text('address');
      const refundAddress = text('refundAddress');
      if (!isPlausibleAddress(address, pair.toNetwork)) throw new ApiError(400, 'not_valid_address', 'Invalid address');
      if (refundAddress !== '' && !isPlausibleAddress(refundAddress, pair.fromNetwork)) {
        throw new ApiError(400, 'not_valid_refund_address', 'Invalid refund address');
      }
      if (isBelow(fromAmount, minFor(pair.fromCurrency, pair.toCurrency), pair.fromCurrency)) {
        throw new ApiError(400, 'out_of_range', `Amount is less then minimal: ${minFor(pair.fromCurrency, pair.toCurrency)} ${pair.fromCurrency.toUpperCase()}`);
      }
      const now = clock.now();
      const state: ExchangeState = {
        id: randomBytes(7).toString('hex'),
        status: 'new',
        ...pair,
        flow: text('flow') || 'standard',
        type: text('type') || 'direct',
        expectedAmountFrom: fromAmount,
        expectedAmountTo: quoteToAmount(fromAmount, pair.fromCurrency, pair.toCurrency, rate, spreadBps),
        amountFrom: null,
        amountTo: null,
        payinAddress: fakeDepositAddress(pair.fromNetwork),
        payoutAddress: address,
        refundAddress: refundAddress === '' ? null : refundAddress,
        payinExtraId: null,
        payoutExtraId: text('extraId') || null,
        payinHash: null,
        payoutHash: null,
        refundHash: null,
        refundAmount: null,
        createdAt: now,
        updatedAt: now,
        depositReceivedAt: null,
        outcome: 'finished',
        support: 'refunded',
        failedRounds: 0,
        deposit: null,
        pendingHash: null,
        pendingAmountTo: null,
      };
      states.set(state.id, state);
      save();
      return {
        id: state.id,
        fromAmount: state.expectedAmountFrom,
        toAmount: state.expectedAmountTo,
        flow: state.flow,
        type: state.type,
        payinAddress: state.payinAddress,
        payoutAddress: state.payoutAddress,
        payinExtraId: null,
        payoutExtraId: state.payoutExtraId,
        fromCurrency: state.fromCurrency,
        fromNetwork: state.fromNetwork,
        toCurrency: state.toCurrency,
        toNetwork: state.toNetwork,
        refundAddress: state.refundAddress,
        refundExtraId: null,
        rateId: null,
      };
    },
    'GET /v2/exchange/by-id': (query) => {
      const state = states.get(query.get('id') ?? '');
      if (state === undefined) throw new ApiError(404, 'not_found', 'Exchange not found');
      return statusBody(state);
    },
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'internal_error', message: 'Internal server error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/+$/, '')}`;
    const rawBody = await readBody(req);
    const failure = failures.get(route)?.shift();
    if (failure !== undefined && failure.afterHandling !== true) return fail(res, failure);
    if (req.headers['x-changenow-api-key'] !== options.apiKey) {
      return send(res, 401, { error: 'unauthorized', message: 'Invalid api key' });
    }
    const handler = handlers[route];
    if (handler === undefined) return send(res, 404, { error: 'not_found', message: 'Not found' });
    try {
      let body: Record<string, unknown> = {};
      if (req.method === 'POST') {
        const parsed = parseJsonPreservingNumbers(rawBody === '' ? '{}' : rawBody);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ApiError(400, 'not_valid_params', 'Body must be an object');
        body = parsed as Record<string, unknown>;
      }
      const answer = handler(url.searchParams, body);
      if (failure !== undefined) return fail(res, failure);
      send(res, 200, answer);
    } catch (error) {
      if (error instanceof ApiError) return send(res, error.status, { error: error.error, message: error.message });
      if (error instanceof Error && 'code' in error) return send(res, 400, { error: 'not_valid_params', message: 'Invalid parameters' });
      throw error;
    }
  }

  // ---- Processing -----------------------------------------------------------------------------------------------

  async function round(): Promise<void> {
    if (chain !== null) {
      const watched = new Map<string, string>();
      for (const state of states.values()) {
        if ((state.status === 'new' || state.status === 'waiting') && state.deposit === null && state.fromNetwork === 'eth') {
          watched.set(state.payinAddress, state.fromCurrency);
        }
      }
      const deposits = await chain.scanDeposits(watched);
      for (const deposit of deposits) {
        const state = [...states.values()].find((s) => s.payinAddress === deposit.address && s.deposit === null);
        if (state !== undefined) state.deposit = { amount: deposit.amount, hash: deposit.hash };
      }
      save();
    }
    // One exchange that cannot move (the chain unreachable for it) must not hold up the others.
    let firstError: unknown;
    for (const state of states.values()) {
      try {
        await step(state);
      } catch (error) {
        firstError ??= error;
      }
      save();
    }
    if (firstError !== undefined) throw firstError;
  }

  async function step(state: ExchangeState): Promise<void> {
    switch (state.status) {
      case 'new':
        return touch(state, 'waiting');
      case 'waiting':
        if (state.deposit === null) return;
        state.amountFrom = state.deposit.amount;
        state.payinHash = state.deposit.hash;
        state.depositReceivedAt = clock.now();
        return touch(state, 'confirming');
      case 'confirming': {
        const amountFrom = state.amountFrom as string;
        if (state.outcome === 'failed' || isBelow(amountFrom, minFor(state.fromCurrency, state.toCurrency), state.fromCurrency)) {
          return touch(state, 'failed');
        }
        if (state.outcome === 'refunded') return refundDeposit(state);
        return touch(state, 'exchanging');
      }
      case 'exchanging':
        return sendPayout(state);
      case 'sending':
        if (!(await isSettled(state))) return;
        state.amountTo = state.pendingAmountTo;
        return touch(state, 'finished');
      case 'failed':
        return settleFailed(state);
      default:
        return;
    }
  }

  /** Sends the deposit back to the refund address; `refunded` once that transaction is mined. */
  async function refundDeposit(state: ExchangeState): Promise<void> {
    if (state.refundHash === null) {
      const amountFrom = state.amountFrom as string;
      state.refundAmount = amountFrom;
      state.refundHash = isChainPaid(state.fromCurrency, state.fromNetwork) && state.refundAddress !== null
        ? await (chain as SimulatorChain).send(state.fromCurrency, state.refundAddress, amountFrom)
        : fakeTxHash();
      state.pendingHash = chain !== null && isChainPaid(state.fromCurrency, state.fromNetwork) ? state.refundHash : null;
      state.updatedAt = clock.now();
    }
    if (await isSettled(state)) touch(state, 'refunded');
  }

  async function sendPayout(state: ExchangeState): Promise<void> {
    const toAmount = quoteToAmount(state.amountFrom as string, state.fromCurrency, state.toCurrency, rateFor(state.fromCurrency, state.toCurrency), spreadBps);
    // The payout goes out once: its hash is stored before the status moves, and `sending` never sends again.
    state.payoutHash = isChainPaid(state.toCurrency, state.toNetwork)
      ? await (chain as SimulatorChain).send(state.toCurrency, state.payoutAddress, toAmount)
      : fakeTxHash();
    state.pendingHash = isChainPaid(state.toCurrency, state.toNetwork) ? state.payoutHash : null;
    state.pendingAmountTo = toAmount;
    touch(state, 'sending');
  }

  /**
   * ChangeNow support takes up a failed exchange after `supportAfterRounds` rounds: the deposit goes back to the
   * refund address (the exchange stays `failed` until that is mined), or the exchange is completed after all.
   */
  async function settleFailed(state: ExchangeState): Promise<void> {
    if (state.support === 'held' || state.amountFrom === null) return;
    if (state.refundHash === null && state.failedRounds < supportAfterRounds) {
      state.failedRounds += 1;
      return;
    }
    if (state.support === 'finished') return sendPayout(state);
    return refundDeposit(state);
  }

  /**
   * Whether the payout or refund in flight is mined. One the node dropped (evicted when fees rose)
   * or that reverted (a gas estimate made against a mempool that changed) moved nothing: it is sent
   * again, as an exchange's wallet would, and the new hash is the one waited for.
   */
  async function isSettled(state: ExchangeState): Promise<boolean> {
    if (state.pendingHash === null) return true;
    const receipt = await (chain as SimulatorChain).receiptOf(state.pendingHash);
    if (receipt === 'pending') return false;
    if (receipt === 'dropped' || receipt === 'reverted') {
      const isRefund = state.status !== 'sending';
      const currency = isRefund ? state.fromCurrency : state.toCurrency;
      const to = isRefund ? state.refundAddress : state.payoutAddress;
      const amount = isRefund ? state.refundAmount : state.pendingAmountTo;
      if (to === null || amount === null) throw new Error(`changenow simulator: exchange ${state.id} lost a transaction it cannot send again`);
      const hash = await (chain as SimulatorChain).send(currency, to, amount);
      if (isRefund) state.refundHash = hash;
      else state.payoutHash = hash;
      state.pendingHash = hash;
      state.updatedAt = clock.now();
      return false;
    }
    state.pendingHash = null;
    return true;
  }

  let queue: Promise<void> = Promise.resolve();
  const advance = (): Promise<void> => {
    const next = queue.then(round);
    queue = next.catch(() => undefined);
    return next;
  };
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  // A round fails again every poll while its cause lasts: say so once per reason, not five times a second.
  let lastRoundFailure = '';
  const timer =
    pollIntervalMs > 0
      ? setInterval(
          () =>
            void advance().then(
              () => (lastRoundFailure = ''),
              (error: unknown) => {
                const reason = error instanceof Error ? error.message.slice(0, 300) : String(error);
                if (reason !== lastRoundFailure) options.logger?.warn('changenow_simulator.round_failed', { reason });
                lastRoundFailure = reason;
              },
            ),
          pollIntervalMs,
        )
      : null;
  timer?.unref();

  // Clients reuse keep-alive sockets (undici drops them a second before the server's 5 s): on a busy
  // machine that timer can fire late and a call die with ECONNRESET. Never close idle sockets here.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const stateOf = (id: string): ExchangeState => {
    const state = states.get(id);
    if (state === undefined) throw new Error(`changenow simulator: no exchange ${id}`);
    return state;
  };

  return {
    url,
    apiUrl: `${url}/v2`,
    exchanges: () => [...states.values()].map(snapshot),
    failNext(route, status, body, failOptions) {
      const list = failures.get(route) ?? [];
      list.push({ status, body, afterHandling: failOptions?.afterHandling });
      failures.set(route, list);
    },
    setOutcome(id, outcome, outcomeOptions) {
      const state = stateOf(id);
      if (FINAL.has(state.status) || state.status === 'exchanging' || state.status === 'sending') {
        throw new Error(`changenow simulator: exchange ${id} is ${state.status}; its outcome is already decided`);
      }
      state.outcome = outcome;
      state.support = outcomeOptions?.support ?? 'refunded';
      save();
    },
    settleBySupport(id, outcome) {
      const state = stateOf(id);
      if (state.status === 'refunded' || state.refundHash !== null || state.payoutHash !== null) {
        throw new Error(`changenow simulator: exchange ${id} is ${state.status}; it has been paid out or refunded already`);
      }
      state.support = outcome;
      state.failedRounds = supportAfterRounds;
      save();
    },
    markDeposited(id, amount, hash) {
      const state = stateOf(id);
      if (state.deposit !== null) throw new Error(`changenow simulator: exchange ${id} already has a deposit`);
      state.deposit = { amount: canonicalAmount(amount), hash: hash ?? fakeTxHash() };
      save();
    },
    advance,
    async advanceUntil(id, statuses, maxRounds = 20) {
      for (let i = 0; i < maxRounds; i += 1) {
        if (statuses.includes(stateOf(id).status)) break;
        await advance();
      }
      const state = stateOf(id);
      if (!statuses.includes(state.status)) throw new Error(`changenow simulator: exchange ${id} is still ${state.status} after ${maxRounds} rounds`);
      return snapshot(state);
    },
    async close() {
      if (timer !== null) clearInterval(timer);
      await queue;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      chain?.close();
    },
  };
}

function snapshot(state: ExchangeState): SimulatedExchange {
  const { outcome: _outcome, support: _support, failedRounds: _failedRounds, deposit: _deposit, pendingHash: _pending, pendingAmountTo: _pendingAmountTo, ...rest } = state;
  return { ...rest, createdAt: new Date(state.createdAt), updatedAt: new Date(state.updatedAt), depositReceivedAt: state.depositReceivedAt && new Date(state.depositReceivedAt) };
}

function statusBody(state: ExchangeState): Record<string, unknown> {
  return {
    id: state.id,
    status: state.status,
    actionsAvailable: false,
    fromCurrency: state.fromCurrency,
    fromNetwork: state.fromNetwork,
    toCurrency: state.toCurrency,
    toNetwork: state.toNetwork,
    expectedAmountFrom: state.expectedAmountFrom,
    expectedAmountTo: state.expectedAmountTo,
    amountFrom: state.amountFrom,
    amountTo: state.amountTo,
    payinAddress: state.payinAddress,
    payoutAddress: state.payoutAddress,
    payinExtraId: state.payinExtraId,
    payoutExtraId: state.payoutExtraId,
    refundAddress: state.refundAddress,
    refundExtraId: null,
    createdAt: state.createdAt.toISOString(),
    updatedAt: state.updatedAt.toISOString(),
    depositReceivedAt: state.depositReceivedAt?.toISOString() ?? null,
    payinHash: state.payinHash,
    payoutHash: state.payoutHash,
    fromLegacyTicker: state.fromCurrency,
    toLegacyTicker: state.toCurrency,
    refundHash: state.refundHash,
    refundAmount: state.refundAmount,
    userId: null,
    validUntil: null,
  };
}

function readPair(query: URLSearchParams): { fromCurrency: string; fromNetwork: string; toCurrency: string; toNetwork: string } {
  const pair = {
    fromCurrency: (query.get('fromCurrency') ?? '').toLowerCase(),
    fromNetwork: (query.get('fromNetwork') ?? '').toLowerCase(),
    toCurrency: (query.get('toCurrency') ?? '').toLowerCase(),
    toNetwork: (query.get('toNetwork') ?? '').toLowerCase(),
  };
  if (pair.fromCurrency === '' || pair.toCurrency === '') throw new ApiError(400, 'not_valid_params', 'fromCurrency and toCurrency are required');
  // ChangeNow defaults the network to the currency's main one; so does the simulator.
  if (pair.fromNetwork === '') pair.fromNetwork = pair.fromCurrency;
  if (pair.toNetwork === '') pair.toNetwork = pair.toCurrency;
  return pair;
}

function readAmount(text: string | null, field: string): string {
  try {
    const amount = canonicalAmount(text ?? '');
    if (amount !== '0') return amount;
  } catch {
    // fall through
  }
  throw new ApiError(400, 'not_valid_params', `${field} must be a positive number`);
}

/** Base units of `amount` in `currency`, flooring excess digits (only used for comparisons). */
function scaled(amount: string, currency: string): string {
  const decimals = decimalsOf(currency);
  const [whole = '0', fraction = ''] = amount.split('.');
  return `${whole}${fraction.slice(0, decimals).padEnd(decimals, '0')}`.replace(/^0+(?=\d)/, '');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : toJson(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(text);
}

function fail(res: ServerResponse, failure: InjectedFailure): void {
  if (failure.status === 0) {
    res.socket?.destroy();
    return;
  }
  send(res, failure.status, failure.body ?? { error: 'internal_error', message: 'Internal server error' });
}

/** JSON with amount fields written as JSON numbers from their exact decimal text, as ChangeNow does. */
function toJson(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return JSON.stringify(body);
  const parts = Object.entries(body as Record<string, unknown>).map(([key, value]) => {
    const text = AMOUNT_FIELDS.has(key) && typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? value : JSON.stringify(value);
    return `${JSON.stringify(key)}:${text}`;
  });
  return `{${parts.join(',')}}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
