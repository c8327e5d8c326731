import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { defineCallbackData } from './callback-data.js';

const chooseTier = defineCallbackData(
  't1',
  ['channel', 'tier'],
  z.object({ channel: z.string().regex(/^ch_[A-Za-z0-9_-]{22}$/), tier: z.coerce.number().int().min(1).max(3) }),
);
const channel = 'ch_AAECAwQFBgcICQoLDA0ODw';

describe('defineCallbackData', () => {
  it('encodes a value as tag and fields and decodes it back', () => {
    const data = chooseTier.encode({ channel, tier: 2 });
    expect(data).toBe(`t1:${channel}:2`);
    expect(chooseTier.decode(data)).toEqual({ channel, tier: 2 });
    expect(chooseTier.trigger.test(data)).toBe(true);
  });

  it.each([
    ['another tag', `t2:${channel}:2`],
    ['a missing field', `t1:${channel}`],
    ['an extra field', `t1:${channel}:2:9`],
    ['a value the schema refuses', `t1:${channel}:4`],
    ['a non-number', `t1:${channel}:two`],
    ['a malformed id', 't1:ch_short:1'],
    ['characters outside the field alphabet', `t1:${channel}:1 `],
    ['data over 64 bytes', `t1:${channel}:${'1'.repeat(60)}`],
    ['nothing', undefined],
  ])('decodes %s as undefined', (_, data) => {
    expect(chooseTier.decode(data)).toBeUndefined();
  });

  it('refuses to encode a value that could not be decoded again', () => {
    expect(() => chooseTier.encode({ channel: 'ch:evil', tier: 1 })).toThrow(/not allowed/);
    expect(() => chooseTier.encode({ channel, tier: 7 })).toThrow(/schema/);
    const long = defineCallbackData('x1', ['a', 'b'], z.object({ a: z.string(), b: z.string() }));
    expect(() => long.encode({ a: 'a'.repeat(40), b: 'b'.repeat(40) })).toThrow(/64 bytes/);
  });

  it('refuses a tag that is not short and lower-case', () => {
    expect(() => defineCallbackData('Tier', [], z.object({}))).toThrow(/tag/);
    expect(() => defineCallbackData('t1:', [], z.object({}))).toThrow(/tag/);
  });

  it('supports a tag without fields', () => {
    const refresh = defineCallbackData('rf1', [], z.object({}));
    expect(refresh.encode({})).toBe('rf1');
    expect(refresh.decode('rf1')).toEqual({});
    expect(refresh.decode('rf1:x')).toBeUndefined();
  });
});
