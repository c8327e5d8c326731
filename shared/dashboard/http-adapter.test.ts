import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientIpReader } from '../http-entry/index.js';
import { createLogger } from '../logging/index.js';
import { createDashboardHarness, type DashboardHarness } from '../testing/dashboard-api.js';
import { serveDashboardRequest } from './http-adapter.js';

const HOSTING_EDGE = '35.190.247.13';
const HOUR_MS = 3_600_000;

let h: DashboardHarness;

beforeAll(async () => {
  h = await createDashboardHarness();
});
afterAll(() => h?.dispose());

/** One verify-email guess as it reaches the function behind Firebase Hosting: `client, edge`. */
async function guessBehindHosting(client: string, hops: number): Promise<number> {
  const response = { statusCode: 0, setHeader: () => undefined, end: () => undefined };
  await serveDashboardRequest(
    h.router,
    {
      method: 'POST',
      url: '/api/v1/auth/verify-email',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `${client}, ${HOSTING_EDGE}` },
      rawBody: Buffer.from(JSON.stringify({ token: 'guess' })),
      socket: { remoteAddress: '169.254.1.1' },
    },
    response,
    { isBehindGoogleFrontEnd: true, clientIp: clientIpReader(hops, createLogger({ write: () => undefined })) },
  );
  return response.statusCode;
}

describe('serveDashboardRequest behind Firebase Hosting', () => {
  it('with TRUSTED_PROXY_HOPS=2, one client exhausting the per-IP limit leaves another untouched', async () => {
    h.clock.advance(2 * HOUR_MS);
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push(await guessBehindHosting('203.0.113.1', 2));
    expect(statuses.at(-1)).toBe(429);
    expect(await guessBehindHosting('203.0.113.2', 2)).not.toBe(429);
  });

  it('with one hop (the rule before), every client is the edge and shares its limit', async () => {
    h.clock.advance(2 * HOUR_MS);
    for (let i = 0; i < 31; i++) await guessBehindHosting('203.0.113.3', 1);
    expect(await guessBehindHosting('203.0.113.4', 1)).toBe(429);
  });
});
