import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logging/index.js';
import { resetServices } from '../../shared/runtime/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { type LocalRuntime, startLocalRuntime } from '../../shared/testing/sandbox/local-runtime.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const EMAIL = 'new.owner@example.com';

/** The links in account mails, followed in a browser against `npm start`'s runtime. */
describe.skipIf(!hasChromium)(`account mail links in the sandbox${hasChromium ? '' : ` [skipped: needs ${CHROMIUM} (apt-get install chromium)]`}`, () => {
  let testDb: TestDatabase;
  let runtime: LocalRuntime;
  let dataDir: string;
  let browser: Browser;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-account-links-'));
    for (const name of ['NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'PUBLIC_BASE_URL', 'CHANGENOW_API_URL', 'ETH_RPC_URL', 'DASHBOARD_CORS_ORIGINS']) delete process.env[name];
    runtime = await startLocalRuntime({ port: 0, dataDir, db: testDb.db, backoffScale: 0, runScheduler: false, logger: createLogger({ write: () => undefined }) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    await testDb?.dispose();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    resetServices();
  });

  const api = (route: string, body: unknown) =>
    fetch(`${runtime.url}/dashboard-api/api/v1${route}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: runtime.url }, body: JSON.stringify(body) });

  /** The newest link to `page` mailed to EMAIL, waiting for the mail to go through the bus. */
  async function mailedLink(page: string): Promise<string> {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      await runtime.bus?.drain();
      const { mails } = (await (await fetch(`${runtime.url}/mail?to=${encodeURIComponent(EMAIL)}`)).json()) as { mails: { text: string }[] };
      for (const mail of mails) {
        const link = new RegExp(`https?://\\S+/${page}#token=[A-Za-z0-9_-]+`).exec(mail.text)?.[0];
        if (link) return link;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no ${page} link was mailed to ${EMAIL}`);
  }

  it('verifies the address, then resets the password, by following the mailed links', async () => {
    expect((await api('/auth/signup', { email: EMAIL, password: 'first-Password-4711' })).status).toBe(202);
    const page = await browser.newPage();
    await page.goto(await mailedLink('verify-email'));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => page.locator('#result').textContent(), { timeout: 30_000 }).toContain('verified');
    const { rows } = await testDb.db.query<{ email_verified_at: Date | null }>('SELECT email_verified_at FROM accounts WHERE lower(email) = $1', [EMAIL]);
    expect(rows[0]?.email_verified_at).toBeInstanceOf(Date);

    expect((await api('/auth/forgot-password', { email: EMAIL })).status).toBe(202);
    await page.goto(await mailedLink('reset-password'));
    await page.locator('#password').fill('second-Password-0815');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.locator('#result').textContent(), { timeout: 30_000 }).toContain('password is changed');
    expect((await api('/auth/login', { email: EMAIL, password: 'second-Password-0815' })).status).toBe(200);
    expect((await api('/auth/login', { email: EMAIL, password: 'first-Password-4711' })).status).toBe(401);

    // A link used once does nothing the second time, and says so.
    await page.reload();
    await page.locator('#password').fill('third-Password-1234');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.locator('#result').textContent(), { timeout: 30_000 }).not.toMatch(/Sending|password is changed/);
  }, 120_000);
});
