import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { clientIpOf, clientIpReader, trustedProxyHopsOf } from './client-ip.js';
import { createIpAllowlist } from './ip-allowlist.js';

const CLIENT = '203.0.113.7';
const HOSTING_EDGE = '35.190.247.13'; // Firebase Hosting's edge, as Google's front end sees it
const LOAD_BALANCER = '34.117.10.20'; // the external HTTPS load balancer's address
const FORGED = '198.51.100.66';

function request(forwardedFor: string | string[] | undefined, remoteAddress = '169.254.1.1') {
  return { headers: { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress } };
}

describe('clientIpOf, per deployment shape', () => {
  it.each([
    // Function URL called directly: Google's front end appends the client.
    { shape: 'function URL direct', hops: 1, forwardedFor: CLIENT, expected: CLIENT },
    { shape: 'function URL direct, forged leading entries', hops: 1, forwardedFor: `${FORGED}, 10.0.0.1, ${CLIENT}`, expected: CLIENT },
    { shape: 'function URL direct, IPv6 client', hops: 1, forwardedFor: '2001:db8::7', expected: '2001:db8::7' },
    // Firebase Hosting rewrite: Hosting's edge appends the client, Google's front end appends the edge.
    { shape: 'Firebase Hosting', hops: 2, forwardedFor: `${CLIENT}, ${HOSTING_EDGE}`, expected: CLIENT },
    { shape: 'Firebase Hosting, forged leading entries', hops: 2, forwardedFor: `${FORGED}, ${FORGED}, ${CLIENT}, ${HOSTING_EDGE}`, expected: CLIENT },
    { shape: 'Firebase Hosting, header split over two lines', hops: 2, forwardedFor: [FORGED, `${CLIENT},${HOSTING_EDGE}`], expected: CLIENT },
    { shape: 'Firebase Hosting with the old one-hop rule: everyone is the edge', hops: 1, forwardedFor: `${CLIENT}, ${HOSTING_EDGE}`, expected: HOSTING_EDGE },
    // External HTTPS load balancer with a serverless NEG: it appends the client, then its own address.
    { shape: 'load balancer', hops: 2, forwardedFor: `${CLIENT}, ${LOAD_BALANCER}`, expected: CLIENT },
    { shape: 'load balancer, forged leading entries', hops: 2, forwardedFor: `${FORGED},${CLIENT},${LOAD_BALANCER}`, expected: CLIENT },
    // Local runs: no proxy; the header is whatever the caller sent.
    { shape: 'local, header ignored', hops: 0, forwardedFor: FORGED, remote: '::ffff:127.0.0.1', expected: '127.0.0.1' },
    { shape: 'local, no header', hops: 0, forwardedFor: undefined, remote: '::1', expected: '::1' },
    // Fewer entries than hops: every entry was appended by a trusted proxy; the leftmost is the farthest known.
    { shape: 'too few entries (Hosting hops, direct call)', hops: 2, forwardedFor: CLIENT, expected: CLIENT },
    { shape: 'too few entries (5 hops, 2 entries)', hops: 5, forwardedFor: `${CLIENT}, ${LOAD_BALANCER}`, expected: CLIENT },
    { shape: 'hops but no header: the socket address', hops: 1, forwardedFor: undefined, remote: '10.1.2.3', expected: '10.1.2.3' },
    { shape: 'hops but an empty header: the socket address', hops: 2, forwardedFor: ' , ', remote: '10.1.2.3', expected: '10.1.2.3' },
  ])('$shape → $expected', ({ hops, forwardedFor, remote, expected }) => {
    expect(clientIpOf(request(forwardedFor, remote), hops)).toBe(expected);
  });

  it('tells the caller when the header has fewer entries than hops, and only then', () => {
    const found: number[] = [];
    clientIpOf(request(`${CLIENT}, ${HOSTING_EDGE}`), 2, (count) => found.push(count));
    clientIpOf(request(CLIENT), 2, (count) => found.push(count));
    clientIpOf(request(undefined), 2, (count) => found.push(count));
    expect(found).toEqual([1]);
  });
});

describe('clientIpReader', () => {
  it('warns once per instance that TRUSTED_PROXY_HOPS exceeds the X-Forwarded-For entries', () => {
    const lines: string[] = [];
    const clientIp = clientIpReader(2, createLogger({ write: (line) => lines.push(line) }));
    expect(clientIp(request(CLIENT))).toBe(CLIENT);
    expect(clientIp(request('192.0.2.1'))).toBe('192.0.2.1');
    expect(clientIp(request(`${CLIENT}, ${HOSTING_EDGE}`))).toBe(CLIENT);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ severity: 'WARNING', trustedProxyHops: 2, forwardedForEntries: 1 });
  });
});

describe('trustedProxyHopsOf', () => {
  it.each([
    { config: {}, expected: 0 },
    { config: { K_SERVICE: 'dashboard-api' }, expected: 1 },
    { config: { K_SERVICE: 'dashboard-api', TRUSTED_PROXY_HOPS: 2 }, expected: 2 },
    { config: { K_SERVICE: 'dashboard-api', TRUSTED_PROXY_HOPS: 0 }, expected: 0 },
    { config: { TRUSTED_PROXY_HOPS: 1 }, expected: 1 },
  ])('$config → $expected', ({ config, expected }) => {
    expect(trustedProxyHopsOf(config)).toBe(expected);
  });
});

describe('the IPN allowlist behind Firebase Hosting', () => {
  const NOWPAYMENTS = '52.29.216.31';
  const isAllowedIp = createIpAllowlist([NOWPAYMENTS]);

  it('lets NowPayments in and keeps out a caller who forges its address in front', () => {
    expect(isAllowedIp(clientIpOf(request(`${NOWPAYMENTS}, ${HOSTING_EDGE}`), 2))).toBe(true);
    expect(isAllowedIp(clientIpOf(request(`${NOWPAYMENTS}, ${CLIENT}, ${HOSTING_EDGE}`), 2))).toBe(false);
    expect(isAllowedIp(clientIpOf(request(`${NOWPAYMENTS}, ${FORGED}, ${HOSTING_EDGE}`), 2))).toBe(false);
  });
});
