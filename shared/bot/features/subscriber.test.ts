import { describe, expect, it } from 'vitest';
import { formatPublicId } from '../../ids/index.js';
import { parseSubscribeStartPayload, subscribeStartPayload } from '../../telegram/deep-links.js';
import { chooseTierData, type PaymentStatusRow, paymentStatusMessage, remindersOffData, renewData, renewTierData, START_PAYLOAD_PATTERN } from './subscriber.js';

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
    ['settled gift', { is_gift: true, payment_status: 'finished', settled_at: NOW }, 'paymentPaidGift'],
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

const CHANNEL_ID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const CHANNEL = formatPublicId('channel', CHANNEL_ID);

describe('subscribe start payloads (shared/telegram/deep-links) as /start reads them', () => {
  it('names the channel, or one of its tiers, within what Telegram allows', () => {
    for (const [tier, payload] of [
      [undefined, subscribeStartPayload(CHANNEL_ID)],
      [3, subscribeStartPayload(CHANNEL_ID, 3)],
    ] as const) {
      expect(payload).toMatch(START_PAYLOAD_PATTERN);
      expect(payload).toMatch(/^c_ch_[A-Za-z0-9_-]{22}(_[1-3])?$/);
      expect(parseSubscribeStartPayload(payload)).toEqual(tier === undefined ? { channelId: CHANNEL_ID } : { channelId: CHANNEL_ID, tierNumber: tier });
    }
  });

  it.each(['c_ch_short', `c_${CHANNEL}_4`, `c_${CHANNEL}_1_2`, `c_${CHANNEL}x`, `c_${CHANNEL}_`, 'c_<script>'])('refuses %s', (payload) => {
    expect(parseSubscribeStartPayload(payload)).toBeUndefined();
  });
});

describe('button data', () => {
  it('fits in 64 bytes, names things by public id only and never carries a price', () => {
    const subscription = formatPublicId('subscription', '1f0e0d0c-0b0a-4908-8706-050403020100');
    const cases: [string, RegExp][] = [
      [chooseTierData.encode({ channel: CHANNEL, tier: 3 }), /^t1:ch_[A-Za-z0-9_-]{22}:3$/],
      [renewData.encode({ channel: CHANNEL }), /^r1:ch_[A-Za-z0-9_-]{22}$/],
      [renewTierData.encode({ channel: CHANNEL, tier: 2 }), /^rt1:ch_[A-Za-z0-9_-]{22}:2$/],
      [remindersOffData.encode({ subscription }), /^ro1:sub_[A-Za-z0-9_-]{22}$/],
    ];
    for (const [data, shape] of cases) {
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(data).toMatch(shape);
    }
    expect(renewTierData.decode(`rt1:${CHANNEL}:2`)).toEqual({ channel: CHANNEL, tier: 2 });
    expect(remindersOffData.decode(`ro1:${subscription}`)).toEqual({ subscription });
  });

  it('decodes nothing tampered: another tag, a tier out of range, another kind of id, an extra field', () => {
    expect(renewTierData.decode(`rt1:${CHANNEL}:4`)).toBeUndefined();
    expect(renewTierData.decode(`rt1:${CHANNEL}`)).toBeUndefined();
    expect(renewTierData.decode(`t1:${CHANNEL}:2`)).toBeUndefined();
    expect(remindersOffData.decode(`ro1:${CHANNEL}`)).toBeUndefined();
    expect(remindersOffData.decode('ro1:sub_AAAA')).toBeUndefined();
    expect(chooseTierData.decode(`t1:${CHANNEL}:1:1`)).toBeUndefined();
    // The tags do not shadow each other: r1's trigger does not take rt1 data.
    expect(renewData.trigger.test(`rt1:${CHANNEL}:2`)).toBe(false);
    expect(renewTierData.trigger.test(`r1:${CHANNEL}`)).toBe(false);
  });
});
