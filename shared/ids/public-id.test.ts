import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors/index.js';
import { PUBLIC_ID_PREFIXES, type PublicIdKind, formatPublicId, parsePublicId } from './index.js';

const KINDS = Object.keys(PUBLIC_ID_PREFIXES) as PublicIdKind[];
const UUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

function expectInvalidId(run: () => unknown): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PermanentError);
  expect((caught as PermanentError).code).toBe('invalid_id');
}

describe('formatPublicId', () => {
  it('writes the kind prefix and 22 base64url characters', () => {
    const id = formatPublicId('checkout', UUID);
    expect(id).toMatch(/^chk_[A-Za-z0-9_-]{22}$/);
    expect(id).toBe(`chk_${Buffer.from(UUID.replaceAll('-', ''), 'hex').toString('base64url')}`);
  });

  it('fits a Telegram deep-link payload for every kind', () => {
    for (const kind of KINDS) {
      const id = formatPublicId(kind, randomUUID());
      expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      expect(id.length).toBeLessThanOrEqual(27);
    }
  });

  it('gives one spelling per uuid whatever its case', () => {
    expect(formatPublicId('payment', UUID.toUpperCase())).toBe(formatPublicId('payment', UUID));
  });

  it('refuses something that is not a uuid', () => {
    expectInvalidId(() => formatPublicId('payment', 'not-a-uuid'));
    expectInvalidId(() => formatPublicId('payment', '00000000-0000-0000-0000-000000000000'));
    expectInvalidId(() => formatPublicId('nope' as PublicIdKind, UUID));
  });
});

describe('parsePublicId', () => {
  it('round-trips random uuids of every kind', () => {
    for (const kind of KINDS) {
      for (let i = 0; i < 50; i++) {
        const uuid = randomUUID();
        expect(parsePublicId(kind, formatPublicId(kind, uuid))).toBe(uuid);
      }
    }
  });

  it('refuses an id of another kind', () => {
    expectInvalidId(() => parsePublicId('payout', formatPublicId('payment', UUID)));
    expectInvalidId(() => parsePublicId('channel', formatPublicId('checkout', UUID)));
    expectInvalidId(() => parsePublicId('checkout', formatPublicId('channel', UUID)));
  });

  it.each([
    ['a truncated body', (id: string) => id.slice(0, -1)],
    ['an extra character', (id: string) => `${id}A`],
    ['base64 padding', (id: string) => `${id}==`],
    ['a character outside base64url', (id: string) => `${id.slice(0, -2)}+${id.slice(-1)}`],
    ['a non-canonical last character', (id: string) => `${id.slice(0, -1)}${id.endsWith('B') ? 'C' : 'B'}`],
    ['surrounding whitespace', (id: string) => ` ${id}`],
    ['an upper-case prefix', (id: string) => id.toUpperCase()],
    ['a missing separator', (id: string) => id.replace('_', '')],
  ])('refuses %s', (_name, tamper) => {
    const id = formatPublicId('payment', UUID);
    expectInvalidId(() => parsePublicId('payment', tamper(id)));
  });

  it('refuses a body that decodes to a non-RFC uuid', () => {
    const nil = `pay_${Buffer.alloc(16).toString('base64url')}`;
    expectInvalidId(() => parsePublicId('payment', nil));
  });

  it('throws only invalid_id on garbage input', () => {
    const garbage: unknown[] = [
      undefined, null, 42, 42n, {}, [], true, '', '_', 'pay_', 'pay', '💸💸💸', 'pay_💸💸💸💸💸💸💸💸💸💸💸',
      'x'.repeat(10_000), `pay_${'A'.repeat(22)}`, Symbol('id'),
    ];
    for (const value of garbage) expectInvalidId(() => parsePublicId('payment', value));
    expectInvalidId(() => parsePublicId('nope' as PublicIdKind, formatPublicId('payment', UUID)));
  });
});
