import { describe, expect, it } from 'vitest';
import { chooseTierData, type PaymentStatusRow, paymentStatusMessage, subscribeStartPayload } from './subscriber.js';

const NOW = new Date('2026-01-01T12:00:00Z');
const LATER = new Date('2026-01-01T13:00:00Z');
const EARLIER = new Date('2026-01-01T11:00:00Z');

function row(overrides: Partial<PaymentStatusRow>): PaymentStatusRow {
  return { kind: 'subscription', checkout_status: 'open', checkout_expires_at: LATER, payment_status: null, settled_at: null, ...overrides };
}

describe('paymentStatusMessage', () => {
  it.each<[string, Partial<PaymentStatusRow>, string]>([
    ['no payment on an open checkout', {}, 'paymentNone'],
    ['no payment on a checkout past its offer', { checkout_expires_at: EARLIER }, 'paymentExpired'],
    ['no payment on an expired checkout', { checkout_status: 'expired' }, 'paymentExpired'],
    ['waiting', { payment_status: 'waiting' }, 'paymentWaiting'],
    ['confirming', { payment_status: 'confirming' }, 'paymentConfirming'],
    ['confirmed', { payment_status: 'confirmed' }, 'paymentConfirming'],
    ['sending', { payment_status: 'sending' }, 'paymentConfirming'],
    ['finished, not settled yet', { payment_status: 'finished' }, 'paymentConfirming'],
    ['finished and settled', { payment_status: 'finished', settled_at: NOW }, 'paymentPaidSubscription'],
    ['settled donation', { kind: 'donation', payment_status: 'finished', settled_at: NOW }, 'paymentPaidDonation'],
    ['partially paid within tolerance (settled)', { payment_status: 'partially_paid', settled_at: NOW }, 'paymentPaidSubscription'],
    ['partially paid below tolerance', { payment_status: 'partially_paid' }, 'paymentUnderpaid'],
    ['failed', { payment_status: 'failed' }, 'paymentExpired'],
    ['expired', { payment_status: 'expired' }, 'paymentExpired'],
    ['refunded', { payment_status: 'refunded', settled_at: NOW }, 'paymentRefunded'],
    ['an unknown status', { payment_status: 'mystery' }, 'paymentConfirming'],
  ])('%s', (_, overrides, expected) => {
    expect(paymentStatusMessage(row(overrides), NOW)).toBe(expected);
  });
});

describe('subscribeStartPayload', () => {
  it('is a valid Telegram start payload naming the channel', () => {
    const payload = subscribeStartPayload('0f0e0d0c-0b0a-4908-8706-050403020100');
    expect(payload).toMatch(/^c_ch_[A-Za-z0-9_-]{22}$/);
    expect(payload.length).toBeLessThanOrEqual(64);
  });
});

describe('chooseTierData', () => {
  it('fits in 64 bytes and has no price', () => {
    const data = chooseTierData.encode({ channel: subscribeStartPayload('0f0e0d0c-0b0a-4908-8706-050403020100').slice(2), tier: 3 });
    expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
    expect(data).toMatch(/^t1:ch_[A-Za-z0-9_-]{22}:3$/);
  });
});
