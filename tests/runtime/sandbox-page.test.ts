import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logging/index.js';
import { resetServices } from '../../shared/runtime/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { type LocalRuntime, startLocalRuntime } from '../../shared/testing/sandbox/local-runtime.js';

/** Debian's package (`apt-get install chromium`); .ci/run installs it when it can. */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

describe.skipIf(!hasChromium)(`sandbox page in a browser${hasChromium ? '' : ` [skipped: needs ${CHROMIUM} (apt-get install chromium)]`}`, () => {
  let testDb: TestDatabase;
  let runtime: LocalRuntime;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-sandbox-page-'));
    for (const name of ['NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'PUBLIC_BASE_URL', 'CHANGENOW_API_URL', 'ETH_RPC_URL']) delete process.env[name];
    runtime = await startLocalRuntime({
      port: 0,
      dataDir,
      db: testDb.db,
      seedDemo: true,
      backoffScale: 0,
      runScheduler: false,
      logger: createLogger({ write: () => undefined }),
    });
    // Containers run as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    await testDb?.dispose();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    resetServices();
  });

  it('clicks through a purchase: tier, Pay, the invoice, the invite, the join, and sees the payout complete', async () => {
    await page.goto(`${runtime.url}/sandbox`);
    await page.getByRole('button', { name: /^Open Demo Premium/ }).click();

    const chat = page.locator('#chat');
    await chat.getByRole('button', { name: /^Tier 1 · 30 days · \$9\.99/ }).click();
    await chat.getByRole('button', { name: /Pay \$9\.99/ }).click();

    const invoice = page.frameLocator('#invoice-frame');
    await invoice.getByRole('button', { name: 'Pay in full' }).click();
    await invoice.getByText('finished').first().waitFor({ timeout: 30_000 });

    await chat.getByRole('button', { name: /Join the channel/ }).last().click({ timeout: 30_000 });
    await chat.getByText('You joined the channel.').waitFor({ timeout: 30_000 });

    const payment = page.getByTestId('payment').first();
    await expect.poll(() => payment.getByTestId('subscription').textContent(), { timeout: 30_000 }).toContain('active');
    await expect.poll(() => payment.getByTestId('tx-hash').textContent(), { timeout: 30_000 }).toMatch(/^0x[0-9a-f]{64}$/);
    // track-payouts runs every minute in `npm start` (not at all here): the page's button runs it now.
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Run track-payouts now' }).click();
          await page.waitForTimeout(1_000);
          return payment.getByTestId('payout-state').textContent();
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe('completed');

    await expect.poll(() => page.locator('#chain').textContent(), { timeout: 10_000 }).toContain('confirmed');
    await expect.poll(() => page.getByTestId('owner-message').filter({ hasText: 'New subscription to Demo Premium' }).count(), { timeout: 10_000 }).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it("shows the public channels' tier posts, whose buttons open the bot on that tier's checkout", async () => {
    await page.goto(`${runtime.url}/sandbox`);
    await page.getByRole('button', { name: 'Post them now' }).click();
    const club = page.getByTestId('channel-post').filter({ hasText: 'Demo Club (public channel)' });
    await club.waitFor({ timeout: 30_000 });
    await club.getByRole('button', { name: /^🥈/ }).click();
    await page.locator('#chat').getByRole('button', { name: /Pay \$/ }).last().waitFor({ timeout: 30_000 });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
