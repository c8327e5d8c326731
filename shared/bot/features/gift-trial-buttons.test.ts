import { describe, expect, it } from 'vitest';
import { formatPublicId } from '../../ids/index.js';
import { giftClaimLink, giftStartPayload, isGiftStartPayload, parseGiftStartPayload } from '../../telegram/deep-links.js';
import { claimGiftData, giftTierData, tryTrialData } from './gift-trial-buttons.js';
import { START_PAYLOAD_PATTERN } from './subscriber.js';

const CHANNEL = formatPublicId('channel', '0f0e0d0c-0b0a-4908-8706-050403020100');
const CODE = 'Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab'; // 32 base64url characters

describe('trial, gift and claim buttons', () => {
  it('fit in 64 bytes and carry references only: the channel and tier, or the claim code', () => {
    const cases: [string, RegExp][] = [
      [tryTrialData.encode({ channel: CHANNEL, tier: 1 }), /^tt1:ch_[A-Za-z0-9_-]{22}:1$/],
      [giftTierData.encode({ channel: CHANNEL, tier: 3 }), /^gt1:ch_[A-Za-z0-9_-]{22}:3$/],
      [claimGiftData.encode({ code: CODE }), /^gc1:[A-Za-z0-9_-]{32}$/],
    ];
    for (const [data, shape] of cases) {
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(data).toMatch(shape);
    }
  });

  it('decodes nothing tampered: a tier out of range, another tag, a short code', () => {
    expect(tryTrialData.decode(`tt1:${CHANNEL}:4`)).toBeUndefined();
    expect(giftTierData.decode(`tt1:${CHANNEL}:1`)).toBeUndefined();
    expect(claimGiftData.decode('gc1:short')).toBeUndefined();
    expect(tryTrialData.trigger.test(`t1:${CHANNEL}:1`)).toBe(false);
  });
});

describe('gift claim links', () => {
  it('round-trip the code within what Telegram allows in a start parameter', () => {
    const payload = giftStartPayload(CODE);
    expect(payload).toMatch(START_PAYLOAD_PATTERN);
    expect(isGiftStartPayload(payload)).toBe(true);
    expect(parseGiftStartPayload(payload)).toBe(CODE);
    expect(giftClaimLink('PayGateBot', CODE)).toBe(`https://t.me/PayGateBot?start=g_${CODE}`);
  });

  it.each(['g_', 'g_short', `g_${CODE}x`, `g_${CODE.slice(0, 31)}!`, `c_${CODE}`])('refuses %s', (payload) => {
    expect(parseGiftStartPayload(payload)).toBeUndefined();
  });
});
