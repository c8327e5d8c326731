import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../../shared/ids/index.js';
import { sumLedgerByAsset } from '../../shared/ledger/index.js';
import type { SimulatedMessage } from '../../shared/testing/simulators/telegram-simulator.js';
import { newSubscriber, seedChannel, startTestGateway, type SeededChannel, type TestGateway } from './gateway-harness.js';

type Button = InlineKeyboardButton & { callback_data?: string; url?: string };

function buttonsOf(message: SimulatedMessage | undefined): Button[] {
  return ((message?.replyMarkup as InlineKeyboardMarkup | undefined)?.inline_keyboard ?? []).flat() as Button[];
}

function buttonData(message: SimulatedMessage | undefined, label: RegExp): string {
  const button = buttonsOf(message).find((b) => label.test(b.text));
  if (!button?.callback_data) throw new Error(`no callback button ${label} in ${JSON.stringify(message?.replyMarkup)}`);
  return button.callback_data;
}

/**
 * The promo code step in the bot, through the telegram-webhook function, every message delivered
 * twice: a tier link carrying a code opens the checkout at the code's price, the payment (its IPN
 * sent once more) is redeemed once, and a refused code explains itself and still lets the
 * subscriber pay the full price.
 */
describe('promo codes in the bot (every message twice)', () => {
  let gateway: TestGateway;
  let channel: SeededChannel;
  let ch: string;
  let codeId: string;
  const last = (chatId: number) => gateway.telegram.messagesTo(chatId).at(-1);

  beforeAll(async () => {
    gateway = await startTestGateway();
    channel = await seedChannel(gateway, { priceCents: 1999n, days: 30 });
    ch = formatPublicId('channel', channel.channelId);
    const { rows } = await gateway.testDb.db.query<{ id: string }>(
      `INSERT INTO promo_codes (channel_id, code, percent_off_bps, max_uses_per_user) VALUES ($1, 'SPRING25', 2500, 1) RETURNING id`,
      [channel.channelId],
    );
    codeId = rows[0]!.id;
    await gateway.settle();
  });
  afterAll(() => gateway?.stop());

  it('opens the checkout at the discounted price from a tier link with a code and counts the paid payment once', async () => {
    const db = gateway.testDb.db;
    const fan = newSubscriber(gateway);
    const payload = `c_${ch}_1_pspring25`;
    expect(payload.length).toBeLessThanOrEqual(64);
    expect(await gateway.telegram.sendText(fan.id, `/start ${payload}`)).toBe(200);

    // 25 % of $19.99 is 499.75 cents: 499 off (the discount rounds down), $15.00 to pay.
    const pay = last(fan.id);
    expect(pay?.text).toContain('<s>$19.99</s> <b>$15.00</b>');
    expect(pay?.text).toContain('<code>SPRING25</code>');
    expect(buttonsOf(pay)[0]?.text).toBe('💳 Pay $15.00');
    const { rows: checkouts } = await db.query<{ provider_invoice_id: string; price_cents: bigint; list_price_cents: bigint; promo_code_id: string }>(
      'SELECT provider_invoice_id, price_cents, list_price_cents, promo_code_id FROM checkouts WHERE telegram_user_id = $1',
      [fan.id],
    );
    expect(checkouts).toMatchObject([{ price_cents: 1500n, list_price_cents: 1999n, promo_code_id: codeId }]);

    const payment = await gateway.nowpayments.pay(checkouts[0]!.provider_invoice_id);
    expect(await gateway.nowpayments.resendIpn(payment.paymentId)).toBe(200);
    await gateway.settle();

    const { rows: redemptions } = await db.query('SELECT price_cents, list_price_cents FROM promo_redemptions WHERE promo_code_id = $1', [codeId]);
    expect(redemptions).toEqual([{ price_cents: 1500n, list_price_cents: 1999n }]);
    const { rows: reservations } = await db.query('SELECT status FROM promo_code_reservations WHERE promo_code_id = $1', [codeId]);
    expect(reservations).toEqual([{ status: 'redeemed' }]);
    // Earnings are what the subscriber paid: the settlement booked the $15.00 invoice.
    const { rows: payments } = await db.query('SELECT price_amount_cents FROM payments WHERE provider_payment_id = $1', [payment.paymentId]);
    expect(payments).toEqual([{ price_amount_cents: 1500n }]);
    for (const [, sum] of await sumLedgerByAsset(db)) expect(sum).toBe(0n);
    const { rows: outbox } = await db.query<{ topic: string; n: bigint }>(`SELECT topic, count(*) AS n FROM outbox WHERE topic = 'invite-requested' GROUP BY topic`);
    expect(outbox.map((row) => Number(row.n))).toEqual([1]);
    expect(gateway.telegram.messagesTo(fan.id).some((m) => m.text.includes('t.me/+') || m.text.includes('joinchat'))).toBe(true);

    // The same subscriber again: the per-user limit refuses with a reason, and the full price is still one tap away.
    await gateway.telegram.sendText(fan.id, `/start ${payload}`);
    const refused = last(fan.id);
    expect(refused?.text).toContain('You have already used this promo code as often as it allows.');
    await gateway.telegram.clickButton(fan.id, refused!.messageId, buttonData(refused, /^Pay full price \$19\.99$/));
    expect(buttonsOf(last(fan.id))[0]?.text).toBe('💳 Pay $19.99');
    const { rows: dead } = await db.query('SELECT source, reason_code FROM dead_letters');
    expect(dead).toEqual([]);
  });

  it('asks "Have a promo code?" after a tier button, explains refused codes and applies a typed one', async () => {
    const fan = newSubscriber(gateway);
    await gateway.telegram.sendText(fan.id, `/start c_${ch}`);
    const offer = last(fan.id);
    await gateway.telegram.clickButton(fan.id, offer!.messageId, buttonData(offer, /^Tier 1/));
    const prompt = last(fan.id);
    expect(prompt?.text).toContain('Have a promo code?');
    expect(buttonsOf(prompt).map((b) => b.text)).toEqual(['🎟 Enter a promo code', 'Pay full price $19.99']);

    await gateway.telegram.clickButton(fan.id, prompt!.messageId, buttonData(prompt, /Enter a promo code/));
    expect(last(fan.id)?.text).toBe('Send the promo code as a message.');
    await gateway.telegram.sendText(fan.id, 'no way!');
    expect(last(fan.id)?.text).toContain('A promo code is 3 to 32 letters, digits, _ or -.');
    await gateway.telegram.sendText(fan.id, '<b>X</b>');
    expect(last(fan.id)?.text).not.toContain('<b>X</b>');
    await gateway.telegram.sendText(fan.id, 'WINTER10');
    expect(last(fan.id)?.text).toContain('<code>WINTER10</code>: This channel has no such promo code.');
    await gateway.telegram.sendText(fan.id, ' Spring25 ');
    expect(last(fan.id)?.text).toContain('<s>$19.99</s> <b>$15.00</b>');
    // The step is over: other text is no longer read as a code.
    const count = gateway.telegram.messagesTo(fan.id).length;
    await gateway.telegram.sendText(fan.id, 'thanks');
    expect(gateway.telegram.messagesTo(fan.id).length).toBe(count);
  });

  it('keeps a code from a channel link for the tier chosen next', async () => {
    const fan = newSubscriber(gateway);
    await gateway.telegram.sendText(fan.id, `/start c_${ch}_pSPRING25`);
    const offer = last(fan.id);
    expect(buttonsOf(offer).map((b) => b.text)).toEqual(['Tier 1 · 30 days · $19.99', '🎁 Gift tier 1']);
    await gateway.telegram.clickButton(fan.id, offer!.messageId, buttonData(offer, /^Tier 1/));
    expect(buttonsOf(last(fan.id))[0]?.text).toBe('💳 Pay $15.00');
  });
});
