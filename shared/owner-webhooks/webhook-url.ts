import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * The SSRF guard for owner webhook URLs. An owner names a URL and we POST to it from inside our
 * network, so it must never reach our own services, the metadata server or anything private:
 *
 * - at registration (`checkWebhookUrl`): https only, no user:password, no fragment, and a host that
 *   is not an IP literal in a private, loopback, link-local, ULA, CGNAT, multicast, reserved or
 *   documentation range (nor `localhost`);
 * - at every delivery (`resolveWebhookTarget`): the host is resolved, the POST is refused if ANY
 *   resolved address is in those ranges, and the connection goes to the address checked (pinned),
 *   so a DNS answer that changes between the check and the connect (rebinding) cannot swap it.
 *
 * `allowLoopback` (tests only, never set by a deployed function) additionally accepts loopback
 * addresses, over http:// too, so a receiver on 127.0.0.1 can be used.
 */

const refusedRanges = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, the metadata server 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  refusedRanges.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // ULA (fd00:ec2::254, the EC2 metadata server, included)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  refusedRanges.addSubnet(network, prefix, 'ipv6');
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), -compatible or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^(?:::ffff:|::|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!match) return undefined;
  if (match[1]) return match[1];
  const high = Number.parseInt(match[2] ?? '0', 16);
  const low = Number.parseInt(match[3] ?? '0', 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Whether a webhook may be sent to this IP address (v4 or v6, as text). Anything unparsable is refused. */
export function isPublicAddress(address: string, options: { allowLoopback?: boolean } = {}): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (options.allowLoopback && loopback.check(address, type)) return true;
  if (family === 6) {
    const inner = embeddedIpv4(address.toLowerCase());
    if (inner !== undefined) return isPublicAddress(inner, options);
  }
  return !refusedRanges.check(address, type);
}

export interface WebhookUrlSettings {
  /** Tests and the sandbox only: accept http:// and loopback addresses (a local receiver). */
  allowLoopback?: boolean;
}

/** Why a URL is refused, for the owner (the `url` field error), or undefined when it may be registered. */
export function webhookUrlProblem(text: string, settings: WebhookUrlSettings = {}): string | undefined {
  if (text.length > 2048) return 'must be at most 2048 characters';
  if (!URL.canParse(text)) return 'must be an absolute URL, e.g. https://example.com/webhooks/paygate';
  const url = new URL(text);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const isLoopbackHost = isIP(host) !== 0 && loopback.check(host, isIP(host) === 4 ? 'ipv4' : 'ipv6');
  if (url.protocol !== 'https:' && !(settings.allowLoopback && url.protocol === 'http:' && isLoopbackHost)) return 'must start with https://';
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  if (url.hash !== '') return 'must not contain a #fragment';
  if (isIP(host) !== 0) {
    if (!isPublicAddress(host, settings)) return 'must not point to a private, loopback, link-local or reserved address';
  } else if (!settings.allowLoopback && (host === 'localhost' || host.endsWith('.localhost') || !host.includes('.'))) {
    return 'must name a public host (not localhost or a single-label name)';
  }
  return undefined;
}

/** Resolves a host name to its addresses (all of them, v4 and v6). Injected in tests. */
export type HostResolver = (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));

/** Where to connect for one delivery: the URL and the one address checked, which the connection is pinned to. */
export interface WebhookTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

export type TargetRefusal = { refused: 'dns' | 'refused_address'; detail: string };

/**
 * Resolves the URL's host and picks the address to connect to, or says why not: the URL is no longer
 * acceptable, the name does not resolve, or one of its addresses is private (all must be public: a
 * name that also resolves to an internal address is refused rather than tried address by address).
 */
export async function resolveWebhookTarget(text: string, resolver: HostResolver, settings: WebhookUrlSettings = {}): Promise<WebhookTarget | TargetRefusal> {
  const problem = webhookUrlProblem(text, settings);
  if (problem) return { refused: 'refused_address', detail: `url ${problem}` };
  const url = new URL(text);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  let addresses: { address: string; family: 4 | 6 }[];
  if (family !== 0) addresses = [{ address: host, family: family === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await resolver(host);
    } catch (error) {
      return { refused: 'dns', detail: `the host did not resolve (${(error as { code?: unknown }).code ?? 'error'})` };
    }
  }
  if (addresses.length === 0) return { refused: 'dns', detail: 'the host has no address' };
  const refused = addresses.find((entry) => !isPublicAddress(entry.address, settings));
  if (refused) return { refused: 'refused_address', detail: 'the host resolves to a private, loopback, link-local or reserved address' };
  const [first] = addresses as [{ address: string; family: 4 | 6 }];
  return { url, address: first.address, family: first.family };
}
