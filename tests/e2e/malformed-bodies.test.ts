import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestGateway, type TestGateway } from './gateway-harness.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../shared/testing/sandbox/sandbox-providers.js';

const SECRET = 'correct horse battery staple 42';

/**
 * A body that is not JSON, sent as `application/json` to each public HTTP function: the Functions
 * Framework parses it before our code runs. Each must answer in its own JSON error, and nothing may
 * print the body (it can hold a password) to the logs.
 */
describe('malformed JSON bodies at the public HTTP functions', () => {
  let gateway: TestGateway;
  const printed: string[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway();
    for (const method of ['error', 'warn', 'log'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        printed.push(args.map((arg) => (arg instanceof Error ? `${arg.stack} ${JSON.stringify(arg)}` : String(arg))).join(' '));
      });
    }
  }, 120_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await gateway?.stop();
  });

  const post = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.runtime.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: gateway.runtime.url, ...headers },
      body: `{"email":"owner@example.com","password":"${SECRET}",`,
    });

  it.each([
    ['dashboard-api', '/dashboard-api/api/v1/auth/login', {}],
    ['nowpayments-ipn', '/nowpayments-ipn', { 'x-nowpayments-sig': 'f'.repeat(128) }],
    ['telegram-webhook', '/telegram-webhook', { 'x-telegram-bot-api-secret-token': process.env.TELEGRAM_WEBHOOK_SECRET ?? SANDBOX_WEBHOOK_SECRET }],
  ])('%s answers 400 in JSON and logs nothing of the body', async (_, path, headers) => {
    const response = await post(path, headers);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { error?: { code?: string } };
    expect(body.error?.code).toMatch(/^[a-z_]+$/);
    expect(printed.join('\n')).not.toContain(SECRET);
    expect(gateway.logLines.join('\n')).not.toContain(SECRET);
  });
});
