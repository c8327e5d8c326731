import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { createLogger } from '../logging/index.js';
import { parseUnits } from '../money/index.js';
import { settlePayment } from '../payments/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { type TestDatabase, createTestDatabase } from '../testing/database.js';
import {
  type ChannelFixture,
  creditOwner,
  insertAccount,
  insertChainTransfer,
  insertConversionBatch,
  insertChannel,
  insertCheckout,
  insertPayment,
  insertPayout,
  insertSwap,
  insertTier,
  movePayout,
} from '../testing/fixtures.js';
import { retrievePayout as readPayout } from '../payouts/index.js';
import {
  type PaymentResource,
  exportPaymentsCsv,
  exportPayoutsCsv,
  listBalances,
  listPayments,
  listPayouts,
  listSubscriptions,
  retrievePayout,
} from './index.js';

let testDb: TestDatabase;
const clock = createFakeClock('2026-03-01T00:00:00Z');
const logger = createLogger({ write: () => undefined });
const db = () => testDb.db;

let owner: string;
let stranger: string;
let instant: ChannelFixture;
let threshold: ChannelFixture;
let strangerChannel: ChannelFixture;
/** Settled payments of `owner`, in insertion order. */
const settled: string[] = [];

const GROSS = 3_000_000_000_000_000n; // 0.003 ETH
const FEE = 90_000_000_000_000n; // 3 %: 0.00009 ETH

const tiers = new Map<string, { id: string }>();

/** A paid subscription on the channel, settled through the real settlement (ledger, subscription, instant payout). */
async function paidSubscription(channel: ChannelFixture, options: { at?: string; outcomeUnits?: bigint } = {}): Promise<string> {
  let tier = tiers.get(channel.id);
  if (!tier) tiers.set(channel.id, (tier = await insertTier(db(), { channelId: channel.id })));
  const checkout = await insertCheckout(db(), { channelId: channel.id, tierId: tier.id, status: 'paid' });
  const payment = await insertPayment(db(), { checkoutId: checkout.id, status: 'finished', isSettled: true, outcomeUnits: options.outcomeUnits ?? GROSS });
  if (options.at) await db().query('UPDATE payments SET created_at = $2 WHERE id = $1', [payment.id, options.at]);
  await settlePayment({ db: db(), clock, logger, platformFeeBps: 300 }, { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' }, payment.id);
  return payment.id;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  owner = (await insertAccount(db())).id;
  stranger = (await insertAccount(db())).id;
  instant = await insertChannel(db(), { ownerAccountId: owner, payoutCurrency: 'USDT', payoutNetwork: 'TRX', payoutWallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' });
  threshold = await insertChannel(db(), { ownerAccountId: owner, payoutStrategy: 'threshold' });
  strangerChannel = await insertChannel(db(), { ownerAccountId: stranger });
  // Seven payments in the same microsecond (the fixtures' time): only the id orders them.
  for (let i = 0; i < 4; i++) settled.push(await paidSubscription(instant));
  for (let i = 0; i < 3; i++) settled.push(await paidSubscription(threshold));
  settled.push(await paidSubscription(threshold, { at: '2025-12-10T12:00:00.000001Z' }));
  settled.push(await paidSubscription(threshold, { at: '2025-12-10T12:00:00.000002Z' }));
  await paidSubscription(strangerChannel);
  await insertPayment(db(), { checkoutId: (await insertCheckout(db(), { channelId: instant.id, tierId: tiers.get(instant.id)!.id })).id, status: 'waiting' });
});
afterAll(() => testDb?.dispose());

async function allPages<T>(list: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await list(cursor);
    pages += 1;
    items.push(...page.items);
    if (page.nextCursor === null) return { items, pages };
    cursor = page.nextCursor;
  }
}

describe('listPayments', () => {
  it('pages through every payment once, newest first, ties broken by id', async () => {
    const { items, pages } = await allPages((cursor) => listPayments({ db: db() }, { accountId: owner }, { limit: '3', ...(cursor && { cursor }) }));
    expect(pages).toBe(4);
    const ids = items.map((payment) => payment.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(settled.length + 1);
    for (const id of settled) expect(ids).toContain(formatPublicId('payment', id));
    const keys = items.map((payment) => [payment.createdAt, payment.id] as const);
    const sorted = [...keys].sort((a, b) => (a[0] === b[0] ? 0 : a[0] < b[0] ? 1 : -1));
    expect(keys.map((key) => key[0])).toEqual(sorted.map((key) => key[0]));
    // The two December payments are the oldest, a microsecond apart: the later one first.
    expect(items.slice(-2).map((payment) => payment.createdAt)).toEqual(['2025-12-10T12:00:00.000Z', '2025-12-10T12:00:00.000Z']);
    expect(items.at(-1)?.id).toBe(formatPublicId('payment', settled[settled.length - 2]!));
    expect(items.at(-2)?.id).toBe(formatPublicId('payment', settled[settled.length - 1]!));
  });

  it('neither repeats nor skips a payment when new ones arrive between pages', async () => {
    const first = await listPayments({ db: db() }, { accountId: owner }, { limit: '2' });
    const late = await paidSubscription(instant, { at: '2026-03-01T00:00:00Z' });
    const rest = await allPages((cursor) => listPayments({ db: db() }, { accountId: owner }, { limit: '2', cursor: cursor ?? first.nextCursor! }));
    const ids = [...first.items, ...rest.items].map((payment) => payment.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(formatPublicId('payment', late));
    expect(ids).toHaveLength(settled.length + 1);
    settled.push(late);
  });

  it('shows the fees booked at settlement, as exact decimal strings', async () => {
    const page = await listPayments({ db: db() }, { accountId: owner }, { channelId: formatPublicId('channel', instant.id), status: 'finished', limit: '1' });
    expect(page.items[0]).toMatchObject<Partial<PaymentResource>>({
      channelId: formatPublicId('channel', instant.id),
      kind: 'subscription',
      status: 'finished',
      isSettled: true,
      priceUsd: '9.99',
      durationDays: 30,
      outcome: { asset: 'ETH', amount: '0.003' },
      platformFee: { asset: 'ETH', amount: '0.00009' },
      ownerNet: { asset: 'ETH', amount: '0.00291' },
    });
  });

  it('filters by channel, status and time range', async () => {
    const list = (query: Record<string, string>) => listPayments({ db: db() }, { accountId: owner }, { limit: '100', ...query }).then((page) => page.items);
    expect((await list({ status: 'waiting' })).map((payment) => payment.status)).toEqual(['waiting']);
    expect(await list({ status: 'waiting,finished' })).toHaveLength(settled.length + 1);
    expect((await list({ channelId: formatPublicId('channel', threshold.id) })).every((payment) => payment.channelId === formatPublicId('channel', threshold.id))).toBe(true);
    expect(await list({ channelId: formatPublicId('channel', threshold.id) })).toHaveLength(5);
    expect(await list({ from: '2025-12-01T00:00:00Z', to: '2025-12-11T00:00:00Z' })).toHaveLength(2);
    expect(await list({ from: '2025-12-10T12:00:00.000002Z' })).toHaveLength(settled.length);
    expect(await list({ to: '2025-12-10T12:00:00.000002Z' })).toHaveLength(1);
    expect(await list({ from: '2026-02-01T00:00:00Z' })).toHaveLength(1);
  });

  it('shows nothing of another account, and refuses its channel as a filter', async () => {
    const page = await listPayments({ db: db() }, { accountId: stranger }, {});
    expect(page.items).toHaveLength(1);
    await expect(listPayments({ db: db() }, { accountId: owner }, { channelId: formatPublicId('channel', strangerChannel.id) })).rejects.toMatchObject({ code: 'channel_not_found' });
  });

  it.each([
    [{ status: 'paid' }, 'status'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ from: 'yesterday' }, 'from'],
    [{ from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'to'],
    // Year 0 passes an ISO-8601 check but PostgreSQL has no year 0 (found by the fuzz suite: a 500).
    [{ from: '0000-01-01T00:00:00Z' }, 'from'],
    [{ to: '0000-12-31T23:59:59+01:00' }, 'to'],
    // Zone offsets ISO-8601 allows and PostgreSQL does not read (beyond ±15:59; found by the fuzz suite: a 500).
    [{ to: '2026-01-01T00:00:00.123456789+23:59' }, 'to'],
    [{ from: '2026-01-01T00:00:00-16:00' }, 'from'],
  ])('refuses the query %j naming %s', async (query, path) => {
    await expect(listPayments({ db: db() }, { accountId: owner }, query)).rejects.toMatchObject({ code: 'validation_failed', context: { fields: { [`query.${path}`]: expect.any(String) } } });
  });

  it('refuses a forged cursor and a cursor of another list', async () => {
    const payouts = await listPayouts({ db: db() }, { accountId: owner }, { limit: '1' });
    // Well-formed cursors naming instants that do not exist (found by the fuzz suite: PostgreSQL refused them, a 500).
    const impossible = ['2026-13-01T00:00:00.000000Z', '2026-02-30T00:00:00.000000Z', '2026-01-01T24:00:00.000000Z', '2026-01-01T00:60:00.000000Z', '0000-01-01T00:00:00.000000Z'].map((at) =>
      Buffer.from(JSON.stringify({ k: 'payments', at, id: randomUUID() })).toString('base64url'),
    );
    for (const cursor of ['nope', Buffer.from('{"k":"payments"}').toString('base64url'), payouts.nextCursor!, ...impossible]) {
      await expect(listPayments({ db: db() }, { accountId: owner }, { cursor })).rejects.toMatchObject({ code: 'invalid_cursor' });
    }
  });
});

describe('listSubscriptions', () => {
  it('lists the subscriptions the payments bought, by channel and status, across pages', async () => {
    const { items } = await allPages((cursor) => listSubscriptions({ db: db() }, { accountId: owner }, { limit: '4', ...(cursor && { cursor }) }));
    expect(items).toHaveLength(settled.length);
    expect(new Set(items.map((subscription) => subscription.id)).size).toBe(settled.length);
    expect(items[0]).toMatchObject({ status: 'active', periodCount: 1, expiredAt: null });
    const byChannel = await listSubscriptions({ db: db() }, { accountId: owner }, { channelId: formatPublicId('channel', threshold.id), status: 'active' });
    expect(byChannel.items).toHaveLength(5);
    expect((await listSubscriptions({ db: db() }, { accountId: owner }, { status: 'expired' })).items).toEqual([]);
  });
});

describe('listBalances', () => {
  it('reads owner balances from the ledger per channel and in total, with what payouts hold', async () => {
    await creditOwner(db(), threshold.id, 'USDT_ERC20', 12_500_000n);
    const balances = await listBalances({ db: db() }, { accountId: owner });
    balances.channels.sort((a, b) => (a.channelId === formatPublicId('channel', instant.id) ? -1 : b.channelId === formatPublicId('channel', instant.id) ? 1 : 0));
    const net = GROSS - FEE;
    const instantPayments = settled.filter((_, index) => index < 4 || index === settled.length - 1).length;
    expect(balances.channels).toEqual([
      { channelId: formatPublicId('channel', instant.id), balances: [{ asset: 'ETH', available: '0', inPayouts: formatEth(net * BigInt(instantPayments)) }] },
      {
        channelId: formatPublicId('channel', threshold.id),
        balances: [
          { asset: 'ETH', available: formatEth(net * 5n), inPayouts: '0' },
          { asset: 'USDT_ERC20', available: '12.5', inPayouts: '0' },
        ],
      },
    ]);
    expect(balances.totals).toEqual([
      { asset: 'ETH', available: formatEth(net * 5n), inPayouts: formatEth(net * BigInt(instantPayments)) },
      { asset: 'USDT_ERC20', available: '12.5', inPayouts: '0' },
    ]);
    expect(await listBalances({ db: db() }, { accountId: stranger })).toMatchObject({ totals: [{ asset: 'ETH', available: '0' }] });
  });

  it('counts a share in a converting batch as claimed, not lost', async () => {
    const parked = await insertChannel(db(), { ownerAccountId: stranger, payoutStrategy: 'threshold' });
    await insertConversionBatch(db(), [{ channelId: parked.id, fromUnits: 1_000_000_000_000_000n }]);
    const balances = await listBalances({ db: db() }, { accountId: stranger });
    expect(balances.channels).toContainEqual({ channelId: formatPublicId('channel', parked.id), balances: [{ asset: 'ETH', available: '0', inPayouts: '0.001' }] });
  });
});

const formatEth = (wei: bigint) => {
  const text = wei.toString().padStart(19, '0');
  return `${text.slice(0, -18)}.${text.slice(-18)}`.replace(/\.?0+$/, '');
};

/** Walks an instant payout through the pipeline's states as the stages would, with a finished swap. */
async function completeWithSwap(payoutId: string, options: { expected: string; received: string; gasWei: bigint }) {
  const payout = await readPayout(db(), payoutId);
  const at = clock.now();
  // quote-payout writes its quote with the transition; the fixture writes the quote itself.
  await db().query(`UPDATE payouts SET quoted_to_amount = $2, quoted_at = $3 WHERE id = $1`, [payoutId, options.expected, at]);
  await movePayout(db(), payoutId, ['quoted'], { at });
  await insertSwap(db(), payout);
  await db().query(`UPDATE swaps SET expected_to_amount = $2 WHERE payout_id = $1`, [payoutId, options.expected]);
  await movePayout(db(), payoutId, ['swap_created'], { from: 'quoted', at });
  const transfer = await insertChainTransfer(db(), payout);
  await movePayout(db(), payoutId, ['transfer_signed', 'transfer_broadcast'], { from: 'swap_created', at });
  await db().query(`UPDATE chain_transfers SET status = 'broadcast', broadcast_at = $2 WHERE id = $1`, [transfer.id, at]);
  await db().query(`UPDATE chain_transfers SET status = 'confirmed', block_number = 1, confirmed_at = $2, fee_units = $3, mined_tx_hash = tx_hash WHERE id = $1`, [transfer.id, at, options.gasWei.toString()]);
  await movePayout(db(), payoutId, ['awaiting_swap'], { from: 'transfer_broadcast', at });
  await db().query(`UPDATE swaps SET status = 'finished', finished_at = $2, received_to_amount = $3, payout_hash = 'tron-hash-1' WHERE payout_id = $1`, [
    payoutId,
    at,
    options.received,
  ]);
  await movePayout(db(), payoutId, ['completed'], { from: 'awaiting_swap', at });
  return transfer;
}

const units = (text: string) => parseUnits(text, 18);

describe('payouts and their breakdown', () => {
  it('breaks a completed instant payout down so that gross − fees − spread − network fee = net', async () => {
    const { rows } = await db().query<{ id: string; payment_id: string }>(`SELECT id, payment_id FROM payouts WHERE channel_id = $1 ORDER BY id LIMIT 1`, [instant.id]);
    const payoutId = rows[0]!.id;
    await db().query('UPDATE payments SET processor_fee_units = 15000000000000 WHERE id = $1', [rows[0]!.payment_id]);
    const transfer = await completeWithSwap(payoutId, { expected: '10.00', received: '9.5', gasWei: 21_000n * 30_000_000_000n });

    const payout = await retrievePayout({ db: db() }, { accountId: owner }, formatPublicId('payout', payoutId));
    const sent = GROSS - FEE;
    const spread = sent - (sent * 95n) / 100n;
    expect(payout).toMatchObject({
      kind: 'instant',
      state: 'completed',
      paymentId: formatPublicId('payment', rows[0]!.payment_id),
      destination: { currency: 'USDT', network: 'TRX', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', extraId: null },
      delivered: { estimated: '10.00', received: '9.5' },
      transactionHashes: { transfer: transfer.txHash, payout: 'tron-hash-1' },
      breakdown: {
        asset: 'ETH',
        basis: 'payment',
        gross: formatEth(sent + FEE + 15_000_000_000_000n),
        processorFee: '0.000015',
        platformFee: '0.00009',
        sent: formatEth(sent),
        swapSpread: formatEth(spread),
        networkFee: '0',
        platformPaidNetworkFee: { asset: 'ETH', amount: '0.00063' },
        net: formatEth(sent - spread),
      },
    });
    const b = payout.breakdown;
    expect(units(b.gross) - units(b.processorFee) - units(b.platformFee) - units(b.swapSpread!) - units(b.networkFee)).toBe(units(b.net!));
    expect(units(b.gross) - units(b.processorFee) - units(b.platformFee)).toBe(units(b.sent));
  });

  it('shows a pending payout with no net yet, and a threshold payout on the balance basis', async () => {
    const pending = await listPayouts({ db: db() }, { accountId: owner }, { state: 'requested', limit: '1' });
    expect(pending.items[0]?.breakdown).toMatchObject({ basis: 'payment', swapSpread: null, net: null, platformPaidNetworkFee: null });
    expect(pending.items[0]?.delivered).toEqual({ estimated: null, received: null });

    const claim = await insertPayout(db(), { kind: 'threshold', channelId: threshold.id, amountUnits: 1_000_000_000_000_000n });
    const payout = await retrievePayout({ db: db() }, { accountId: owner }, formatPublicId('payout', claim.id));
    expect(payout.breakdown).toMatchObject({ basis: 'balance', gross: '0.001', processorFee: '0', platformFee: '0', sent: '0.001', net: null });
  });

  it('shows a completed direct payout (no swap) with no spread and the transfer as the payout hash', async () => {
    const claim = await insertPayout(db(), { kind: 'threshold', channelId: threshold.id, amountUnits: 2_000_000_000_000_000n });
    const at = clock.now();
    await db().query(`UPDATE payouts SET quoted_to_amount = '0.002', quoted_at = $2 WHERE id = $1`, [claim.id, at]);
    await movePayout(db(), claim.id, ['quoted'], { at });
    const transfer = await insertChainTransfer(db(), claim);
    await movePayout(db(), claim.id, 'completed', { from: 'quoted', isDirect: true, at });
    const payout = await retrievePayout({ db: db() }, { accountId: owner }, formatPublicId('payout', claim.id));
    expect(payout.breakdown).toMatchObject({ swapSpread: '0', net: '0.002', sent: '0.002' });
    expect(payout.delivered).toEqual({ estimated: '0.002', received: '0.002' });
    expect(payout.transactionHashes).toEqual({ transfer: transfer.txHash, payout: transfer.txHash });
  });

  it("answers another account's payout as not found, and pages payouts without duplicates", async () => {
    const { rows } = await db().query<{ id: string }>('SELECT id FROM payouts WHERE channel_id = $1 LIMIT 1', [strangerChannel.id]);
    await expect(retrievePayout({ db: db() }, { accountId: owner }, formatPublicId('payout', rows[0]!.id))).rejects.toMatchObject({ code: 'payout_not_found' });
    await expect(retrievePayout({ db: db() }, { accountId: owner }, 'po_garbage')).rejects.toMatchObject({ code: 'payout_not_found' });
    const { items } = await allPages((cursor) => listPayouts({ db: db() }, { accountId: owner }, { limit: '2', ...(cursor && { cursor }) }));
    const { rows: mine } = await db().query('SELECT id FROM payouts WHERE owner_account_id = $1', [owner]);
    expect(new Set(items.map((payout) => payout.id)).size).toBe(mine.length);
    expect(items).toHaveLength(mine.length);
    const completed = await listPayouts({ db: db() }, { accountId: owner }, { state: 'completed', channelId: formatPublicId('channel', instant.id) });
    expect(completed.items.map((payout) => payout.state)).toEqual(['completed']);
  });
});

describe('CSV exports', () => {
  it('exports every payment of the filter with a header, CRLF lines and decimal strings', async () => {
    const csv = await exportPaymentsCsv({ db: db(), clock }, { accountId: owner }, { status: 'finished' });
    const lines = csv.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(
      'payment_id,channel_id,created_at,settled_at,kind,status,price_usd,duration_days,subscriber_telegram_id,subscriber_username,pay_currency,pay_amount,actually_paid,asset,outcome,platform_fee,owner_net',
    );
    expect(lines).toHaveLength(settled.length + 2);
    expect(lines[1]).toMatch(/^pay_[\w-]{22},ch_[\w-]{22},2026-.*,subscription,finished,9\.99,30,\d+,user_\d+,btc,0\.00012345,0\.00012345,ETH,0\.003,0\.00009,0\.00291$/);
  });

  it('exports payouts with their breakdown', async () => {
    const csv = await exportPayoutsCsv({ db: db(), clock }, { accountId: owner }, { state: 'completed', channelId: formatPublicId('channel', instant.id) });
    const [header, row] = csv.split('\r\n');
    expect(header?.split(',')).toContain('swap_spread');
    expect(row).toContain(',completed,ETH,');
    expect(row).toContain(',USDT,TRX,TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t,,10.00,9.5,');
  });

  it('refuses another account’s channel as a filter', async () => {
    await expect(exportPayoutsCsv({ db: db(), clock }, { accountId: stranger }, { channelId: formatPublicId('channel', instant.id) })).rejects.toMatchObject({ code: 'channel_not_found' });
  });
});
