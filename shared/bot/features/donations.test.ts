import { describe, expect, it } from 'vitest';
import { type KeypadKey, keypadData, pressKey, typedCents } from './donations.js';

function typeKeys(keys: KeypadKey[], start = ''): string {
  return keys.reduce(pressKey, start);
}

describe('pressKey', () => {
  it.each<[string, KeypadKey[], string]>([
    ['digits append', ['1', '2', '3'], '123'],
    ['a leading zero is replaced', ['0', '5'], '5'],
    ['zero stays one zero', ['0', '0', '0'], '0'],
    ['a dot first gives 0.', ['dot', '5'], '0.5'],
    ['only one dot', ['1', 'dot', '2', 'dot', '3'], '1.23'],
    ['at most two decimals', ['1', 'dot', '2', '3', '4'], '1.23'],
    ['at most 8 characters', ['1', '2', '3', '4', '5', '6', '7', '8', '9'], '12345678'],
    ['no dot past 8 characters', ['1', '2', '3', '4', '5', '6', '7', '8', 'dot'], '12345678'],
    ['del removes the last character', ['1', 'dot', '5', 'del', 'del'], '1'],
    ['del on nothing is nothing', ['del'], ''],
    ['clr empties', ['1', '2', 'clr'], ''],
    ['ok and no do not edit', ['4', 'ok', 'no'], '4'],
  ])('%s', (_, keys, expected) => {
    expect(typeKeys(keys)).toBe(expected);
  });
});

describe('typedCents', () => {
  it.each<[string, bigint | undefined]>([
    ['', undefined],
    ['0', undefined],
    ['0.', undefined],
    ['12', 1200n],
    ['12.', 1200n],
    ['12.5', 1250n],
    ['0.99', 99n],
    ['99999999', 9_999_999_900n],
  ])('%j is %s cents', (typed, cents) => {
    expect(typedCents(typed)).toBe(cents);
  });
});

describe('keypadData', () => {
  it('carries a key and never an amount', () => {
    expect(keypadData.encode({ key: 'dot' })).toBe('d1:dot');
    expect(keypadData.decode('d1:7')).toEqual({ key: '7' });
    expect(keypadData.decode('d1:12.50')).toBeUndefined();
    expect(keypadData.decode('d1:x')).toBeUndefined();
  });
});
