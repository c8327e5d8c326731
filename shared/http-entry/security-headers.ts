/**
 * Sent with every answer of every public function (the dashboard's, the IPN's, the webhook's, and
 * what the framework refuses before them): nothing here is cacheable, nothing may be framed, sniffed
 * or executed as a page, no URL leaks through a Referer, and browsers keep to HTTPS.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
};

/** Sets `SECURITY_HEADERS` on a response before anything is written. */
export function setSecurityHeaders(response: { setHeader(name: string, value: string): unknown }): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
}
