/**
 * The refresh token travels only in this cookie: httpOnly (page scripts cannot read it, so an XSS
 * cannot steal it), Secure, SameSite=Strict (no cross-site request carries it) and scoped to the
 * session endpoints' path (it is not sent anywhere else). The `__Secure-` prefix makes browsers
 * refuse it unless it was set over https with Secure.
 */
export const REFRESH_COOKIE_NAME = '__Secure-pgp_refresh';

/** The session endpoints live under this path (after `/api/v1`). */
export const SESSION_PATH = '/auth/session';

function cookiePath(publicPathPrefix: string): string {
  return `${publicPathPrefix}/api/v1${SESSION_PATH}`;
}

export function refreshCookie(token: string, expiresAt: Date, now: Date, publicPathPrefix: string): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  return `${REFRESH_COOKIE_NAME}=${token}; Path=${cookiePath(publicPathPrefix)}; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Strict`;
}

export function clearedRefreshCookie(publicPathPrefix: string): string {
  return `${REFRESH_COOKIE_NAME}=; Path=${cookiePath(publicPathPrefix)}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

/**
 * The device cookie: the device token of the last account that logged in from this browser
 * (`shared/accounts/device-tokens.ts`), sent back to the auth endpoints only (login and
 * forgot-password read it), so the owner's own browser is recognised and never locked out by
 * strangers' failed logins. httpOnly, Secure, SameSite=Strict like the refresh cookie; it opens
 * nothing by itself (it only changes which failure counters a login uses).
 */
export const DEVICE_COOKIE_NAME = '__Secure-pgp_device';

/** Login, forgot-password and reset-password live under this path (after `/api/v1`). */
export const AUTH_PATH = '/auth';

export function deviceCookie(token: string, expiresAt: Date, now: Date, publicPathPrefix: string): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  return `${DEVICE_COOKIE_NAME}=${token}; Path=${publicPathPrefix}/api/v1${AUTH_PATH}; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Strict`;
}

/** `Cookie` header → name → value (first wins; values are not decoded: ours are base64url). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    if (!(name in cookies)) cookies[name] = part.slice(index + 1).trim();
  }
  return cookies;
}
