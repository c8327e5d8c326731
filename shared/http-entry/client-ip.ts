import { type Logger, logger as rootLogger } from '../logging/index.js';

/** What `clientIpOf` reads of a Functions Framework (Express) or Node request. */
export interface ClientIpRequest {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
}

/** Most trusted proxy hops `TRUSTED_PROXY_HOPS` accepts (the longest chain we deploy behind is 2). */
export const MAX_TRUSTED_PROXY_HOPS = 5;

/**
 * The number of trusted proxy hops: `TRUSTED_PROXY_HOPS` when set; otherwise 1 on Cloud Run
 * (`K_SERVICE` is set; Google's front end appends the client) and 0 elsewhere (the socket address).
 * Per deployment shape (docs/deploy.md): the function URL called directly = 1; behind a Firebase
 * Hosting rewrite = 2; behind an external HTTPS load balancer with a serverless NEG = 2.
 */
export function trustedProxyHopsOf(config: { TRUSTED_PROXY_HOPS?: number; K_SERVICE?: string }): number {
  return config.TRUSTED_PROXY_HOPS ?? (config.K_SERVICE ? 1 : 0);
}

function normalized(address: string | undefined): string | undefined {
  return address?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

/**
 * The caller's address, given how many proxies in front of us append to `X-Forwarded-For` and can be
 * trusted to (`trustedProxyHops`). Each trusted proxy appends the address it was connected from, so
 * the client is the entry `trustedProxyHops` places from the right; entries left of it are whatever
 * the client sent and can be forged. With 0 hops the header is ignored and the socket's peer is the
 * client (local runs).
 *
 * When the header has fewer entries than hops (a trusted proxy is missing: the hop count is set too
 * high, or the request did not come the configured way), every entry present was appended by a proxy
 * we trust, so the leftmost one is the farthest address known and is returned; `onTooFewEntries` is
 * told (the caller logs the misconfiguration). With no header at all, the socket address.
 */
export function clientIpOf(request: ClientIpRequest, trustedProxyHops: number, onTooFewEntries?: (found: number) => void): string | undefined {
  if (trustedProxyHops > 0) {
    const forwarded = request.headers['x-forwarded-for'];
    const text = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
    const entries = (text ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
    if (entries.length >= trustedProxyHops) return normalized(entries[entries.length - trustedProxyHops]);
    if (entries.length > 0) {
      onTooFewEntries?.(entries.length);
      return normalized(entries[0]);
    }
  }
  return normalized(request.socket?.remoteAddress);
}

/** Reads the client IP of a request (see `clientIpOf`). */
export type ClientIpReader = (request: ClientIpRequest) => string | undefined;

/**
 * A `clientIpOf` for one function instance: it warns once (per instance) when `X-Forwarded-For` has
 * fewer entries than `trustedProxyHops`, which means `TRUSTED_PROXY_HOPS` does not match the
 * deployment (or someone calls the function URL directly, bypassing the proxy in front).
 */
export function clientIpReader(trustedProxyHops: number, logger: Logger = rootLogger): ClientIpReader {
  let warned = false;
  const onTooFewEntries = (found: number) => {
    if (warned) return;
    warned = true;
    logger.warn('http.trusted_proxy_hops_exceed_forwarded_for', {
      trustedProxyHops,
      forwardedForEntries: found,
      hint: 'TRUSTED_PROXY_HOPS is higher than the X-Forwarded-For entries of this request; using its leftmost entry (see docs/deploy.md)',
    });
  };
  return (request) => clientIpOf(request, trustedProxyHops, onTooFewEntries);
}
