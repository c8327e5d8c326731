/**
 * What a person may be shown or a log may hold instead of an address: `a…@example.com`, enough to
 * recognise one's own, not enough to write to it. (Wallets: `maskAddress` in shared/wallets.)
 */
export function maskEmail(email: string): string {
  const value = email.trim();
  const at = value.lastIndexOf('@');
  if (at <= 0) return '…';
  return `${value.slice(0, 1)}…${value.slice(at)}`;
}

/** `0x5aAe…eAed`: enough to tell addresses apart in a log or a notice, not enough to pay one. */
export function maskAddress(address: unknown): string {
  if (typeof address !== 'string') return `(${typeof address})`;
  const chars = [...address];
  if (chars.length <= 12) return `(${chars.length} characters)`;
  return `${chars.slice(0, 6).join('')}…${chars.slice(-4).join('')}`;
}
