import { sealWallet } from '../../shared/wallets/index.js';
import { Wallet } from 'ethers';
import { isRetryable } from '../../shared/errors/index.js';
import { createSeededRandom, type SeededRandom } from '../../shared/testing/seeded-random.js';
import type { BusFaults } from '../../shared/testing/fakes/in-process-bus.js';
import type { ProxiedRequest, ProxyFault } from '../../shared/testing/simulators/fault-proxy.js';
import type { SimulatedPaymentOptions } from '../../shared/testing/simulators/nowpayments-simulator.js';
import { checkoutFor, newSubscriber, seedChannel, type SeededChannel } from '../e2e/gateway-harness.js';
import { type ChaosWorld, startChaosWorld } from './chaos-world.js';
import { checkInvariants, type ChaosChannel, type Violation } from './chaos-invariants.js';

export interface ChaosOptions {
  seed: bigint;
  payments: number;
  /** Channels the payments spread over (instant and threshold, ETH and USDT payouts). Default payments / 25, at least 6. */
  channels?: number;
  /** Payments paid at the same moment. Default 12. */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: string;
  payments: number;
  channels: number;
  seconds: number;
  faults: Record<string, number>;
  outcome: Record<string, number>;
  violations: Violation[];
}

/** How often each fault strikes while the faults are on (the mix). */
export const FAULT_RATES = {
  /** A delivery is repeated: at the same moment, or late (after the first was acknowledged). */
  duplicateDelivery: 0.3,
  /** The function committed, then crashed before its answer reached Pub/Sub (redelivered). */
  crashAfterCommit: 0.1,
  /** A delivery never happens (the process holding it died): the state's owner must re-drive it. */
  lostDelivery: 0.02,
  /** A relay publish fails after its transaction committed: the outbox row waits for the relay job. */
  publishFailure: 0.05,
  /** A ChangeNow call acts, then answers 5xx or never answers; or fails without acting. */
  changenowFailure: 0.1,
  /** An RPC call to the node times out or is refused; a broadcast is accepted but its answer lost. */
  rpcFailure: 0.05,
  /** A hot-wallet transaction is dropped from the mempool before the next block. */
  mempoolDrop: 0.05,
  /** Before a block, the base fee jumps (eightfold, at least to 5 gwei; it falls back 12.5 % a block): dropped bytes no longer fit, a replacement must pay more. */
  feeSpike: 0.02,
  /** IPN sequences: each IPN sent twice, sent in reverse order, or only the first ones arriving. */
  ipnRepeated: 0.3,
  ipnReversed: 0.1,
  /** The first one, two or three IPNs arrive and the rest are lost (a payment none of whose IPNs arrive is unknown to us: docs/payments.md). */
  ipnLost: 0.1,
} as const;

const MINUTE = 60_000;
const SCHEDULED = [
  { topic: 'payout-tracking-requested', job: 'track-payouts' },
  { topic: 'outbox-relay-requested', job: 'relay-outbox' },
  { topic: 'conversion-requested', job: 'convert-accumulated' },
  { topic: 'threshold-payouts-requested', job: 'run-threshold-payouts' },
  { topic: 'reconciliation-requested', job: 'reconcile' },
  { topic: 'hot-wallet-reconciliation-requested', job: 'reconcile-hot-wallet' },
] as const;

/**
 * The bus faults of one delivery (while the faults are on). A lost ack makes the attempt fail from
 * Pub/Sub's side, so it is never injected on a message's last allowed attempt: five lost acks in a
 * row would dead-letter a message whose work was done (a scheduler tick has only 5 attempts, and
 * the run's backoff is a few hundred milliseconds, so they come back to back). Production's retries
 * are minutes apart, where a crash on every one of them is no fault mix worth testing; the checks
 * on what the functions themselves do with every attempt stay as strict.
 */
export function decideDeliveryFault(
  random: SeededRandom,
  delivery: { topic: string; attempt: number; maxAttempts: number },
  count: (fault: string) => void,
): ReturnType<NonNullable<BusFaults['onDelivery']>> {
  // Scheduler ticks are not stage messages: a lost one is simply the next one's work.
  if (!SCHEDULED.some((job) => job.topic === delivery.topic) && chance(random, FAULT_RATES.lostDelivery)) {
    count('bus.delivery_lost');
    return { lose: true };
  }
  // Drawn on every attempt, so the rest of a seed's faults stay where they were.
  const loseAck = chance(random, FAULT_RATES.crashAfterCommit) && delivery.attempt < delivery.maxAttempts;
  if (loseAck) count('bus.crash_after_commit');
  if (!chance(random, FAULT_RATES.duplicateDelivery)) return { loseAck };
  const isLate = chance(random, 0.5);
  count(isLate ? 'bus.duplicate_late' : 'bus.duplicate_concurrent');
  return { loseAck, duplicate: isLate ? { when: 'late', lateMs: 50 + Number(random.below(2000n)) } : { when: 'concurrently' } };
}

function chance(random: SeededRandom, probability: number): boolean {
  return Number(random.below(1_000_000n)) < probability * 1_000_000;
}

/**
 * One chaos run: `payments` payments over several channels, instant and threshold, with every fault
 * of FAULT_RATES at once; then the faults stop and the system is left to its sweeps (the clock jumps
 * forward so re-drives and reconciliation fire) until nothing moves; then the invariants. The faults
 * come from a generator seeded with `seed`, so a failing seed's faults repeat (the interleavings of
 * concurrent work do not, exactly).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const random = createSeededRandom(options.seed);
  const counts: Record<string, number> = {};
  const count = (fault: string) => {
    counts[fault] = (counts[fault] ?? 0) + 1;
  };
  let isChaosOn = true;
  const harnessFailures: Violation[] = [];

  const decideChangeNow = (request: ProxiedRequest): ProxyFault => {
    if (!isChaosOn || !chance(random, FAULT_RATES.changenowFailure)) return 'pass';
    const fault = random.pick<ProxyFault>(request.method === 'POST' ? ['fail_after', 'drop_after', 'fail_before'] : ['fail_before', 'drop_before', 'fail_after']);
    count(`changenow.${fault}`);
    return fault;
  };
  const decideRpc = (request: ProxiedRequest): ProxyFault => {
    if (!isChaosOn || !chance(random, FAULT_RATES.rpcFailure)) return 'pass';
    // A broadcast's answer lost after the node took it, or any call timing out / refused.
    const fault = request.body.includes('eth_sendRawTransaction') ? random.pick<ProxyFault>(['drop_after', 'drop_before']) : random.pick<ProxyFault>(['drop_before', 'fail_before']);
    count(`rpc.${fault}`);
    return fault;
  };
  const world: ChaosWorld = await startChaosWorld({
    decideChangeNow,
    decideRpc,
    bus: {
      failPublish: (topic) => {
        if (!isChaosOn || topic.endsWith('-requested') === false || !chance(random, FAULT_RATES.publishFailure)) return false;
        count('bus.publish_failed');
        return true;
      },
      onDelivery: (delivery) => (isChaosOn ? decideDeliveryFault(random, delivery, count) : {}),
    },
  });

  try {
    const channels = await seedChaosChannels(world, options.channels ?? Math.max(6, Math.ceil(options.payments / 25)));
    log(`seed ${options.seed}: ${options.payments} payments over ${channels.length} channels`);

    // The chain: a block every 150 ms; before each, hot-wallet transactions may be dropped.
    let isMining = true;
    const miner = (async () => {
      while (isMining) {
        if (isChaosOn && chance(random, FAULT_RATES.feeSpike)) {
          const block = await world.provider.getBlock('latest').catch(() => null);
          // At least 5 gwei: above what transactions signed at a quiet chain's fees may pay.
          const eightfold = (block?.baseFeePerGas ?? 0n) * 8n;
          const spiked = eightfold > 5_000_000_000n ? eightfold : 5_000_000_000n;
          await world.provider.send('anvil_setNextBlockBaseFeePerGas', [`0x${spiked.toString(16)}`]).catch(() => undefined);
          count('chain.fee_spike');
        }
        await dropSomeHotWalletTransactions(world, () => isChaosOn && chance(random, FAULT_RATES.mempoolDrop), () => count('chain.mempool_drop'));
        await world.provider.send('evm_mine', []).catch(() => undefined);
        await sleep(150);
      }
    })();
    // Cloud Scheduler, with overlapping ticks.
    let isTicking = true;
    const ticker = (async () => {
      while (isTicking) {
        const job = random.pick(SCHEDULED);
        const copies = chance(random, 0.3) ? 2 : 1;
        if (copies === 2) count('scheduler.overlapping_tick');
        for (let i = 0; i < copies; i++) await world.runtime.bus?.publish(job.topic, { job: job.job }).catch(() => undefined);
        await sleep(300);
      }
    })();

    // Payments, a wave at a time.
    const paymentOptions = (): SimulatedPaymentOptions => {
      const choice: SimulatedPaymentOptions = {};
      if (chance(random, FAULT_RATES.ipnRepeated)) {
        choice.repeatEachIpn = 2;
        count('ipn.repeated');
      }
      if (chance(random, FAULT_RATES.ipnReversed)) {
        choice.order = 'reverse';
        count('ipn.reversed');
      }
      if (chance(random, FAULT_RATES.ipnLost)) {
        // Every IPN after the first lost: reconcile must read the payment from NowPayments.
        choice.deliverFirstIpns = 1 + Number(random.below(3n));
        count('ipn.lost_after_first');
      }
      return choice;
    };
    const concurrency = options.concurrency ?? 12;
    for (let start = 0; start < options.payments; start += concurrency) {
      const wave = Array.from({ length: Math.min(concurrency, options.payments - start) }, () => ({ channel: random.pick(channels), options: paymentOptions() }));
      await Promise.all(
        wave.map(async ({ channel, options: ipnOptions }) => {
          const subscriber = newSubscriber(world.gateway);
          const checkout = await opening(() => checkoutFor(world.gateway, channel, subscriber));
          await world.gateway.nowpayments.pay(checkout.invoiceId, ipnOptions);
        }),
      );
      if ((start / concurrency) % 5 === 4) log(`  ${start + wave.length} paid`);
    }
    await world.gateway.settle();
    await joinWithInvites(world);

    // Faults off; the sweeps are left to finish everything. The clock jumps so their timers fire.
    isChaosOn = false;
    isTicking = false;
    await ticker;
    log('  faults off: sweeping until nothing moves');
    let quietRounds = 0;
    for (let round = 0; round < 40 && quietRounds < 3; round++) {
      const before = await progressFingerprint(world);
      world.clock.jump(11 * MINUTE);
      for (const job of SCHEDULED) await world.runtime.bus?.publish(job.topic, { job: job.job });
      await world.gateway.settle();
      await world.changenow.advance().catch(async (error: unknown) => {
        // The simulated exchange failing is a finding, not a crash of the run: reported with the transaction.
        const hash = /transaction (0x[0-9a-f]{64})/.exec(String(error))?.[1];
        const receipt = hash ? ((await world.provider.send('eth_getTransactionReceipt', [hash])) as { gasUsed?: string; from?: string; to?: string } | null) : null;
        const sent = hash ? ((await world.provider.send('eth_getTransactionByHash', [hash])) as { gas?: string; input?: string; value?: string; nonce?: string } | null) : null;
        harnessFailures.push({
          invariant: 'the simulated exchange pays out',
          detail: `${String(error)} (from ${receipt?.from}, to ${receipt?.to}, nonce ${sent?.nonce}, gas ${receipt?.gasUsed}/${sent?.gas}, value ${sent?.value}, input ${sent?.input?.slice(0, 74)})`,
        });
      });
      await sleep(400); // blocks for what was just sent
      await joinWithInvites(world);
      quietRounds = (await progressFingerprint(world)) === before ? quietRounds + 1 : 0;
    }
    isMining = false;
    await miner;
    await world.gateway.settle();

    const { violations, outcome } = await checkInvariants(world, channels);
    violations.push(...harnessFailures);
    return {
      seed: options.seed.toString(),
      payments: options.payments,
      channels: channels.length,
      seconds: Math.round((Date.now() - started) / 1000),
      faults: { ...counts, ...prefixed('changenow_proxy', world.changenowProxy.counts), ...prefixed('rpc_proxy', world.rpcProxy.counts) },
      outcome,
      violations,
    };
  } finally {
    isChaosOn = false;
    await world.stop();
  }
}

function prefixed(prefix: string, counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([fate]) => fate !== 'pass').map(([fate, n]) => [`${prefix}.${fate}`, n]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The channel mix: instant ETH (direct), instant USDT (through a ChangeNow swap), threshold USDT (direct after parking) and threshold ETH (swap back). */
async function seedChaosChannels(world: ChaosWorld, count: number): Promise<ChaosChannel[]> {
  const kinds = [
    { strategy: 'instant', currency: 'ETH' },
    { strategy: 'instant', currency: 'USDT' },
    { strategy: 'threshold', currency: 'USDT' },
    { strategy: 'instant', currency: 'ETH' },
    { strategy: 'threshold', currency: 'ETH' },
    { strategy: 'instant', currency: 'USDT' },
  ] as const;
  const channels: ChaosChannel[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length] ?? kinds[0];
    const seeded: SeededChannel = await seedChannel(world.gateway, { strategy: kind.strategy });
    const wallet = Wallet.createRandom().address;
    const sealed = sealWallet(seeded.ownerAccountId, wallet, null);
    await world.gateway.testDb.db.query(
      `UPDATE channels SET payout_currency = $2, payout_network = 'ETH', payout_wallet = NULL, payout_extra_id = NULL, payout_wallet_ciphertext = $3,
              payout_wallet_index = $4, payout_wallet_hint = $5, payout_extra_id_ciphertext = NULL, payout_extra_id_index = NULL,
              payout_threshold_cents = CASE WHEN payout_strategy = 'threshold' THEN 2000 END
        WHERE id = $1`,
      [seeded.channelId, kind.currency, sealed.ciphertext, sealed.index, sealed.hint],
    );
    channels.push({ ...seeded, strategy: kind.strategy, currency: kind.currency, wallet });
  }
  return channels;
}

/** Hot-wallet transactions in the mempool, each dropped when `shouldDrop` says so. */
async function dropSomeHotWalletTransactions(world: ChaosWorld, shouldDrop: () => boolean, onDrop: () => void): Promise<void> {
  const pool = (await world.provider.send('txpool_content', []).catch(() => undefined)) as { pending?: Record<string, Record<string, { hash: string }>> } | undefined;
  const ours = Object.entries(pool?.pending ?? {}).find(([address]) => address.toLowerCase() === world.hotWallet.toLowerCase())?.[1] ?? {};
  for (const transaction of Object.values(ours)) {
    if (!shouldDrop()) continue;
    await world.provider.send('anvil_dropTransaction', [transaction.hash]).catch(() => undefined);
    onDrop();
  }
}

/** Subscribers open the invite links they were sent (as people do), so a link is not replaced when it expires unused. */
async function joinWithInvites(world: ChaosWorld): Promise<void> {
  const { rows } = await world.gateway.testDb.db.query<{ telegram_user_id: bigint; invite_link: string }>(
    `SELECT k.telegram_user_id, l.invite_link FROM invite_links l JOIN payments p ON p.id = l.payment_id JOIN checkouts k ON k.id = p.checkout_id
      WHERE l.sent_at IS NOT NULL AND l.joined_at IS NULL`,
  );
  for (const row of rows) await world.gateway.telegram.joinWithInviteLink(Number(row.telegram_user_id), row.invite_link).catch(() => undefined);
  await world.gateway.settle();
}

/** Changes whenever anything on the money path moves. */
async function progressFingerprint(world: ChaosWorld): Promise<string> {
  const { rows } = await world.gateway.testDb.db.query<{ fingerprint: string }>(
    `SELECT concat_ws('|',
       (SELECT count(*) FROM ledger_transactions),
       (SELECT string_agg(state || ':' || n, ',' ORDER BY state) FROM (SELECT state, count(*) AS n FROM payouts GROUP BY state) s),
       (SELECT count(*) FROM invite_links WHERE sent_at IS NOT NULL),
       (SELECT count(*) FROM outbox WHERE published_at IS NULL),
       (SELECT string_agg(status || ':' || n, ',' ORDER BY status) FROM (SELECT status, count(*) AS n FROM swaps GROUP BY status) w)) AS fingerprint`,
  );
  return rows[0]?.fingerprint ?? '';
}

/**
 * The subscriber's tap on a tier, tried again as a person would when the bot answers "try again"
 * (a transient error: on a loaded machine the database pool may not hand out a connection in time).
 * The run is about the money path after the checkout; a refused tap is not one of its faults.
 */
async function opening<T>(open: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (!isRetryable(error) || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}
