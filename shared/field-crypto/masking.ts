/**
 * What a person may be shown or a log may hold instead of a whole value: enough to recognise one's
 * own wallet (`0x12ab…9f3c`) or address (`a…@example.com`), not enough to use it.
 */
export function maskWallet(wallet: string): string {
  const value = wallet.trim();
  if (value.length <= 12) return `…${value.slice(-4)}`;
  return `${value.slice(0, 6)}…${value.slice(-4)}`;
}

export function maskEmail(email: string): string {
  const value = email.trim();
  const at = value.lastIndexOf('@');
  if (at <= 0) return '…';
  return `${value.slice(0, 1)}…${value.slice(at)}`;
}

/** An extra id (memo, destination tag) shows only its last characters. */
export function maskExtraId(extraId: string): string {
  const value = extraId.trim();
  return value.length <= 4 ? '…' : `…${value.slice(-3)}`;
}
