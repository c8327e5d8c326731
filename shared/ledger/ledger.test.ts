import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { countStatements } from '../testing/statement-counter.js';
import { FIXTURE_NOW, creditOwner, insertChannel, insertPayment, insertPayout } from '../testing/fixtures.js';
import {
  LEDGER_TRANSACTION_KINDS,
  type LedgerEntryInput,
  balanceOf,
  describeAccountCode,
  ledgerAccountCodes as codes,
  postLedgerTransaction,
  retrieveLedgerTransaction,
  reverseLedgerTransaction,
  sumLedgerByAsset,
} from './index.js';

const ETH = 'ETH';
const USDT = 'USDT_ERC20';

async function errorOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('ledger', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  const post = (input: Parameters<typeof postLedgerTransaction>[1]) =>
    testDb.db.transaction((tx) => postLedgerTransaction(tx, input));

  const capitalIn = (key: string, asset: string, amount: bigint): Parameters<typeof postLedgerTransaction>[1] => ({
    kind: 'capital',
    idempotencyKey: key,
    occurredAt: FIXTURE_NOW,
    entries: [
      { account: codes.hotWallet(asset), asset, amount },
      { account: codes.platformCapital(asset), asset, amount: -amount },
    ],
  });

  describe('postLedgerTransaction', () => {
    it('posts in one statement once its accounts exist, and in a few more the first time an account is used', async () => {
      const channel = await insertChannel(testDb.db);
      const counter = countStatements(testDb.db);
      const settle = (key: string) => ({
        kind: 'capital' as const,
        idempotencyKey: key,
        occurredAt: FIXTURE_NOW,
        entries: [
          { account: codes.hotWallet(ETH), asset: ETH, amount: 1000n },
          { account: codes.owner(channel.id, ETH), asset: ETH, amount: -1000n },
        ],
      });
      await counter.db.transaction((tx) => postLedgerTransaction(tx, settle(`first:${randomUUID()}`)));
      expect(counter.counts().statements - 2).toBe(4); // post, create accounts, read them, post again
      counter.reset();
      await counter.db.transaction((tx) => postLedgerTransaction(tx, settle(`second:${randomUUID()}`)));
      expect(counter.counts().statements - 2).toBe(1); // BEGIN and COMMIT aside
      expect(await balanceOf(testDb.db, codes.owner(channel.id, ETH), ETH)).toBe(2000n);
    });

    it('posts a balanced multi-asset transaction and reads it back', async () => {
      const key = `multi:${randomUUID()}`;
      const entries: LedgerEntryInput[] = [
        { account: codes.hotWallet(ETH), asset: ETH, amount: 10n ** 18n },
        { account: codes.platformCapital(ETH), asset: ETH, amount: -(10n ** 18n) },
        { account: codes.hotWallet(USDT), asset: USDT, amount: 25_000_000n },
        { account: codes.platformCapital(USDT), asset: USDT, amount: -25_000_000n },
      ];
      const id = await post({ kind: 'capital', idempotencyKey: key, occurredAt: FIXTURE_NOW, entries });

      const stored = await retrieveLedgerTransaction(testDb.db, id);
      expect(stored).toMatchObject({ id, kind: 'capital', idempotencyKey: key, occurredAt: FIXTURE_NOW, paymentId: null });
      expect(stored?.entries).toEqual(entries.map((entry, index) => ({ line: index + 1, ...entry })));
    });

    it('returns the first id and posts nothing when the same key is posted again', async () => {
      const key = `repeat:${randomUUID()}`;
      const input = capitalIn(key, ETH, 5n);
      const first = await post(input);
      const before = await balanceOf(testDb.db, codes.hotWallet(ETH), ETH);
      const again = await post({ ...input, occurredAt: new Date(FIXTURE_NOW.getTime() + 60_000) });
      const reordered = await post({ ...input, entries: [...input.entries].reverse() });

      expect(again).toBe(first);
      expect(reordered).toBe(first);
      expect(await balanceOf(testDb.db, codes.hotWallet(ETH), ETH)).toBe(before);
    });

    it('refuses a repeated key with other entries or links', async () => {
      const key = `conflict:${randomUUID()}`;
      await post(capitalIn(key, ETH, 5n));
      expect((await errorOf(post(capitalIn(key, ETH, 6n)))).code).toBe('ledger_idempotency_conflict');
      expect((await errorOf(post({ ...capitalIn(key, ETH, 5n), kind: 'adjustment', description: 'x' }))).code).toBe(
        'ledger_idempotency_conflict',
      );
    });

    it('refuses unbalanced entries before touching the database', async () => {
      const error = await errorOf(
        post({
          kind: 'capital',
          idempotencyKey: `unbalanced:${randomUUID()}`,
          occurredAt: FIXTURE_NOW,
          entries: [
            { account: codes.hotWallet(ETH), asset: ETH, amount: 10n },
            { account: codes.platformCapital(ETH), asset: ETH, amount: -9n },
          ],
        }),
      );
      expect(error.code).toBe('ledger_unbalanced');
    });

    it('refuses entries that balance in total but not per asset', async () => {
      const error = await errorOf(
        post({
          kind: 'capital',
          idempotencyKey: `cross-asset:${randomUUID()}`,
          occurredAt: FIXTURE_NOW,
          entries: [
            { account: codes.hotWallet(ETH), asset: ETH, amount: 7n },
            { account: codes.platformCapital(USDT), asset: USDT, amount: -7n },
          ],
        }),
      );
      expect(error.code).toBe('ledger_unbalanced');
    });

    it.each([
      ['a zero amount', [0n, 0n], 'ledger_invalid_transaction'],
      ['a single entry', [0n], 'ledger_invalid_transaction'],
      ['an amount wider than numeric(78,0)', [10n ** 78n, -(10n ** 78n)], 'ledger_invalid_transaction'],
    ] as const)('refuses %s', async (_name, amounts, code) => {
      const entries = amounts.map((amount, index) => ({
        account: index === 0 ? codes.hotWallet(ETH) : codes.platformCapital(ETH),
        asset: ETH,
        amount,
      }));
      const error = await errorOf(
        post({ kind: 'capital', idempotencyKey: `bad:${randomUUID()}`, occurredAt: FIXTURE_NOW, entries }),
      );
      expect(error.code).toBe(code);
    });

    it('refuses an account whose code does not match the asset, or is not in the chart', async () => {
      const mismatch = await errorOf(
        post({
          kind: 'capital',
          idempotencyKey: `mismatch:${randomUUID()}`,
          occurredAt: FIXTURE_NOW,
          entries: [
            { account: codes.hotWallet(ETH), asset: USDT, amount: 1n },
            { account: codes.platformCapital(USDT), asset: USDT, amount: -1n },
          ],
        }),
      );
      expect(mismatch.code).toBe('ledger_invalid_account');
      const unknown = await errorOf(
        post({
          kind: 'capital',
          idempotencyKey: `unknown:${randomUUID()}`,
          occurredAt: FIXTURE_NOW,
          entries: [
            { account: 'petty_cash:eth', asset: ETH, amount: 1n },
            { account: codes.platformCapital(ETH), asset: ETH, amount: -1n },
          ],
        }),
      );
      expect(unknown.code).toBe('ledger_invalid_account');
    });

    it('refuses an owner account for a channel that does not exist', async () => {
      const error = await errorOf(
        post({
          kind: 'adjustment',
          idempotencyKey: `ghost:${randomUUID()}`,
          occurredAt: FIXTURE_NOW,
          description: 'owner of nothing',
          entries: [
            { account: codes.hotWallet(ETH), asset: ETH, amount: 1n },
            { account: codes.owner(randomUUID(), ETH), asset: ETH, amount: -1n },
          ],
        }),
      );
      expect(error.code).toBe('ledger_unknown_reference');
    });

    it('refuses to take an owner balance below zero', async () => {
      const channel = await insertChannel(testDb.db);
      await creditOwner(testDb.db, channel.id, ETH, 100n);
      const claim = (amount: bigint) =>
        post({
          kind: 'adjustment',
          idempotencyKey: `overdraw:${randomUUID()}`,
          occurredAt: FIXTURE_NOW,
          description: 'take from the owner',
          entries: [
            { account: codes.owner(channel.id, ETH), asset: ETH, amount },
            { account: codes.payoutsInFlight(ETH), asset: ETH, amount: -amount },
          ],
        });
      expect((await errorOf(claim(101n))).code).toBe('ledger_insufficient_balance');
      await claim(100n);
      expect(await balanceOf(testDb.db, codes.owner(channel.id, ETH), ETH)).toBe(0n);
      expect((await errorOf(claim(1n))).code).toBe('ledger_insufficient_balance');
    });

    it('lets only one of two concurrent claims on one balance through', async () => {
      const channel = await insertChannel(testDb.db);
      await creditOwner(testDb.db, channel.id, ETH, 1_000n);
      const results = await Promise.allSettled(
        [1, 2].map(() =>
          post({
            kind: 'adjustment',
            idempotencyKey: `race:${randomUUID()}`,
            occurredAt: FIXTURE_NOW,
            description: 'claim everything',
            entries: [
              { account: codes.owner(channel.id, ETH), asset: ETH, amount: 1_000n },
              { account: codes.payoutsInFlight(ETH), asset: ETH, amount: -1_000n },
            ],
          }),
        ),
      );
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((result) => result.status === 'rejected');
      expect((rejected as PromiseRejectedResult).reason).toMatchObject({ code: 'ledger_insufficient_balance' });
      expect(await balanceOf(testDb.db, codes.owner(channel.id, ETH), ETH)).toBe(0n);
    });

    it('settles a payment once, whatever key a retry uses', async () => {
      const payment = await insertPayment(testDb.db, { status: 'finished', isSettled: true });
      const settle = (key: string) =>
        post({
          kind: 'payment_settled',
          idempotencyKey: key,
          occurredAt: FIXTURE_NOW,
          paymentId: payment.id,
          entries: [
            { account: codes.hotWallet(ETH), asset: ETH, amount: 50n },
            { account: codes.owner(payment.channelId, ETH), asset: ETH, amount: -50n },
          ],
        });
      await settle(`settle:${payment.id}`);
      expect((await errorOf(settle(`settle-again:${payment.id}`))).code).toBe('ledger_duplicate_effect');
    });

    it('refuses to post a reversal directly', async () => {
      const error = await errorOf(post({ ...capitalIn(`rev:${randomUUID()}`, ETH, 1n), kind: 'reversal' as 'capital' }));
      expect(error.code).toBe('ledger_invalid_transaction');
    });
  });

  describe('reverseLedgerTransaction', () => {
    it('posts the exact negation once and restores the balances', async () => {
      const channel = await insertChannel(testDb.db);
      const original = await creditOwner(testDb.db, channel.id, ETH, 700n);
      const reverse = () =>
        testDb.db.transaction((tx) =>
          reverseLedgerTransaction(tx, { transactionId: original, occurredAt: FIXTURE_NOW, description: 'credited by mistake' }),
        );
      const reversal = await reverse();
      expect(await reverse()).toBe(reversal);

      const stored = await retrieveLedgerTransaction(testDb.db, reversal);
      const source = await retrieveLedgerTransaction(testDb.db, original);
      expect(stored?.kind).toBe('reversal');
      expect(stored?.reversesTransactionId).toBe(original);
      expect(stored?.entries.map((entry) => entry.amount)).toEqual(source?.entries.map((entry) => -entry.amount));
      expect(await balanceOf(testDb.db, codes.owner(channel.id, ETH), ETH)).toBe(0n);
    });

    it('refuses to reverse a transaction that does not exist', async () => {
      const error = await errorOf(
        testDb.db.transaction((tx) =>
          reverseLedgerTransaction(tx, { transactionId: randomUUID(), occurredAt: FIXTURE_NOW, description: 'nothing' }),
        ),
      );
      expect(error.code).toBe('ledger_transaction_not_found');
    });

    it('refuses to reverse a credit the owner was already paid', async () => {
      const channel = await insertChannel(testDb.db);
      const credit = await creditOwner(testDb.db, channel.id, ETH, 300n);
      await insertPayout(testDb.db, { channelId: channel.id, amountUnits: 300n, isOwnerCredited: false });
      const error = await errorOf(
        testDb.db.transaction((tx) =>
          reverseLedgerTransaction(tx, { transactionId: credit, occurredAt: FIXTURE_NOW, description: 'too late' }),
        ),
      );
      expect(error.code).toBe('ledger_insufficient_balance');
    });
  });

  describe('balanceOf', () => {
    it('reads balances in each account’s normal direction and 0 for an unused account', async () => {
      const channel = await insertChannel(testDb.db);
      await creditOwner(testDb.db, channel.id, USDT, 42n);
      expect(await balanceOf(testDb.db, codes.owner(channel.id, USDT), USDT)).toBe(42n);
      expect(await balanceOf(testDb.db, codes.swapLosses(USDT), USDT)).toBe(0n);
      await expect(balanceOf(testDb.db, codes.owner(channel.id, USDT), ETH)).rejects.toMatchObject({
        code: 'ledger_invalid_account',
      });
    });
  });

  describe('a settled payment paid out through a swap', () => {
    it('keeps every asset summing to zero and every balance traceable', async () => {
      // 0.003 ETH reached the hot wallet; NowPayments kept 0.000015 ETH, so the gross was 0.003015 ETH.
      // In this example the platform absorbs the processor fee and takes 3 % of the gross, rounded up.
      const payment = await insertPayment(testDb.db, { status: 'finished', isSettled: true });
      const channel = { id: payment.channelId };
      const outcome = 3_000_000_000_000_000n;
      const processorFee = 15_000_000_000_000n;
      const gross = outcome + processorFee;
      const platformFee = (gross * 300n + 9_999n) / 10_000n;
      const ownerNet = gross - platformFee;
      const owner = codes.owner(channel.id, ETH);
      const settlement = [
        { account: codes.hotWallet(ETH), asset: ETH, amount: outcome },
        { account: codes.processorFees(ETH), asset: ETH, amount: processorFee },
        { account: codes.platformFees(ETH), asset: ETH, amount: -platformFee },
        { account: owner, asset: ETH, amount: -ownerNet },
      ];
      const before = {
        hotWallet: await balanceOf(testDb.db, codes.hotWallet(ETH), ETH),
        platformFees: await balanceOf(testDb.db, codes.platformFees(ETH), ETH),
        inFlight: await balanceOf(testDb.db, codes.payoutsInFlight(ETH), ETH),
      };
      const payoutId = randomUUID();
      const gas = 21_000n * 5_000_000_000n;

      await testDb.db.transaction(async (tx) => {
        await postLedgerTransaction(tx, {
          kind: 'payment_settled',
          idempotencyKey: `settle:${payment.id}`,
          occurredAt: FIXTURE_NOW,
          paymentId: payment.id,
          entries: settlement,
        });
        await insertPayout(tx, { id: payoutId, channelId: channel.id, amountUnits: ownerNet, isOwnerCredited: false });
      });
      await post({
        kind: 'payout_funded',
        idempotencyKey: `fund:${payoutId}`,
        occurredAt: FIXTURE_NOW,
        payoutId,
        entries: [
          { account: codes.changenowInFlight(ETH), asset: ETH, amount: ownerNet },
          { account: codes.hotWallet(ETH), asset: ETH, amount: -ownerNet },
        ],
      });
      await post({
        kind: 'network_fee',
        idempotencyKey: `gas:${payoutId}`,
        occurredAt: FIXTURE_NOW,
        payoutId,
        entries: [
          { account: codes.networkFees(ETH), asset: ETH, amount: gas },
          { account: codes.hotWallet(ETH), asset: ETH, amount: -gas },
        ],
      });
      await post({
        kind: 'payout_completed',
        idempotencyKey: `complete:${payoutId}`,
        occurredAt: FIXTURE_NOW,
        payoutId,
        entries: [
          { account: codes.payoutsInFlight(ETH), asset: ETH, amount: ownerNet },
          { account: codes.changenowInFlight(ETH), asset: ETH, amount: -ownerNet },
        ],
      });

      expect(outcome + processorFee).toBe(platformFee + ownerNet);
      expect(await balanceOf(testDb.db, owner, ETH)).toBe(0n);
      expect(await balanceOf(testDb.db, codes.payoutsInFlight(ETH), ETH)).toBe(before.inFlight);
      expect(await balanceOf(testDb.db, codes.changenowInFlight(ETH), ETH)).toBe(0n);
      expect((await balanceOf(testDb.db, codes.platformFees(ETH), ETH)) - before.platformFees).toBe(platformFee);
      expect((await balanceOf(testDb.db, codes.hotWallet(ETH), ETH)) - before.hotWallet).toBe(outcome - ownerNet - gas);

      const sums = await sumLedgerByAsset(testDb.db);
      expect(sums.size).toBeGreaterThan(0);
      for (const [, total] of sums) expect(total).toBe(0n);
    });
  });

  describe('chart of accounts', () => {
    it('derives type and overdraft rule from the path', () => {
      const channelId = randomUUID();
      expect(describeAccountCode(codes.owner(channelId, ETH), ETH)).toEqual({
        code: `owner:${channelId}:eth`,
        asset: ETH,
        type: 'liability',
        channelId,
        isNegativeBalanceAllowed: false,
      });
      expect(describeAccountCode('platform:fees:usdt_erc20', USDT).type).toBe('income');
      expect(describeAccountCode('hot_wallet:eth', ETH).type).toBe('asset');
      expect(() => describeAccountCode('owner:not-a-uuid:eth', ETH)).toThrow(/owner:<channel uuid>/);
      expect(() => describeAccountCode('Hot_Wallet:eth', ETH)).toThrow(/lower-case paths/);
    });

    it('lists the same transaction kinds as the database CHECK', async () => {
      const { rows } = await testDb.db.query<{ definition: string }>(
        `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
          WHERE conrelid = 'ledger_transactions'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%kind = ANY%'`,
      );
      expect(rows).toHaveLength(1);
      const kinds = [...(rows[0]?.definition ?? '').matchAll(/'([a-z_]+)'::text/g)].map((match) => match[1]);
      expect(kinds).toEqual([...LEDGER_TRANSACTION_KINDS]);
    });
  });
});
