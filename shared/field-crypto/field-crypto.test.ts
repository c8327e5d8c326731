import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.js';
import { TEST_FIELD_BLIND_INDEX_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD, TEST_FIELD_ENCRYPTION_KEYS } from '../testing/field-keys.js';
import { ENCRYPTED_FIELD_PATTERN, fieldContext, keyIdOfField, loadFieldCipher, maskEmail } from './index.js';

const env = (keys: string, index = TEST_FIELD_BLIND_INDEX_KEY) => ({ FIELD_ENCRYPTION_KEYS: keys, FIELD_BLIND_INDEX_KEY: index });
const WALLET = '0x12aB34cD56eF78901234567890aBcDeF12349F3c';

describe('encrypt and decrypt', () => {
  const cipher = loadFieldCipher(env(TEST_FIELD_ENCRYPTION_KEYS));

  it('round-trips a value for its context, in the stored format, with a fresh ciphertext each time', () => {
    const first = cipher.encrypt(WALLET, fieldContext.payoutWallet('acc_1'));
    const second = cipher.encrypt(WALLET, fieldContext.payoutWallet('acc_1'));
    expect(first).toMatch(ENCRYPTED_FIELD_PATTERN);
    expect(first).not.toBe(second);
    expect(first).not.toContain(WALLET.slice(2, 12).toLowerCase());
    expect(cipher.decrypt(first, fieldContext.payoutWallet('acc_1'))).toBe(WALLET);
    expect(keyIdOfField(first)).toBe('test1');
  });

  it('refuses a value moved to another owner or purpose', () => {
    const stored = cipher.encrypt('owner@example.com', fieldContext.email('acc_1'));
    expect(() => cipher.decrypt(stored, fieldContext.email('acc_2'))).toThrow(expect.objectContaining({ code: 'field_decryption_failed' }));
    expect(() => cipher.decrypt(stored, fieldContext.newEmail('acc_1'))).toThrow(expect.objectContaining({ code: 'field_decryption_failed' }));
  });

  it('refuses a tampered value', () => {
    const stored = cipher.encrypt('owner@example.com', fieldContext.email('acc_1'));
    const parts = stored.split('.');
    const data = Buffer.from(parts[4] ?? '', 'base64url');
    data[0] = (data[0] ?? 0) ^ 1;
    parts[4] = data.toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'), fieldContext.email('acc_1'))).toThrow(expect.objectContaining({ code: 'field_decryption_failed' }));
    expect(() => cipher.decrypt('owner@example.com', fieldContext.email('acc_1'))).toThrow(expect.objectContaining({ code: 'field_decryption_failed' }));
  });

  it('encrypts an empty string', () => {
    expect(cipher.decrypt(cipher.encrypt('', 'x:1'), 'x:1')).toBe('');
  });
});

describe('key rotation', () => {
  const old = loadFieldCipher(env(TEST_FIELD_ENCRYPTION_KEY_OLD));
  const rotated = loadFieldCipher(env(`${TEST_FIELD_ENCRYPTION_KEYS},${TEST_FIELD_ENCRYPTION_KEY_OLD}`));
  const context = fieldContext.email('acc_9');

  it('decrypts values of an older listed key and seals new ones with the first', () => {
    const stored = old.encrypt('a@example.com', context);
    expect(rotated.decrypt(stored, context)).toBe('a@example.com');
    expect(keyIdOfField(rotated.encrypt('a@example.com', context))).toBe('test1');
  });

  it('re-wraps a value under the current key, keeping its ciphertext, and leaves current ones alone', () => {
    const stored = old.encrypt('a@example.com', context);
    const rewrapped = rotated.rewrap(stored, context);
    expect(keyIdOfField(rewrapped)).toBe('test1');
    expect(rewrapped.split('.').slice(3)).toEqual(stored.split('.').slice(3));
    expect(rotated.rewrap(rewrapped, context)).toBe(rewrapped);
    const current = loadFieldCipher(env(TEST_FIELD_ENCRYPTION_KEYS));
    expect(current.decrypt(rewrapped, context)).toBe('a@example.com');
    expect(() => current.decrypt(stored, context)).toThrow(expect.objectContaining({ code: 'field_key_unknown' }));
  });
});

describe('blind indexes', () => {
  const cipher = loadFieldCipher(env(TEST_FIELD_ENCRYPTION_KEYS));

  it('match emails whatever their case and spaces, and EVM addresses whatever their checksum', () => {
    expect(cipher.emailIndex(' Owner@Example.com')).toEqual(cipher.emailIndex('owner@example.com'));
    expect(cipher.walletIndex(WALLET)).toEqual(cipher.walletIndex(WALLET.toLowerCase()));
  });

  it('keep other addresses case-sensitive and purposes apart', () => {
    expect(cipher.walletIndex('TXyZabcdefghijklmnopqrstuvwxyz1234')).not.toEqual(cipher.walletIndex('txyzabcdefghijklmnopqrstuvwxyz1234'));
    expect(cipher.walletIndex('123456')).not.toEqual(cipher.extraIdIndex('123456'));
  });

  it('depend on the index key', () => {
    const other = loadFieldCipher(env(TEST_FIELD_ENCRYPTION_KEYS, 'ezDd+PKZzNxhVBlNpQdCg0DsC+UreXy4kl2djAgZ+K0='));
    expect(other.emailIndex('owner@example.com')).not.toEqual(cipher.emailIndex('owner@example.com'));
  });
});

describe('configuration', () => {
  it.each([
    ['a key of 16 bytes', 'k1:U8Lr7ThUcflWPmqcabFj2Q=='],
    ['a typed passphrase', `k1:${'j'.repeat(43)}=`],
    ['a repeated key id', `test1:Sx4WY49aEZvS6IlF/ovSy7OecA/ax4JHj/MVwkx4/UM=,test1:U8Lr7ThUcflWPmqcabFj2RYnGlrc0d/R5Qi1ogv6fK4=`],
    ['a key without an id', 'Sx4WY49aEZvS6IlF/ovSy7OecA/ax4JHj/MVwkx4/UM='],
    ['an upper-case key id', 'K1:Sx4WY49aEZvS6IlF/ovSy7OecA/ax4JHj/MVwkx4/UM='],
  ])('refuses %s and never prints it', (_, keys) => {
    let error: unknown;
    try {
      loadFieldCipher(env(keys));
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variables).toEqual(['FIELD_ENCRYPTION_KEYS']);
    expect((error as Error).message).not.toContain(keys.slice(3, 20));
  });

  it('requires both variables', () => {
    expect(() => loadFieldCipher({})).toThrow(/FIELD_ENCRYPTION_KEYS.*\n?.*FIELD_BLIND_INDEX_KEY|FIELD_BLIND_INDEX_KEY/s);
  });

  it('accepts hex keys', () => {
    const hex = 'k2:' + Buffer.from('Sx4WY49aEZvS6IlF/ovSy7OecA/ax4JHj/MVwkx4/UM=', 'base64').toString('hex');
    expect(loadFieldCipher(env(hex)).currentKid).toBe('k2');
  });
});

describe('maskEmail', () => {
  it('show enough to recognise and not enough to use', () => {
    expect(maskEmail('owner@example.com')).toBe('o…@example.com');
    expect(maskEmail('nobody')).toBe('…');
  });
});
