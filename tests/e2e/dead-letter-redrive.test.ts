import { setChannelWallet } from '../../shared/testing/encrypted-fields.js';
import { Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterAction, redriveDeadLetter } from '../../shared/bus/index.js';
import { checkoutFor, seedChannel, startTestGateway, type TestGateway } from './gateway-harness.js';

const OPERATOR = 'ops@example.com';

/**
 * Dead letters re-driven by an operator through the whole gateway (every stage, the in-process bus
 * delivering every message twice, the relay-outbox job as Cloud Scheduler ticks it): the re-drive
 * finishes what the dead-lettered message had left undone, once, and is a no-op where it had been
 * done already.
 */
describe('re-driving dead letters through the gateway', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  }, 120_000);
  afterAll(() => gateway?.stop());

  const db = () => gateway.testDb.db;
  let nextUserId = 8_100_000_000;

  /** The relay-outbox job's tick, as Cloud Scheduler sends it: this is what publishes a re-drive. */
  async function relayTick(): Promise<void> {
    await gateway.runtime.bus?.publish('outbox-relay-requested', { job: 'relay-outbox' });
    await gateway.settle();
  }

  async function redrive(deadLetterId: bigint): Promise<void> {
    await redriveDeadLetter(db(), { deadLetterId, operator: OPERATOR, at: new Date() });
    await relayTick();
  }

  async function deadLetter(where: string, params: unknown[]) {
    const { rows } = await db().query<{ id: bigint; source: string; topic: string | null; message_id: string; reason_code: string; resolution: string | null; redrive_count: number }>(
      `SELECT id, source, topic, message_id, reason_code, resolution, redrive_count FROM dead_letters WHERE ${where}`,
      params,
    );
    return rows;
  }

  const loggedAction = (event: string, id: bigint) =>
    gateway.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === event && line.action === deadLetterAction(id));

  it('sends the invite of a subscriber who had not started the bot once they have, on re-drive, and only once', async () => {
    const channel = await seedChannel(gateway, { strategy: 'threshold' });
    const subscriber = { id: nextUserId++, username: 'shyfan' };
    gateway.telegram.addUser({ id: subscriber.id, first_name: 'Shy', username: subscriber.username }, { startedBot: false });
    const checkout = await checkoutFor(gateway, channel, subscriber);
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();

    const { rows: payments } = await db().query<{ id: string }>('SELECT p.id FROM payments p WHERE p.checkout_id = $1', [checkout.id]);
    const paymentId = payments[0]?.id ?? '';
    const letters = await deadLetter(`topic = 'invite-requested' AND data LIKE '%' || $1 || '%'`, [paymentId]);
    expect(letters).toEqual([expect.objectContaining({ source: 'send-invite', reason_code: 'telegram_user_unreachable', resolution: null })]);
    const letter = letters[0] ?? (undefined as never);
    expect(loggedAction('message.rejected', letter.id).length).toBeGreaterThanOrEqual(1);
    const inviteDms = async () => {
      const { rows } = await db().query<{ invite_link: string }>('SELECT invite_link FROM invite_links WHERE payment_id = $1', [paymentId]);
      const link = rows[0]?.invite_link ?? 'no link';
      return gateway.telegram.messagesTo(subscriber.id).filter((message) => message.text?.includes(link));
    };
    expect(await inviteDms()).toEqual([]);

    // The subscriber opens the bot; the operator re-drives the invite.
    await gateway.telegram.sendText(subscriber.id, '/start');
    await redrive(letter.id);
    expect(await inviteDms()).toHaveLength(1);
    expect(await deadLetter('id = $1', [letter.id])).toEqual([expect.objectContaining({ resolution: 'redriven', redrive_count: 1 })]);

    // A second re-drive (same message id) finds the invite sent and does nothing.
    await redrive(letter.id);
    expect(await inviteDms()).toHaveLength(1);
    expect((await db().query('SELECT 1 FROM invite_links WHERE payment_id = $1', [paymentId])).rows).toHaveLength(1);
    expect(await deadLetter(`topic = 'invite-requested' AND data LIKE '%' || $1 || '%'`, [paymentId])).toEqual([expect.objectContaining({ id: letter.id, resolution: 'redriven', redrive_count: 2 })]);
  });

  it('quotes and sends a payout whose payout-requested was dead-lettered when ChangeNow refused it, once', async () => {
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n });
    await db().query(`UPDATE channels SET payout_currency = 'USDT', payout_network = 'ETH' WHERE id = $1`, [channel.channelId]);
    await setChannelWallet(db(), channel.channelId, Wallet.createRandom().address);
    const changenow = gateway.runtime.simulators.changenow;
    if (!changenow) throw new Error('the runtime did not start the ChangeNow simulator');
    // Refused on the first delivery and on its duplicate: both dead-letter the same message.
    for (let i = 0; i < 2; i += 1) changenow.failNext('GET /v2/exchange/min-amount', 400, { error: 'not_valid_params', message: 'Invalid parameters' });
    const subscriber = { id: nextUserId++, username: 'payer' };
    gateway.telegram.addUser({ id: subscriber.id, first_name: 'Payer', username: subscriber.username });
    const checkout = await checkoutFor(gateway, channel, subscriber);
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();

    const payout = async () => {
      const { rows } = await db().query<{ id: string; state: string }>('SELECT id, state FROM payouts WHERE channel_id = $1', [channel.channelId]);
      expect(rows).toHaveLength(1);
      return rows[0] ?? (undefined as never);
    };
    const { id: payoutId, state } = await payout();
    expect(state).toBe('requested');
    const letters = await deadLetter(`topic = 'payout-requested' AND data LIKE '%' || $1 || '%'`, [payoutId]);
    expect(letters).toEqual([expect.objectContaining({ source: 'quote-payout', reason_code: expect.stringMatching(/^changenow_/) })]);
    const letter = letters[0] ?? (undefined as never);

    await redrive(letter.id);
    expect((await payout()).state).toBe('transfer_broadcast');
    const swaps = async () => (await db().query('SELECT 1 FROM swaps WHERE payout_id = $1', [payoutId])).rows.length;
    const transfers = async () => (await db().query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payoutId])).rows.length;
    expect([await swaps(), await transfers()]).toEqual([1, 1]);

    await redrive(letter.id);
    expect((await payout()).state).toBe('transfer_broadcast');
    expect([await swaps(), await transfers()]).toEqual([1, 1]);
    const { rows: audit } = await db().query<{ action: string; actor_id: string }>('SELECT action, actor_id FROM audit_log WHERE subject_type = $1 AND subject_id = $2', ['dead_letter', String(letter.id)]);
    expect(audit).toEqual([
      { action: 'dead_letter.redriven', actor_id: OPERATOR },
      { action: 'dead_letter.redriven', actor_id: OPERATOR },
    ]);
  });

  it('records a message forwarded to its dead-letter topic with the command to run, and a re-drive of one already settled changes nothing', async () => {
    const channel = await seedChannel(gateway, { strategy: 'threshold' });
    const subscriber = { id: nextUserId++, username: 'settled' };
    gateway.telegram.addUser({ id: subscriber.id, first_name: 'Settled', username: subscriber.username });
    const checkout = await checkoutFor(gateway, channel, subscriber);
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const { rows: settled } = await db().query<{ message_id: string; payload: { paymentId: string } }>(
      `SELECT o.message_id, o.payload FROM outbox o JOIN payments p ON p.id::text = o.payload->>'paymentId' WHERE o.topic = 'payment-settled' AND p.checkout_id = $1`,
      [checkout.id],
    );
    const original = settled[0] ?? (undefined as never);
    const ledgerTransactions = async () => (await db().query('SELECT 1 FROM ledger_transactions WHERE payment_id = $1', [original.payload.paymentId])).rows.length;
    const dmCount = () => gateway.telegram.messagesTo(subscriber.id).length;
    const handledBySettlePayment = async () => (await db().query(`SELECT 1 FROM processed_messages WHERE consumer = 'settle-payment'`)).rows.length;
    const publishedUnderOriginalId = () =>
      (gateway.runtime.bus?.events ?? []).filter((event) => event.type === 'published' && event.topic === 'payment-settled' && event.attributes.pgp_message_id === original.message_id).length;
    const expiry = async () => (await db().query<{ expires_at: Date }>('SELECT expires_at FROM subscriptions WHERE telegram_user_id = $1', [subscriber.id])).rows;
    const deadLettersOfPayment = async () => (await db().query(`SELECT 1 FROM dead_letters WHERE data LIKE '%' || $1 || '%'`, [original.payload.paymentId])).rows.length;
    const before = { ledger: await ledgerTransactions(), dms: dmCount(), handled: await handledBySettlePayment(), expiry: await expiry() };
    expect(before.expiry).toHaveLength(1);
    expect(before.ledger).toBeGreaterThan(0);

    // Pub/Sub gave up on it anyway (say settle-payment committed and then timed out on every attempt):
    // it forwards the message, attributes and all, to payment-settled-dlq.
    const forwardToDeadLetterTopic = async () => {
      await gateway.runtime.bus?.publish('payment-settled-dlq', original.payload, {
        attributes: {
          pgp_message_id: original.message_id,
          CloudPubSubDeadLetterSourceSubscription: 'projects/paygateprime-local/subscriptions/payment-settled--settle-payment',
          CloudPubSubDeadLetterSourceDeliveryCount: '10',
        },
      });
      await gateway.settle();
    };
    await forwardToDeadLetterTopic();
    const letters = await deadLetter('message_id = $1', [original.message_id]);
    expect(letters).toEqual([expect.objectContaining({ source: 'payment-settled--settle-payment', topic: 'payment-settled', reason_code: 'max_delivery_attempts' })]);
    const letter = letters[0] ?? (undefined as never);
    const alerts = gateway.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === 'dead_letter.recorded' && line.messageId === original.message_id);
    expect(alerts).toEqual([expect.objectContaining({ severity: 'CRITICAL', deadLetterId: String(letter.id), action: `npm run dead-letters -- show ${letter.id}` })]);

    const publishedBefore = publishedUnderOriginalId();
    const duplicates = () =>
      gateway.logLines.filter((line) => line.includes('"payment.settlement_duplicate"') && line.includes(original.payload.paymentId)).length;
    const duplicatesBefore = duplicates();
    await redrive(letter.id);
    expect(publishedUnderOriginalId()).toBe(publishedBefore + 1);
    // settle-payment finds its processed_messages record for that id and does nothing (both
    // deliveries of the re-drive): no second record, no second extension, nothing posted or sent
    // twice, and no new dead letter.
    expect(duplicates()).toBe(duplicatesBefore + 2);
    expect({ ledger: await ledgerTransactions(), dms: dmCount(), handled: await handledBySettlePayment(), expiry: await expiry() }).toEqual(before);
    expect(await deadLettersOfPayment()).toBe(1);

    // Had the re-drive failed too, Pub/Sub would forward it again: the same record re-opens and alerts.
    await forwardToDeadLetterTopic();
    expect(await deadLetter('id = $1', [letter.id])).toEqual([expect.objectContaining({ resolution: null, redrive_count: 1 })]);
    const reopened = gateway.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === 'dead_letter.reopened' && line.messageId === original.message_id);
    expect(reopened).toEqual([expect.objectContaining({ severity: 'CRITICAL', action: `npm run dead-letters -- show ${letter.id}` })]);
  });
});
