import { describe, expect, it } from 'vitest';
import { passwordProblem } from './password-policy.js';
import { DEFAULT_SCRYPT_PARAMETERS, hashPassword, verifyAgainstDummyHash, verifyPassword } from './passwords.js';

const CHEAP = { ln: 4, r: 8, p: 1 };

describe('hashPassword', () => {
  it('writes a PHC string with its parameters, a 16-byte salt and a 32-byte hash', async () => {
    const phc = await hashPassword('correct horse battery', CHEAP);
    expect(phc).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await hashPassword('correct horse battery', CHEAP)).not.toBe(phc);
  });

  it('defaults to OWASP scrypt parameters (N=2^15, r=8, p=3)', async () => {
    expect(DEFAULT_SCRYPT_PARAMETERS).toEqual({ ln: 15, r: 8, p: 3 });
    expect(await hashPassword('correct horse battery')).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$/);
  });
});

describe('verifyPassword', () => {
  it('accepts the password and refuses any other', async () => {
    const phc = await hashPassword('correct horse battery', CHEAP);
    expect(await verifyPassword(phc, 'correct horse battery', CHEAP)).toEqual({ isValid: true, needsRehash: false });
    expect((await verifyPassword(phc, 'correct horse batterY', CHEAP)).isValid).toBe(false);
    expect((await verifyPassword(phc, '', CHEAP)).isValid).toBe(false);
  });

  it('asks for a rehash when the stored parameters differ from the current ones', async () => {
    const phc = await hashPassword('correct horse battery', CHEAP);
    expect(await verifyPassword(phc, 'correct horse battery', { ln: 5, r: 8, p: 1 })).toEqual({ isValid: true, needsRehash: true });
  });

  it('treats Unicode compatibility forms as the same password (NFKC)', async () => {
    const phc = await hashPassword('ｐａｓｓｐｈｒａｓｅ-ﬁne', CHEAP);
    expect((await verifyPassword(phc, 'passphrase-fine', CHEAP)).isValid).toBe(true);
  });

  it.each([
    ['another algorithm', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g'],
    ['absurd parameters', '$scrypt$ln=40,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA'],
    ['garbage', 'not a hash'],
  ])('never matches %s', async (_, phc) => {
    expect(await verifyPassword(phc, 'anything at all', CHEAP)).toEqual({ isValid: false, needsRehash: true });
  });
});

describe('verifyAgainstDummyHash', () => {
  it('always says no', async () => {
    expect(await verifyAgainstDummyHash('correct horse battery', CHEAP)).toBe(false);
  });
});

describe('passwordProblem', () => {
  it.each([
    ['a 10-character password', 'tenletters', undefined],
    ['a long passphrase', 'a sentence that is easy to remember', undefined],
    ['9 characters', 'ninechars', 'Use at least 10 characters'],
    ['129 characters', 'x'.repeat(129), 'Use at most 128 characters'],
    ['10 emoji (code points, not UTF-16 units)', '🔑'.repeat(10), undefined],
    ['a common password', 'qwertyuiop', 'This password is too common; choose another'],
    ['a common password in capitals', 'PASSWORD123', 'This password is too common; choose another'],
    ['the email address', 'owner.name@example.com', 'Do not use your email address as the password'],
    ['the local part of the address, any case', 'OWNER.NAME', 'Do not use your email address as the password'],
  ])('%s', (_, password, expected) => {
    expect(passwordProblem(password, 'Owner.Name@example.com')).toBe(expected);
  });
});
