import { COMMON_PASSWORDS } from './common-passwords.js';

/** Length bounds in Unicode code points (after NFKC). The upper bound only stops abuse: long passphrases are welcome. */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

const common = new Set(COMMON_PASSWORDS);

/**
 * Why `password` may not be used, or `undefined` when it may (NIST SP 800-63B: length and a
 * blocklist, no composition rules). `email` is the account's address: the password must not be it.
 */
export function passwordProblem(password: string, email?: string): string | undefined {
  const text = password.normalize('NFKC');
  const length = [...text].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters`;
  const lower = text.toLowerCase();
  if (common.has(lower)) return 'This password is too common; choose another';
  if (email) {
    const address = email.trim().toLowerCase();
    const localPart = address.split('@')[0] ?? '';
    if (lower === address || (localPart.length >= 4 && lower === localPart)) return 'Do not use your email address as the password';
  }
  return undefined;
}
