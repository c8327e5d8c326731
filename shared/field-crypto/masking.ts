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
