import { describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { parseSubscribeStartPayload, subscribeLink, subscribeStartPayload } from './deep-links.js';

const CHANNEL_ID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const CHANNEL = formatPublicId('channel', CHANNEL_ID);
const TELEGRAM_START = /^[A-Za-z0-9_-]{1,64}$/;

describe('subscribe links with a promo code', () => {
  it('carry the code upper-case after the tier, within Telegram’s 64 characters, and parse back', () => {
    const longest = 'A'.repeat(32);
    for (const [tier, code] of [[1, 'SPRING25'], [3, longest], [undefined, 'spring25'], [undefined, longest]] as const) {
      const payload = subscribeStartPayload(CHANNEL_ID, tier, code);
      expect(payload).toMatch(TELEGRAM_START);
      expect(parseSubscribeStartPayload(payload)).toEqual({ channelId: CHANNEL_ID, ...(tier === undefined ? {} : { tierNumber: tier }), promoCode: code.toUpperCase() });
    }
    expect(subscribeStartPayload(CHANNEL_ID, 2, longest)).toHaveLength(63);
    expect(subscribeLink('PayGatePrimeBot', CHANNEL_ID, 2, 'x_y-z')).toBe(`https://t.me/PayGatePrimeBot?start=c_${CHANNEL}_2_pX_Y-Z`);
  });

  it('read a code in any case and keep the links without one as they were', () => {
    expect(parseSubscribeStartPayload(`c_${CHANNEL}_2_pWinter-10`)).toEqual({ channelId: CHANNEL_ID, tierNumber: 2, promoCode: 'WINTER-10' });
    expect(parseSubscribeStartPayload(`c_${CHANNEL}_2`)).toEqual({ channelId: CHANNEL_ID, tierNumber: 2 });
    expect(parseSubscribeStartPayload(`c_${CHANNEL}`)).toEqual({ channelId: CHANNEL_ID });
  });

  it.each([
    `c_${CHANNEL}_1_pAB`, // too short
    `c_${CHANNEL}_p${'A'.repeat(33)}`, // too long
    `c_${CHANNEL}_1_p`,
    `c_${CHANNEL}__pSPRING25`,
    `c_${CHANNEL}_1_pSPRING25_1`.replace('_p', '_q'),
    `c_${CHANNEL}_4_pSPRING25`,
    `c_${CHANNEL}_1_xSPRING25`,
    `c_${CHANNEL}_1_pSPR!NG`,
  ])('refuses %s', (payload) => expect(parseSubscribeStartPayload(payload)).toBeUndefined());
});
