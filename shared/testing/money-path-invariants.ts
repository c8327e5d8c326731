import { clearWallet, openWallet } from '../wallets/index.js';
import { Contract, type JsonRpcProvider } from 'ethers';
import type { Db } from '../db/index.js';
import { type HotWalletAsset, createHotWalletChain, formatAsset, readHotWalletPosition } from '../hot-wallet/index.js';
import { balanceOf, ledgerAccountCodes, sumLedgerByAsset } from '../ledger/index.js';
import { parseUnits } from '../money/index.js';
import { findOwnerBalanceMismatches } from './owner-balance-invariant.js';
import { USDT_LIKE_TOKEN_ABI } from './simulators/usdt-token.js';

/** An owner whose wallet the invariants weigh on chain. */
export interface ObservedOwner {
  strategy: 'instant' | 'threshold';
  /** What the owner is paid in, on Ethereum. */
  currency: 'ETH' | 'USDT';
  wallet: string;
  /** What the wallet held before the run (anvil's own accounts start with 10 000 ETH). Default 0. */
  heldBefore?: bigint;
}

/** What the money-path invariants read besides the database: the providers as they are after a run. */
export interface MoneyPathObservations {
  db: Db;
  /** NowPayments payment ids that ended `finished` (the simulator's view). */
  finishedPaymentIds: readonly string[];
  /** Texts of the bot's messages to a subscriber (the Telegram simulator's view). */
  messagesTo(telegramUserId: number): Promise<string[]>;
  /** The exchange as ChangeNow sees it, for the detail of a stuck swap payout. */
  describeExchange?(exchangeId: string): string;
  /**
   * How a dead letter's message fared before it was dead-lettered (each delivery attempt's answer,
   * the last error the consumer logged), for the violation's detail.
   */
  describeDeadLetter?(letter: DeadLetterSeen): string;
  /** PLATFORM_FEE_BPS of the run: the owners' net is recomputed from each payment's booked outcome. */
  platformFeeBps: number;
  /** The chain itself (not through any fault proxy). */
  provider: JsonRpcProvider;
  usdtContract: string;
  hotWallet: string;
  owners: readonly ObservedOwner[];
  /**
   * What the hot wallet held when the run began, on chain and in the ledger (`readHotWalletHoldings`
   * then): "every unit booked" compares how much each moved since. Default: nothing on either side.
   */
  hotWalletBefore?: HotWalletHoldings;
  /** The chain's EIP-155 id. Default 31337 (anvil). */
  chainId?: bigint;
  /**
   * A process killed between Telegram's answer to `sendMessage` and our commit sends the same invite
   * again on redelivery: Telegram has no idempotency key. Then the same link may arrive twice; a
   * second link never may.
   */
  mayRepeatInviteMessage?: boolean;
}

/** The hot wallet's balances per asset, on chain and in its ledger account (`hot_wallet:<asset>`), base units. */
export interface HotWalletHoldings {
  chainUnits: Record<HotWalletAsset, bigint>;
  ledgerUnits: Record<HotWalletAsset, bigint>;
}

/** Reads `HotWalletHoldings` now: before a run, for `hotWalletBefore`. */
export async function readHotWalletHoldings(db: Db, provider: JsonRpcProvider, hotWallet: string, usdtContract: string): Promise<HotWalletHoldings> {
  const token = new Contract(usdtContract, USDT_LIKE_TOKEN_ABI, provider);
  return {
    chainUnits: { ETH: await provider.getBalance(hotWallet), USDT_ERC20: (await token.getFunction('balanceOf')(hotWallet)) as bigint },
    ledgerUnits: { ETH: await balanceOf(db, ledgerAccountCodes.hotWallet('ETH'), 'ETH'), USDT_ERC20: await balanceOf(db, ledgerAccountCodes.hotWallet('USDT_ERC20'), 'USDT_ERC20') },
  };
}

/** A dead letter found after a run. */
export interface DeadLetterSeen {
  source: string;
  topic: string | null;
  messageId: string | null;
  reasonCode: string;
  reason: string;
}

export interface Violation {
  invariant: string;
  detail: string;
}

const TERMINAL = new Set(['completed', 'failed', 'refunded', 'cancelled']);
const INVITE_LINK = /https:\/\/t\.me\/\+[A-Za-z0-9_-]+/g;

/**
 * What must hold after the money path ran under faults, read from the database, the providers and
 * the chain: every paid payment settled once, one extension and one invite per payment, every
 * payout ended (or held/deferred with a reason), at most one mined transaction per payout and no
 * nonce gap, owners' wallets holding exactly what their completed payouts promised, every unit the
 * hot wallet holds booked, the ledger balanced per asset with nothing left in flight, the outbox
 * published, and no dead letter.
 * `outcome` counts what happened, for the report.
 */
export async function checkMoneyPathInvariants(observed: MoneyPathObservations): Promise<{ violations: Violation[]; outcome: Record<string, number> }> {
  const { db, provider } = observed;
  const violations: Violation[] = [];
  const fail = (invariant: string, detail: string) => violations.push({ invariant, detail });
  const outcome: Record<string, number> = {};

  // Every payment NowPayments finished is settled, once, with one subscription period and one invite.
  outcome.payments_finished = observed.finishedPaymentIds.length;
  const { rows: payments } = await db.query<{ provider_payment_id: string; settled: boolean; settlements: bigint; periods: bigint; invites_sent: bigint; telegram_user_id: bigint; invite_link: string | null }>(
    `SELECT p.provider_payment_id, p.settled_at IS NOT NULL AS settled,
            (SELECT count(*) FROM ledger_transactions t WHERE t.payment_id = p.id AND t.kind = 'payment_settled') AS settlements,
            (SELECT count(*) FROM subscription_periods sp WHERE sp.payment_id = p.id) AS periods,
            (SELECT count(*) FROM invite_links l WHERE l.payment_id = p.id AND l.sent_at IS NOT NULL) AS invites_sent,
            k.telegram_user_id, (SELECT invite_link FROM invite_links l WHERE l.payment_id = p.id) AS invite_link
       FROM payments p JOIN checkouts k ON k.id = p.checkout_id`,
  );
  const byProviderId = new Map(payments.map((payment) => [payment.provider_payment_id, payment]));
  const messagesByUser = new Map<number, string[]>();
  let repeatedInvites = 0;
  for (const paymentId of observed.finishedPaymentIds) {
    const payment = byProviderId.get(paymentId);
    if (!payment) {
      fail('paid payment settled once', `NowPayments payment ${paymentId} finished, unknown to the gateway`);
      continue;
    }
    if (!payment.settled || payment.settlements !== 1n) fail('paid payment settled once', `${paymentId}: settled=${payment.settled}, ledger settlements=${payment.settlements}`);
    if (payment.periods !== 1n) fail('one extension per payment', `${paymentId}: ${payment.periods} subscription periods`);
    if (payment.invites_sent !== 1n) fail('one invite per payment', `${paymentId}: ${payment.invites_sent} invite links sent`);
    const userId = Number(payment.telegram_user_id);
    const messages = messagesByUser.get(userId) ?? (await observed.messagesTo(userId));
    messagesByUser.set(userId, messages);
    const linksSent = messages.flatMap((text) => text.match(INVITE_LINK) ?? []);
    const subscriberPayments = payments.filter((other) => Number(other.telegram_user_id) === userId && other.invite_link !== null).length;
    // Per subscriber: each of their payments' links, and no link that is not one of them.
    const foreign = linksSent.filter((link) => !payments.some((other) => other.invite_link === link));
    if (foreign.length > 0) fail('one invite per payment', `${paymentId}: the subscriber got links no payment holds: ${foreign.join(', ')}`);
    if (payment.invite_link) {
      const copies = linksSent.filter((link) => link === payment.invite_link).length;
      if (copies > 1) repeatedInvites += copies - 1;
      if (copies > 1 && !observed.mayRepeatInviteMessage) fail('one invite per payment', `${paymentId}: its invite link was sent ${copies} times`);
    }
    if (new Set(linksSent).size > subscriberPayments) fail('one invite per payment', `${paymentId}: ${new Set(linksSent).size} links for ${subscriberPayments} payments`);
  }
  outcome.payments_settled = payments.filter((payment) => payment.settled).length;
  if (repeatedInvites > 0) outcome.invite_messages_repeated = repeatedInvites;

  // Every payout ended, or waits for a person or a retry with a reason.
  const { rows: payouts } = await db.query<{ id: string; kind: string; state: string; deferred_reason: string | null; held_reason: string | null; failure_code: string | null }>(
    'SELECT id, kind, state, deferred_reason, held_reason, failure_code FROM payouts',
  );
  const { rows: swapRows } = await db.query<{ payout_id: string; provider_exchange_id: string; status: string }>('SELECT payout_id, provider_exchange_id, status FROM swaps');
  for (const payout of payouts) {
    outcome[`payouts_${payout.state}`] = (outcome[`payouts_${payout.state}`] ?? 0) + 1;
    const isWaitingWithReason = (payout.state === 'held' && payout.held_reason) || (payout.state === 'deferred' && payout.deferred_reason);
    if (!TERMINAL.has(payout.state) && !isWaitingWithReason) {
      const swap = swapRows.find((row) => row.payout_id === payout.id);
      const exchange = swap ? (observed.describeExchange?.(swap.provider_exchange_id) ?? 'not looked up') : '';
      const swapDetail = swap ? ` (swap ${swap.provider_exchange_id} ${swap.status}; the exchange: ${exchange})` : '';
      fail('every payout terminal', `${payout.kind} payout ${payout.id} is ${payout.state}${swapDetail}`);
    }
    if (payout.state === 'failed') fail('no payout fails under transient faults', `${payout.kind} payout ${payout.id} failed: ${payout.failure_code}`);
  }
  const { rows: batches } = await db.query<{ id: string; state: string }>(`SELECT id, state FROM conversion_batches WHERE state NOT IN ('distributed', 'failed')`);
  for (const batch of batches) fail('every conversion batch ended', `batch ${batch.id} is ${batch.state}`);

  // On the chain: at most one mined transaction per payout, no nonce gap, nothing left in the mempool.
  const { rows: attempts } = await db.query<{ payout_id: string; hashes: string[] }>(
    `SELECT t.payout_id, array_prepend(t.tx_hash, coalesce(array_agg(r.tx_hash ORDER BY r.attempt) FILTER (WHERE r.tx_hash IS NOT NULL), '{}')) AS hashes
       FROM chain_transfers t LEFT JOIN chain_transfer_replacements r ON r.payout_id = t.payout_id GROUP BY t.payout_id, t.tx_hash`,
  );
  outcome.chain_transfers = attempts.length;
  outcome.replacements = attempts.reduce((sum, row) => sum + row.hashes.length - 1, 0);
  for (const row of attempts) {
    let mined = 0;
    for (const hash of row.hashes) if ((await provider.send('eth_getTransactionReceipt', [hash])) !== null) mined += 1;
    if (mined !== 1) fail('one mined transaction per payout', `payout ${row.payout_id}: ${mined} of ${row.hashes.length} attempts mined`);
  }
  const chainNonce = BigInt(await provider.getTransactionCount(observed.hotWallet, 'latest'));
  const pendingNonce = BigInt(await provider.getTransactionCount(observed.hotWallet, 'pending'));
  const { rows: nonces } = await db.query<{ next_nonce: bigint }>('SELECT next_nonce FROM wallet_nonces WHERE address = $1', [observed.hotWallet.toLowerCase()]);
  if (nonces[0] && nonces[0].next_nonce !== chainNonce) fail('no nonce gap', `database next nonce ${nonces[0].next_nonce}, chain ${chainNonce}`);
  if (pendingNonce !== chainNonce) fail('no nonce gap', `${pendingNonce - chainNonce} hot-wallet transactions still pending`);

  // Owners' wallets hold exactly what their completed payouts promised.
  // Grouped by the wallet's blind index (or clear value): the wallet itself is sealed at rest.
  const { rows: grouped } = await db.query<{ owner_account_id: string; destination_wallet: string | null; destination_wallet_ciphertext: string | null; direct_units: string | null; swapped: string[] }>(
    `SELECT min(p.owner_account_id::text) AS owner_account_id, min(p.destination_wallet) AS destination_wallet, min(p.destination_wallet_ciphertext) AS destination_wallet_ciphertext,
            sum(p.amount_units) FILTER (WHERE s.id IS NULL)::text AS direct_units,
            coalesce(array_agg(s.received_to_amount::text) FILTER (WHERE s.id IS NOT NULL), '{}') AS swapped
       FROM payouts p LEFT JOIN swaps s ON s.payout_id = p.id
      WHERE p.state = 'completed' AND p.kind <> 'conversion'
      GROUP BY coalesce(p.destination_wallet_index, convert_to(lower(p.destination_wallet), 'UTF8'))`,
  );
  const promised = grouped.map((row) => ({
    ...row,
    destination_wallet: openWallet(row.owner_account_id, { ...clearWallet(row.destination_wallet ?? ''), clear: row.destination_wallet, ciphertext: row.destination_wallet_ciphertext }).wallet,
  }));
  const token = new Contract(observed.usdtContract, USDT_LIKE_TOKEN_ABI, provider);
  let paidOut = 0;
  for (const owner of observed.owners) {
    const row = promised.find((candidate) => candidate.destination_wallet.toLowerCase() === owner.wallet.toLowerCase());
    const decimals = owner.currency === 'ETH' ? 18 : 6;
    const expected = BigInt(row?.direct_units ?? '0') + (row?.swapped ?? []).reduce((sum, amount) => sum + parseUnits(amount, decimals, 'floor'), 0n);
    const balance = owner.currency === 'ETH' ? await provider.getBalance(owner.wallet) : ((await token.getFunction('balanceOf')(owner.wallet)) as bigint);
    const actual = balance - (owner.heldBefore ?? 0n);
    if (actual !== expected) fail('owner wallets hold the expected net', `${owner.strategy} ${owner.currency} owner ${owner.wallet}: chain ${actual}, payouts ${expected}`);
    if (actual > 0n) paidOut += 1;
  }
  outcome.owners_paid = paidOut;

  // ---- Every unit booked: the hot wallet ----
  // Per asset, what the hot wallet's balance moved on chain since the run began equals what its
  // ledger account moved, plus what is legitimately in flight (shared/hot-wallet: at the end of a
  // run, only payment outcomes received and never booked, i.e. underpayments below tolerance).
  await checkHotWalletBooked(observed, fail, outcome);

  // ---- Every unit booked: the owners ----
  // Each owner's ledger balance per asset = settled net − refunds taken back − payouts claimed and
  // not given back ± parking shares, computed from the payment, payout and batch rows.
  for (const mismatch of await findOwnerBalanceMismatches(db, observed.platformFeeBps)) {
    fail('every unit booked', `owner of ${mismatch.channelId} in ${mismatch.asset}: ledger ${mismatch.ledger}, settled net − paid ${mismatch.expected}`);
  }

  // The books: balanced per asset, nothing in flight, the outbox empty, no dead letter.
  for (const [asset, sum] of await sumLedgerByAsset(db)) if (sum !== 0n) fail('ledger balanced', `${asset} sums to ${sum}`);
  const { rows: inFlight } = await db.query<{ code: string; balance: string }>(
    `SELECT a.code, sum(e.amount)::text AS balance FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id
      WHERE a.code LIKE 'payouts:in_flight:%' GROUP BY a.code HAVING sum(e.amount) <> 0`,
  );
  const waiting = payouts.filter((payout) => payout.state === 'held' || payout.state === 'deferred').length;
  if (waiting === 0) for (const row of inFlight) fail('nothing left in flight', `${row.code} holds ${row.balance}`);
  const { rows: unpublished } = await db.query<{ n: bigint }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
  if (unpublished[0]?.n !== 0n) fail('outbox published', `${unpublished[0]?.n} outbox messages unpublished`);
  const { rows: deadLetters } = await db.query<{ source: string; topic: string | null; message_id: string | null; reason_code: string; reason: string }>(
    'SELECT source, topic, message_id, reason_code, reason FROM dead_letters ORDER BY id',
  );
  for (const row of deadLetters) {
    const letter: DeadLetterSeen = { source: row.source, topic: row.topic, messageId: row.message_id, reasonCode: row.reason_code, reason: row.reason };
    const how = observed.describeDeadLetter?.(letter);
    fail('no unexplained dead letter', `${letter.source}: ${letter.reasonCode} (${letter.reason})${how ? `; ${how}` : ''}`);
  }
  const { rows: alerts } = await db.query<{ alert: string; n: bigint }>('SELECT alert, count(*) AS n FROM operator_alerts GROUP BY 1');
  for (const alert of alerts) outcome[`alert.${alert.alert}`] = Number(alert.n);
  const { rows: redrives } = await db.query<{ n: bigint }>('SELECT coalesce(sum(redrive_count), 0)::int8 AS n FROM payouts');
  outcome.payout_redrives = Number(redrives[0]?.n ?? 0n);
  return { violations, outcome };
}

/** "Every unit booked", the hot wallet's half: see where it is called. */
async function checkHotWalletBooked(observed: MoneyPathObservations, fail: (invariant: string, detail: string) => void, outcome: Record<string, number>): Promise<void> {
  const before = observed.hotWalletBefore ?? { chainUnits: { ETH: 0n, USDT_ERC20: 0n }, ledgerUnits: { ETH: 0n, USDT_ERC20: 0n } };
  const openingUnits = { ETH: before.chainUnits.ETH - before.ledgerUnits.ETH, USDT_ERC20: before.chainUnits.USDT_ERC20 - before.ledgerUnits.USDT_ERC20 };
  const position = await readHotWalletPosition(
    { db: observed.db, chain: createHotWalletChain(observed.provider) },
    { chainId: observed.chainId ?? 31337n, address: observed.hotWallet, tokenContracts: { USDT_ERC20: observed.usdtContract } },
    { openingUnits },
  );
  for (const comparison of position.assets) {
    const { asset } = comparison;
    const chainMoved = comparison.chainUnits - before.chainUnits[asset];
    const ledgerMoved = comparison.ledgerUnits - before.ledgerUnits[asset];
    if (comparison.unexplainedUnits !== 0n) {
      fail(
        'every unit booked',
        `${asset}: the hot wallet moved ${formatAsset(chainMoved, asset)} on chain since the run began, its ledger account ${formatAsset(ledgerMoved, asset)}, ` +
          `in flight ${formatAsset(comparison.inFlightUnits - comparison.openingUnits, asset)}: ${formatAsset(comparison.unexplainedUnits, asset)} unexplained`,
      );
    }
    if (comparison.receivedNotBookedUnits !== 0n) outcome[`hot_wallet_received_not_booked_${asset}`] = position.payments.filter((payment) => payment.asset === asset).length;
  }
  for (const transfer of position.transfers) {
    fail('every unit booked', `payout ${transfer.payoutId}: its transfer ${transfer.txHash} is still in flight at the end (${transfer.onChain}, value ${transfer.valueUnits}, gas not booked ${transfer.gasNotBookedWei})`);
  }
  for (const payment of position.payments) {
    // An underpayment below tolerance is never settled: its outcome stays in the wallet, unbooked. A finished one must be booked.
    if (payment.status !== 'partially_paid') fail('every unit booked', `payment ${payment.paymentId} is ${payment.status}: ${payment.arrivedUnits - payment.bookedUnits} base units of ${payment.asset} arrived and are not booked`);
  }
  if (!position.isEveryTransactionKnown) fail('every unit booked', 'the chain counts hot-wallet transactions the gateway never signed');
  const { rows: alerts } = await observed.db.query<{ alert: string; message: string }>(`SELECT alert, message FROM operator_alerts WHERE alert IN ('hot_wallet.deficit', 'hot_wallet.unbooked_funds') ORDER BY id`);
  for (const alert of alerts) fail('every unit booked', `reconcile-hot-wallet alerted ${alert.alert}: ${alert.message}`);
}
