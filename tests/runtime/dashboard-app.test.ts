import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logging/index.js';
import { resetServices } from '../../shared/runtime/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { createSandboxClient } from '../../shared/testing/sandbox/sandbox-client.js';
import { playPurchase } from '../../shared/testing/sandbox/sandbox-purchase.js';
import { DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, seedDemo } from '../../shared/testing/sandbox/demo-seed.js';
import { type LocalRuntime, startLocalRuntime } from '../../shared/testing/sandbox/local-runtime.js';
import { webAppStaleness } from '../../scripts/web-build.js';

/** Debian's package (`apt-get install chromium`); .ci/run installs it when it can. */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) process.stdout.write(`dashboard app browser test skipped: ${CHROMIUM} is missing (apt-get install chromium)\n`);

const EMAIL = 'new.owner@example.com';
const PASSWORD = 'first-Password-4711';
const OWNER_TELEGRAM_ID = 2000;
const SUBSCRIBER_TELEGRAM_ID = 1001;
const OPEN_CHAT = -1001000000021;
const CLOSED_CHAT = -1001000000022;
/** Screenshots of the main pages for docs/dashboard.md, when this names a folder. */
const SCREENSHOTS = process.env.PGP_DASHBOARD_SCREENSHOTS;

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * An owner's first visit, in Debian's Chromium against the local runtime as `npm start` runs it (the
 * app of web/dist at `/`, the API at `/api/v1` on the same origin): sign up, the mailed link,
 * log in (a wrong password first), link Telegram through the simulator, register a channel (refused
 * first for the bot's missing right), its subscribe links and QR code, a reload that keeps the
 * session through the refresh cookie, a subscriber's payment (the sandbox CLI's journey) in the
 * earnings, its CSV and the payout with its transaction link, and a password reset by mail. Every page is scanned
 * with axe-core, and any CSP violation fails the test.
 */
describe.skipIf(!hasChromium)(`dashboard app in a browser${hasChromium ? '' : ` [skipped: needs ${CHROMIUM} (apt-get install chromium)]`}`, () => {
  let testDb: TestDatabase;
  let runtime: LocalRuntime;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    // The app as npm start serves it (tests/web-app-build.ts built it before the run if a source had changed).
    expect(await webAppStaleness()).toBeUndefined();
    testDb = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-dashboard-app-'));
    for (const name of ['NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'PUBLIC_BASE_URL', 'CHANGENOW_API_URL', 'ETH_RPC_URL', 'DASHBOARD_CORS_ORIGINS']) delete process.env[name];
    runtime = await startLocalRuntime({ port: 0, dataDir, db: testDb.db, backoffScale: 0, runScheduler: false, logger: createLogger({ write: () => undefined }) });
    // Containers run as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/.test(message.text())) problems.push(`CSP: ${message.text()}`);
    });
    if (SCREENSHOTS) await mkdir(SCREENSHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    await testDb?.dispose();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    resetServices();
  });

  /** The newest link to `linkPage` mailed to EMAIL, waiting for the mail to go through the bus. */
  async function mailedLink(linkPage: string, after = 0, to = EMAIL): Promise<string> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      await runtime.bus?.drain();
      const { mails } = (await (await fetch(`${runtime.url}/mail?to=${encodeURIComponent(to)}`)).json()) as { mails: { text: string; sentAt: string }[] };
      for (const mail of mails) {
        if (Date.parse(mail.sentAt) < after) continue;
        const link = new RegExp(`https?://\\S+/${linkPage}#token=[A-Za-z0-9_-]+`).exec(mail.text)?.[0];
        if (link) return link;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no ${linkPage} link was mailed to ${to}`);
  }

  /** axe-core on the page as it is: no serious or critical violation. (Evaluated, not injected: the CSP allows no inline script.) */
  async function expectAccessible(name: string) {
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run();
      return result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    });
    expect(violations, `accessibility of ${name}`).toEqual([]);
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  it('takes a new owner from sign-up to a registered channel with its subscribe links', async () => {
    await page.goto(`${runtime.url}/`);
    await page.waitForURL(/\/login$/);
    await page.getByRole('link', { name: 'Sign up' }).click();
    await expectAccessible('sign-up');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();

    // The mailed link opens the app's page, which verifies at once and drops the token from the address bar.
    await page.goto(await mailedLink('verify-email'));
    await page.getByText('Your address is verified.').waitFor();
    expect(page.url()).not.toContain('token=');
    await expectAccessible('verify-email');
    await page.getByRole('link', { name: 'Log in' }).click();

    // A wrong password is an error on the page, not a reload (legacy W12).
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('not-the-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/login');
    await expectAccessible('log-in');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL(/\/telegram$/);

    // Linking: the code goes to the bot (here the simulator plays the owner sending it).
    await page.getByRole('button', { name: 'Get a link code' }).click();
    const command = (await page.getByTestId('link-command').textContent()) ?? '';
    expect(command).toMatch(/^\/start link_/);
    expect(await page.getByRole('link', { name: 'Open the bot in Telegram' }).getAttribute('href')).toMatch(/^https:\/\/t\.me\/\w+\?start=link_/);
    await expectAccessible('telegram');
    const telegram = runtime.simulators.telegram!;
    telegram.addUser({ id: OWNER_TELEGRAM_ID, first_name: 'New owner', username: 'new_owner' });
    await telegram.sendText(OWNER_TELEGRAM_ID, command);
    await page.getByText(/Linked to Telegram user @new_owner/).waitFor({ timeout: 30_000 });

    // The chats, administered by the owner; the bot an administrator without "Invite users via link" in the closed one.
    for (const [id, title] of [
      [OPEN_CHAT, 'Market notes'],
      [CLOSED_CHAT, 'Market notes (members)'],
    ] as const) {
      telegram.addChat({ id, type: 'channel', title });
      telegram.addMember(id, OWNER_TELEGRAM_ID, 'creator');
    }
    telegram.setBotMembership(OPEN_CHAT, 'administrator');
    telegram.setBotMembership(CLOSED_CHAT, 'administrator', { can_invite_users: false });
    await telegram.flush();

    await page.getByRole('link', { name: 'Register a channel' }).click();
    await page.getByLabel('Open channel: chat id').fill(String(OPEN_CHAT));
    await page.getByLabel('Open channel: title').fill('Market notes');
    await page.getByLabel('Closed chat: chat id').fill(String(CLOSED_CHAT));
    await page.getByLabel('Closed chat: title').fill('Market notes (members)');
    await page.getByLabel('Tier 1: price (USD)').fill('9.99');
    await page.getByRole('button', { name: 'Add a tier' }).click();
    await page.getByLabel('Tier 2: price (USD)').fill('24.99');
    await page.getByLabel('Tier 2: days of access').fill('90');
    await page.getByLabel('Network').selectOption('ETH');
    await page.getByLabel('Currency').selectOption('ETH');
    // Live check with the server's validator: a lower-cased address is valid and will be stored checksummed.
    await page.getByLabel('Wallet address').fill('0x70997970c51812dc3a010c7d01b50e0d17dc79c8');
    await page.getByText('A valid Ethereum address; it will be saved as 0x70997970C51812dc3A010C7d01b50e0d17dc79C8.').waitFor();
    await page.getByLabel('Your account password').fill(PASSWORD);
    await expectAccessible('register-channel');
    await page.getByRole('button', { name: 'Register the channel' }).click();
    // Telegram's refusal names the missing right and the chat, beside the closed chat's id.
    const refusal = page.getByRole('alert').filter({ hasText: 'Telegram says the bot cannot run this channel yet' });
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.textContent()).toContain('Invite users via link');
    expect(await page.getByLabel('Closed chat: chat id').getAttribute('aria-invalid')).toBe('true');

    telegram.setBotMembership(CLOSED_CHAT, 'administrator');
    await telegram.flush();
    await page.getByRole('button', { name: 'Register the channel' }).click();
    await page.getByText('The channel is registered.').waitFor({ timeout: 30_000 });
    const channelId = /\/channels\/(ch_[\w-]+)/.exec(page.url())?.[1];
    expect(channelId).toBeDefined();
    const link = (await page.getByTestId('subscribe-link').textContent()) ?? '';
    expect(link).toMatch(new RegExp(`^https://t\\.me/\\w+\\?start=c_${channelId}`));
    const qr = page.getByRole('img', { name: /QR code of the channel/ });
    await expect.poll(() => qr.evaluate((image) => (image as unknown as { complete: boolean; naturalWidth: number }).complete && (image as unknown as { naturalWidth: number }).naturalWidth > 0), { timeout: 15_000 }).toBe(true);
    expect(await qr.getAttribute('src')).toMatch(/^blob:/);
    await page.getByLabel('QR code for').selectOption('2');
    await expect.poll(() => page.getByRole('img', { name: /QR code of tier 2/ }).count()).toBe(1);
    // The tier post as the broadcaster composes it: the titles, one button per tier opening the bot on that tier.
    const preview = page.getByTestId('tier-post-preview');
    await preview.getByText('Choose a tier below', { exact: false }).waitFor();
    expect(await preview.locator('strong').first().textContent()).toBe('Market notes');
    const tierButtons = preview.getByRole('link', { name: /\$\d+\.\d\d for/ });
    expect(await tierButtons.allTextContents()).toEqual(['🥇 $9.99 for 30 days', '🥈 $24.99 for 90 days']);
    expect(await tierButtons.first().getAttribute('href')).toMatch(new RegExp(`^https://t\\.me/\\w+\\?start=`));
    await expectAccessible('channel');

    // A reload keeps the session: the app asks the refresh cookie (httpOnly, its path only) for a new access token.
    await page.getByRole('link', { name: 'Channels', exact: true }).click();
    await page.getByRole('heading', { name: 'Market notes' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Market notes' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/channels');
    await expect.poll(() => page.getByTestId('active-subscribers').textContent()).toBe('0');
    expect(await page.getByTestId('revenue-30-days').textContent()).toBe('$0.00');
    const cookies = await page.context().cookies();
    // The refresh token, and the device cookie that keeps strangers' failed logins from locking this browser out.
    expect(cookies.map((cookie) => ({ name: cookie.name, path: cookie.path, httpOnly: cookie.httpOnly })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: '__Secure-pgp_device', path: '/api/v1/auth', httpOnly: true },
      { name: '__Secure-pgp_refresh', path: '/api/v1/auth/session', httpOnly: true },
    ]);
    // Page scripts see no token anywhere: not in storage, not in a readable cookie.
    expect(await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')).toEqual([0, 0, '']);
    await expectAccessible('channels');

    // A subscriber pays (the sandbox CLI's journey, over HTTP): the payment and its instant payout show up.
    telegram.addUser({ id: SUBSCRIBER_TELEGRAM_ID, first_name: 'Alice', username: 'alice' });
    const purchase = await playPurchase(createSandboxClient(runtime.url), { channel: channelId!, tier: 1, userId: SUBSCRIBER_TELEGRAM_ID, stepTimeoutMs: 60_000 }, () => undefined);
    expect(purchase.outcome).toBe('payout_completed');
    // The channels list counts the new subscriber and the revenue.
    await page.reload();
    await expect.poll(() => page.getByTestId('active-subscribers').textContent(), { timeout: 15_000 }).toBe('1');
    expect(await page.getByTestId('revenue-30-days').textContent()).toBe('$9.99');
    await page.getByRole('link', { name: 'Earnings' }).click();
    // The revenue chart draws the payment, and its table holds the exact figure.
    await expect.poll(() => page.getByTestId('revenue-total').textContent(), { timeout: 15_000 }).toBe('$9.99');
    expect(await page.getByTestId('revenue-chart').locator('canvas').count()).toBe(1);
    await page.getByText('The figures as a table').click();
    expect(await page.getByRole('table', { name: 'Revenue per period' }).getByRole('row', { name: /\$9\.99/ }).count()).toBe(1);
    const paymentRow = page.getByRole('table', { name: 'Payments, newest first' }).getByRole('row', { name: /@alice/ });
    await paymentRow.waitFor();
    expect(await paymentRow.textContent()).toMatch(/Market notes.*\$9\.99.*finished/);
    await expectAccessible('earnings');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download CSV' }).click();
    const csv = readFileSync((await (await download).path())!, 'utf8').trim().split('\r\n');
    expect(csv).toHaveLength(2);
    expect(csv[1]).toContain(purchase.payment.id);
    await page.getByRole('link', { name: 'Payouts' }).click();
    const payoutCard = page.getByTestId('payout').first();
    await payoutCard.waitFor();
    expect(await payoutCard.locator('.badge').textContent()).toBe('completed');
    expect(await payoutCard.getByTestId('tx-link').first().getAttribute('href')).toMatch(/^https:\/\/etherscan\.io\/tx\/0x[0-9a-f]{64}$/);
    await payoutCard.getByText('Breakdown', { exact: true }).click();
    expect(await payoutCard.getByRole('row', { name: /^Net / }).textContent()).toMatch(/\d ETH$/);
    await expectAccessible('payouts');

    // Mobile width: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.setViewportSize({ width: 1100, height: 900 });

    // Deleting the channel takes the password and its title typed out; its earnings stay.
    await page.goto(`${runtime.url}/channels/${channelId}`);
    await page.getByRole('button', { name: 'Delete the channel' }).click();
    expect(await page.getByLabel('Type Market notes to confirm').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Your password, to delete the channel').fill('not the password');
    await page.getByLabel('Type Market notes to confirm').fill('Market notes');
    await page.getByRole('button', { name: 'Delete the channel' }).click();
    await expect.poll(() => page.getByLabel('Your password, to delete the channel').getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    await page.getByLabel('Your password, to delete the channel').fill(PASSWORD);
    await page.getByRole('button', { name: 'Delete the channel' }).click();
    await page.getByText('The channel is deleted.').waitFor({ timeout: 15_000 });
    expect(await page.getByRole('heading', { name: 'Market notes' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Earnings' }).click();
    await page.getByRole('table', { name: 'Payments, newest first' }).getByRole('row', { name: /@alice/ }).waitFor();

    // Logging out ends the session on the server too: a protected page sends back to log in, remembering it.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/);
    await page.goto(`${runtime.url}/channels/${channelId}/edit`);
    await page.waitForURL(new RegExp(`/login\\?next=%2Fchannels%2F${channelId}%2Fedit$`));
    expect(problems).toEqual([]);
  }, 240_000);

  it('resets a forgotten password by the mailed link', async () => {
    await page.goto(`${runtime.url}/login`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    const before = Date.now();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByText(/we sent it a link to choose a new password/).waitFor();
    await page.goto(await mailedLink('reset-password', before - 1_000));
    await page.getByLabel('New password', { exact: true }).fill('second-Password-0815');
    await page.getByLabel('Repeat the new password').fill('second-Password-0815');
    await expectAccessible('reset-password');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByText('Your password is changed. Log in with the new one.').waitFor({ timeout: 30_000 });
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('second-Password-0815');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/channels$/);
    expect(problems).toEqual([]);
  }, 120_000);

  /** Presses Tab until the focused control is the one labelled `name` (a label, else its own text), then stops. */
  async function tabTo(name: string) {
    for (let presses = 0; presses < 80; presses += 1) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(`(() => {
        const element = document.activeElement;
        if (!element) return '';
        const label = element.id ? document.querySelector('label[for="' + element.id + '"]') : null;
        return (label ? label.textContent : element.getAttribute('aria-label') || element.textContent || '').trim();
      })()`);
      if (focused === name) return;
    }
    throw new Error(`Tab never reached "${name}"`);
  }

  it('completes sign-up and a channel registration with the keyboard alone', async () => {
    await page.context().clearCookies(); // no session left from the test before
    await page.goto(`${runtime.url}/signup`);
    await tabTo('Email');
    await page.keyboard.type('keys.owner@example.com');
    await tabTo('Password');
    await page.keyboard.type('a long keyboard passphrase');
    await tabTo('Repeat the password');
    await page.keyboard.type('a long keyboard passphrase');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();

    // The first owner (linked to Telegram), with the password the previous test set.
    await page.goto(`${runtime.url}/login?next=%2Fchannels%2Fnew`);
    await tabTo('Email');
    await page.keyboard.type(EMAIL);
    await tabTo('Password');
    await page.keyboard.type('second-Password-0815');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/channels\/new$/);
    const telegram = runtime.simulators.telegram!;
    for (const id of [-1001000000031, -1001000000032]) {
      telegram.addChat({ id, type: 'channel', title: `Keys ${id}` });
      telegram.addMember(id, OWNER_TELEGRAM_ID, 'creator');
      telegram.setBotMembership(id, 'administrator');
    }
    await telegram.flush();
    const typeInto = async (label: string, text: string) => {
      await tabTo(label);
      await page.keyboard.type(text);
    };
    await typeInto('Open channel: chat id', '-1001000000031');
    await typeInto('Open channel: title', 'Keys news');
    await typeInto('Closed chat: chat id', '-1001000000032');
    await typeInto('Closed chat: title', 'Keys members');
    await typeInto('Tier 1: price (USD)', '5');
    await typeInto('Network', 'Eth'); // a closed select takes typed letters
    await typeInto('Currency', 'Eth');
    await typeInto('Wallet address', '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
    await typeInto('Your account password', 'second-Password-0815');
    await tabTo('Register the channel');
    await page.keyboard.press('Enter');
    await page.getByText('The channel is registered.').waitFor({ timeout: 30_000 });
    await page.getByRole('heading', { name: 'Keys news' }).waitFor();
    expect(problems).toEqual([]);
  }, 120_000);

  it('confirms an email change by the link mailed to the new address', async () => {
    // The change is asked for over the API (the settings page's form has its own unit test).
    const api = (route: string, init: { method: string; body?: unknown; token?: string }) =>
      fetch(`${runtime.url}/api/v1${route}`, {
        method: init.method,
        headers: { 'content-type': 'application/json', origin: runtime.url, ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    const { accessToken } = (await (await api('/auth/login', { method: 'POST', body: { email: EMAIL, password: 'second-Password-0815' } })).json()) as { accessToken: string };
    const before = Date.now();
    expect((await api('/me/email', { method: 'POST', token: accessToken, body: { newEmail: 'moved.owner@example.com', password: 'second-Password-0815' } })).status).toBe(202);
    const link = await mailedLink('confirm-email', before - 1_000, 'moved.owner@example.com');
    // Once mailed, the change is pending for GET /me (what the settings page shows after a reload).
    const me = (await (await api('/me', { method: 'GET', token: accessToken })).json()) as { pendingEmailChange: { newEmail: string } | null };
    expect(me.pendingEmailChange?.newEmail).toBe('moved.owner@example.com');
    await page.goto(link);
    await page.getByRole('button', { name: 'Confirm the new address' }).waitFor();
    await expect.poll(() => page.url()).not.toContain('token=');
    await expectAccessible('confirm-email');
    await page.getByRole('button', { name: 'Confirm the new address' }).click();
    await page.getByText('Your new address is confirmed. Log in with it.').waitFor({ timeout: 30_000 });
    await page.getByLabel('Email').fill('moved.owner@example.com');
    await page.getByLabel('Password').fill('second-Password-0815');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/channels$/);
    expect(problems).toEqual([]);
  }, 120_000);

  it('shows the sessions in the account settings and logs out everywhere else', async () => {
    // A second session of the owner (page is logged in as moved.owner since the test before).
    const login = await fetch(`${runtime.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: runtime.url },
      body: JSON.stringify({ email: 'moved.owner@example.com', password: 'second-Password-0815' }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const me = () => fetch(`${runtime.url}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}`, origin: runtime.url } });
    expect((await me()).status).toBe(200);
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    await page.waitForURL(/\/account$/);
    await page.getByRole('heading', { name: 'Account settings' }).waitFor();
    await page.getByTestId('session-row').filter({ hasText: 'This session' }).waitFor();
    await expect.poll(() => page.getByTestId('session-row').count()).toBeGreaterThanOrEqual(2);
    await page.getByRole('region', { name: 'Recent activity' }).getByRole('cell', { name: 'Logged in' }).first().waitFor();
    await expectAccessible('account');
    await page.getByRole('button', { name: 'Log out everywhere else' }).click();
    await page.getByText(/other sessions? ended\. This one goes on\./).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('session-row').count()).toBe(1);
    expect((await me()).status).toBe(401);
    expect(problems).toEqual([]);
  }, 120_000);

  it('lets the demo owner that npm start seeds log in with the password its banner prints', async () => {
    const logIn = () =>
      fetch(`${runtime.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: runtime.url },
        body: JSON.stringify({ email: DEMO_OWNER_EMAIL, password: DEMO_OWNER_PASSWORD }),
      });
    await seedDemo(testDb.db, runtime.simulators.telegram, new Date());
    expect((await logIn()).status).toBe(200);
    await seedDemo(testDb.db, runtime.simulators.telegram, new Date()); // a restart keeps the account as it is
    expect((await logIn()).status).toBe(200);
  }, 60_000);
});
