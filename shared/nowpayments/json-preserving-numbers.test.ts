import { describe, expect, it } from 'vitest';
import { createSeededRandom, type SeededRandom } from '../testing/seeded-random.js';
import { MAX_JSON_DEPTH, parseJsonPreservingNumbers } from './json-preserving-numbers.js';

/**
 * Walks `JSON.parse`'s result and ours side by side: same shape, same keys in the same order, same strings, and where
 * JSON.parse has a number we have a string that reads back to exactly that double.
 */
function expectSameAsJsonParse(preserved: unknown, parsed: unknown, path = '$'): void {
  if (typeof parsed === 'number') {
    expect(typeof preserved, path).toBe('string');
    expect(Object.is(Number(preserved), parsed), `${path}: ${String(preserved)} vs ${parsed}`).toBe(true);
    return;
  }
  if (Array.isArray(parsed)) {
    expect(Array.isArray(preserved), path).toBe(true);
    const items = preserved as unknown[];
    expect(items.length, path).toBe(parsed.length);
    parsed.forEach((item, index) => expectSameAsJsonParse(items[index], item, `${path}[${index}]`));
    return;
  }
  if (parsed !== null && typeof parsed === 'object') {
    expect(preserved !== null && typeof preserved === 'object' && !Array.isArray(preserved), path).toBe(true);
    const object = preserved as Record<string, unknown>;
    expect(Object.keys(object), path).toEqual(Object.keys(parsed));
    for (const key of Object.keys(parsed)) {
      expectSameAsJsonParse(object[key], (parsed as Record<string, unknown>)[key], `${path}.${key}`);
    }
    return;
  }
  expect(preserved, path).toBe(parsed);
}

/** A random JSON document as text, plus what we expect: the same value with every number as its source text. */
function randomDocument(random: SeededRandom, depth = 0): { text: string; expected: unknown } {
  const pickInt = (max: number) => Number(random.below(BigInt(max)));
  const ws = () => random.pick(['', '', '', ' ', '\n', '\t', '\r\n', '  ']);
  const kinds = depth > 4 ? ['number', 'string', 'literal'] : ['number', 'string', 'literal', 'object', 'array', 'number'];
  const kind = random.pick(kinds);
  if (kind === 'number') {
    const digits = (n: number) => Array.from({ length: n }, () => String(pickInt(10))).join('');
    const integer = random.pick(['0', `${1 + pickInt(9)}${digits(pickInt(25))}`]);
    const fraction = random.pick(['', '', `.${digits(1 + pickInt(30))}`]);
    const exponent = random.pick(['', '', '', `e${pickInt(20)}`, `E-${pickInt(40)}`, `e+${pickInt(5)}`, `e-0${pickInt(9)}`]);
    const text = `${random.pick(['', '', '-'])}${integer}${fraction}${exponent}`;
    return { text, expected: text };
  }
  if (kind === 'string') {
    const pieces = ['a', 'Z', ' ', 'é', '€', '😀', '\\n', '\\t', '\\"', '\\\\', '\\/', '\\u00e9', '\\ud83d\\ude00', '\\u0000', '\\b', '\\f', '\\r', '1.5'];
    let body = '';
    for (let count = pickInt(8); count > 0; count -= 1) body += random.pick(pieces);
    const text = `"${body}"`;
    return { text, expected: JSON.parse(text) as unknown };
  }
  if (kind === 'literal') {
    const text = random.pick(['true', 'false', 'null']);
    return { text, expected: JSON.parse(text) as unknown };
  }
  if (kind === 'array') {
    const items = Array.from({ length: pickInt(5) }, () => randomDocument(random, depth + 1));
    return {
      text: `[${ws()}${items.map((item) => `${item.text}${ws()}`).join(`,${ws()}`)}]`,
      expected: items.map((item) => item.expected),
    };
  }
  const entries = Array.from({ length: pickInt(5) }, () => [random.pick(['a', 'b', 'price_amount', 'fee', '__proto__', 'ключ', 'a b', '']), randomDocument(random, depth + 1)] as const);
  const expected: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(expected, key, { value: value.expected, enumerable: true, writable: true, configurable: true });
  return {
    text: `{${ws()}${entries.map(([key, value]) => `${JSON.stringify(key)}${ws()}:${ws()}${value.text}${ws()}`).join(`,${ws()}`)}}`,
    expected,
  };
}

describe('parseJsonPreservingNumbers', () => {
  it.each([
    ['0.123456789012345678', '0.123456789012345678'],
    ['1e-7', '1e-7'],
    ['2.5e-8', '2.5e-8'],
    ['-0', '-0'],
    ['12345678901234567890123', '12345678901234567890123'],
    ['0.10', '0.10'],
    ['1E+2', '1E+2'],
  ])('keeps the number %s as its exact text', (text, expected) => {
    expect(parseJsonPreservingNumbers(text)).toBe(expected);
    expect(parseJsonPreservingNumbers(`{"amount": ${text}}`)).toEqual({ amount: expected });
  });

  it('reads an IPN body with nested objects, nulls and strings', () => {
    const text =
      '{"actually_paid":0.0001279,"fee":{"currency":"btc","depositFee":0.09853637216235617,"serviceFee":0},"order_id":"chk_1","parent_payment_id":null,"payment_extra_ids":[5513339153,5513339154],"is_fixed_rate":false}';
    expect(parseJsonPreservingNumbers(text)).toEqual({
      actually_paid: '0.0001279',
      fee: { currency: 'btc', depositFee: '0.09853637216235617', serviceFee: '0' },
      order_id: 'chk_1',
      parent_payment_id: null,
      payment_extra_ids: ['5513339153', '5513339154'],
      is_fixed_rate: false,
    });
  });

  it('decodes string escapes exactly as JSON.parse does', () => {
    const text = String.raw`"a\"b\\c\/d\n\t\r\b\f\u00e9\ud83d\ude00\u0000"`;
    expect(parseJsonPreservingNumbers(text)).toBe(JSON.parse(text));
  });

  it('keeps a "__proto__" key as an own property, as JSON.parse does', () => {
    const value = parseJsonPreservingNumbers('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lets a later duplicate key win, keeping the first position, as JSON.parse does', () => {
    const text = '{"a":1,"b":2,"a":3}';
    const value = parseJsonPreservingNumbers(text);
    expect(value).toEqual({ a: '3', b: '2' });
    expectSameAsJsonParse(value, JSON.parse(text));
  });

  it('agrees with JSON.parse on 2 000 random documents', () => {
    const random = createSeededRandom(20260101n);
    for (let index = 0; index < 2000; index += 1) {
      const { text, expected } = randomDocument(random);
      const value = parseJsonPreservingNumbers(text);
      expect(value, text).toEqual(expected);
      expectSameAsJsonParse(value, JSON.parse(text));
    }
  });

  it.each([
    '',
    ' ',
    '{',
    '}',
    '[',
    '{"a":1,}',
    '[1,]',
    '[,1]',
    '{"a" 1}',
    '{a:1}',
    "{'a':1}",
    '[1 2]',
    '{"a":1}}',
    '1 2',
    '01',
    '1.',
    '.5',
    '+1',
    '-',
    '--1',
    '1e',
    '1e+',
    '0x10',
    'NaN',
    'Infinity',
    '-Infinity',
    'tru',
    'nul',
    'True',
    '"unterminated',
    '"bad \\x escape"',
    '"bad \\u12 escape"',
    '"raw\ttab"',
    '"raw\nnewline"',
    '\uFEFF{}',
    '{"a":1}\u00a0',
    'undefined',
  ])('refuses %j like JSON.parse', (text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(() => parseJsonPreservingNumbers(text)).toThrow(expect.objectContaining({ name: 'PermanentError', code: 'malformed_json' }));
  });

  it('names the position of the first problem', () => {
    expect(() => parseJsonPreservingNumbers('{"a":1,"b":}')).toThrow(expect.objectContaining({ context: { position: 11 } }));
  });

  it('refuses nesting deeper than the limit instead of overflowing the stack', () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(() => parseJsonPreservingNumbers(deep)).toThrow(expect.objectContaining({ code: 'malformed_json' }));
    const fine = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(() => parseJsonPreservingNumbers(fine)).not.toThrow();
  });
});
