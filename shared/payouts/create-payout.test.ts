import { withDestinationWallets } from '../testing/encrypted-fields.js';
import { clearWallet, sealWallet } from '../wallets/index.js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxMessage } from '../bus/index.js';
import { gatedWrite } from '../db/index.js';
import { countStatements } from '../testing/statement-counter.js';
import { balanceOf, ledgerAccountCodes } from '../ledger/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { creditOwner, insertChannel, insertCheckout, insertPayment, insertTier, randomEvmAddress } from '../testing/fixtures.js';
import { createPayout } from './create-payout.js';

const AT = new Date('2026-03-01T10:00:00Z');

/** Every `payouts` row is written by createPayout: the row, its claim and its payout-requested message, per kind. */
describe('createPayout', () => {
  let testDb: TestDatabase;
  const db = () => testDb.db;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.dispose());

  const rowOf = async (id: string) =>
    (
      await db().query<Record<string, unknown>>(
        `SELECT kind, state, channel_id, owner_account_id, payment_id, asset, amount_units::text, amount_usd_cents, destination_currency,
                destination_network, destination_wallet, destination_extra_id, requested_at, state_changed_at, created_at, updated_at
           FROM payouts WHERE id = $1`,
        [id],
      )
    ).rows[0];
  const claimOf = async (id: string) =>
    (
      await db().query<Record<string, unknown>>(
        `SELECT t.kind, t.idempotency_key, t.payment_id, t.conversion_batch_id, t.description, t.occurred_at
           FROM payouts p JOIN ledger_transactions t ON t.id = p.claim_transaction_id WHERE p.id = $1 AND t.payout_id = p.id`,
        [id],
      )
    ).rows[0];
  const requestedMessages = async (id: string) =>
    (await db().query('SELECT 1 FROM outbox WHERE dedupe_key = $1 AND topic = $2', [`payout-requested:${id}`, 'payout-requested'])).rows.length;
  const inFlight = (asset: string) => balanceOf(db(), ledgerAccountCodes.payoutsInFlight(asset), asset);

  it('claims one settled payment’s net into an instant payout, and queues its message with the caller’s follow-ups and write in the same statement', async () => {
    const channel = await insertChannel(db(), { payoutStrategy: 'instant' });
    const tier = await insertTier(db(), { channelId: channel.id });
    const checkout = await insertCheckout(db(), { channelId: channel.id, tierId: tier.id, status: 'paid' });
    const payment = await insertPayment(db(), { checkoutId: checkout.id, status: 'finished', isSettled: true });
    await creditOwner(db(), channel.id, 'ETH', 1_000n);
    const followUp = outboxMessage('invite-requested', { paymentId: payment.id }, { at: AT, dedupeKey: `invite-requested:${payment.id}` });
    const booked = (paymentId: string) => gatedWrite((and) => `UPDATE payments SET booked_outcome_units = 700 WHERE id = $1${and} RETURNING id`, [paymentId]);
    const counter = countStatements(db());
    const id = await counter.db.transaction((tx) =>
      createPayout(tx, {
        kind: 'instant',
        channelId: channel.id,
        ownerAccountId: channel.ownerAccountId,
        paymentId: payment.id,
        asset: 'ETH',
        amountUnits: 700n,
        amountUsdCents: 1_234n,
        destination: { currency: 'ETH', network: 'ETH', stored: sealWallet(channel.ownerAccountId, channel.payoutWallet, null) },
        at: AT,
        queue: [followUp],
        alongside: booked(payment.id),
      }),
    );
    // The database's first payout: the statement finds payouts:in_flight missing, writes nothing, and
    // runs again once the account exists; the caller's write and messages are made once (below).
    expect(await rowOf(id)).toEqual({
      kind: 'instant',
      state: 'requested',
      channel_id: channel.id,
      owner_account_id: channel.ownerAccountId,
      payment_id: payment.id,
      asset: 'ETH',
      amount_units: '700',
      amount_usd_cents: 1_234n,
      destination_currency: 'ETH',
      destination_network: 'ETH',
      destination_wallet: null, // sealed for the owner: opened below
      destination_extra_id: null,
      requested_at: AT,
      state_changed_at: AT,
      created_at: AT,
      updated_at: AT,
    });
    expect((await withDestinationWallets(db(), [{ id }]))[0]?.destination_wallet).toBe(channel.payoutWallet);
    expect(await claimOf(id)).toEqual({
      kind: 'payout_claimed',
      idempotency_key: `claim:instant:${payment.id}`,
      payment_id: payment.id,
      conversion_batch_id: null,
      description: null,
      occurred_at: AT,
    });
    expect(await balanceOf(db(), ledgerAccountCodes.owner(channel.id, 'ETH'), 'ETH')).toBe(300n);
    expect(await requestedMessages(id)).toBe(1);
    const { rows } = await db().query<{ queued: number; booked: string }>(
      `SELECT (SELECT count(*) FROM outbox WHERE dedupe_key = $2)::int AS queued, (SELECT booked_outcome_units::text FROM payments WHERE id = $1) AS booked`,
      [payment.id, `invite-requested:${payment.id}`],
    );
    expect(rows[0]).toEqual({ queued: 1, booked: '700' });

    // Once the accounts exist: BEGIN, one statement, COMMIT.
    const next = await insertPayment(db(), { checkoutId: (await insertCheckout(db(), { channelId: channel.id, tierId: tier.id, status: 'paid' })).id, status: 'finished', isSettled: true });
    await creditOwner(db(), channel.id, 'ETH', 700n);
    counter.reset();
    const nextId = await counter.db.transaction((tx) =>
      createPayout(tx, {
        kind: 'instant',
        channelId: channel.id,
        ownerAccountId: channel.ownerAccountId,
        paymentId: next.id,
        asset: 'ETH',
        amountUnits: 700n,
        amountUsdCents: 1_234n,
        destination: { currency: 'ETH', network: 'ETH', stored: sealWallet(channel.ownerAccountId, channel.payoutWallet, null) },
        at: AT,
        queue: [outboxMessage('invite-requested', { paymentId: next.id }, { at: AT, dedupeKey: `invite-requested:${next.id}` })],
        alongside: booked(next.id),
      }),
    );
    expect(counter.counts()).toMatchObject({ statements: 3, transactions: 1 });
    expect(await requestedMessages(nextId)).toBe(1);
  });

  it.each(['threshold', 'balance'] as const)('claims a channel’s balance into a %s payout and queues its message', async (kind) => {
    const channel = await insertChannel(db(), { payoutStrategy: kind === 'threshold' ? 'threshold' : 'instant' });
    await creditOwner(db(), channel.id, 'USDT_ERC20', 5_000_000n);
    const before = await inFlight('USDT_ERC20');
    const id = await db().transaction((tx) =>
      createPayout(tx, {
        kind,
        channelId: channel.id,
        ownerAccountId: channel.ownerAccountId,
        asset: 'USDT_ERC20',
        amountUnits: 5_000_000n,
        amountUsdCents: null,
        destination: { currency: 'USDT', network: 'ETH', stored: sealWallet(channel.ownerAccountId, channel.payoutWallet, null) },
        claimDescription: 'Threshold reached',
        at: AT,
      }),
    );
    expect(await rowOf(id)).toMatchObject({ kind, state: 'requested', channel_id: channel.id, payment_id: null, amount_units: '5000000', amount_usd_cents: null });
    expect(await claimOf(id)).toMatchObject({ idempotency_key: `${kind}-claim:${id}`, payment_id: null, conversion_batch_id: null, description: 'Threshold reached' });
    expect(await balanceOf(db(), ledgerAccountCodes.owner(channel.id, 'USDT_ERC20'), 'USDT_ERC20')).toBe(0n);
    expect((await inFlight('USDT_ERC20')) - before).toBe(5_000_000n);
    expect(await requestedMessages(id)).toBe(1);
  });

  it('claims each owner’s share into a conversion payout with no channel, the batch named on the claim', async () => {
    const [first, second] = [await insertChannel(db()), await insertChannel(db())];
    await creditOwner(db(), first!.id, 'ETH', 40n);
    await creditOwner(db(), second!.id, 'ETH', 60n);
    const batchId = randomUUID();
    const wallet = randomEvmAddress();
    const id = await db().transaction(async (tx) => {
      const payoutId = await createPayout(tx, {
        kind: 'conversion',
        batchId,
        shares: [
          { channelId: first!.id, units: 40n },
          { channelId: second!.id, units: 60n },
        ],
        asset: 'ETH',
        amountUnits: 100n,
        amountUsdCents: 25n,
        destination: { currency: 'USDT', network: 'ETH', stored: clearWallet(wallet) },
        claimDescription: 'ETH of 2 threshold owners parked as USDT',
        at: AT,
      });
      await tx.query(
        `INSERT INTO conversion_batches (id, payout_id, from_asset, to_asset, total_from_units, created_at, updated_at) VALUES ($1, $2, 'ETH', 'USDT_ERC20', 100, $3, $3)`,
        [batchId, payoutId, AT],
      );
      await tx.query('INSERT INTO conversion_batch_shares (batch_id, channel_id, from_units) VALUES ($1, $2, 40), ($1, $3, 60)', [batchId, first!.id, second!.id]);
      return payoutId;
    });
    expect(await rowOf(id)).toMatchObject({ kind: 'conversion', channel_id: null, owner_account_id: null, payment_id: null, amount_units: '100', destination_wallet: wallet, destination_extra_id: null });
    expect(await claimOf(id)).toMatchObject({ idempotency_key: `conversion-claim:${batchId}`, conversion_batch_id: batchId, description: 'ETH of 2 threshold owners parked as USDT' });
    expect(await balanceOf(db(), ledgerAccountCodes.owner(first!.id, 'ETH'), 'ETH')).toBe(0n);
    expect(await balanceOf(db(), ledgerAccountCodes.owner(second!.id, 'ETH'), 'ETH')).toBe(0n);
    expect(await requestedMessages(id)).toBe(1);
  });
});
