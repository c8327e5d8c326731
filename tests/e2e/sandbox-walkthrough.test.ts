import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logging/index.js';
import { resetServices } from '../../shared/runtime/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { DEMO_OWNER_TELEGRAM_ID, DEMO_SUBSCRIBER_TELEGRAM_ID } from '../../shared/testing/sandbox/demo-seed.js';
import { type LocalRuntime, startLocalRuntime } from '../../shared/testing/sandbox/local-runtime.js';
import { createSandboxClient, type SandboxMessage } from '../../shared/testing/sandbox/sandbox-client.js';
import { playPurchase } from '../../shared/testing/sandbox/sandbox-purchase.js';

/** A person walking the subscriber journey in the sandbox (what `npm start` runs) with HTTP calls to its sandbox API only. */
describe('sandbox walkthrough over the runtime\'s sandbox API', () => {
  let testDb: TestDatabase;
  let runtime: LocalRuntime;
  let dataDir: string;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-sandbox-'));
    for (const name of ['NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'PUBLIC_BASE_URL']) delete process.env[name];
    runtime = await startLocalRuntime({
      port: 0,
      dataDir,
      db: testDb.db,
      seedDemo: true,
      backoffScale: 0,
      runScheduler: false,
      logger: createLogger({ write: () => undefined }),
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await testDb?.dispose();
    await rm(dataDir, { recursive: true, force: true });
    resetServices();
  });

  const client = () => createSandboxClient(runtime.url);
  const messagesOf = async (chatId: number): Promise<SandboxMessage[]> => {
    await runtime.bus?.drain();
    return client().messages(chatId);
  };
  const buttons = (message: SandboxMessage | undefined) => message?.replyMarkup?.inline_keyboard?.flat() ?? [];

  it('goes from the demo channel deep link to the invite and into the closed channel', async () => {
    const [channel] = runtime.demoChannels;
    expect(channel?.startPayload).toMatch(/^c_ch_/);
    await client().sendText(DEMO_SUBSCRIBER_TELEGRAM_ID, `/start ${channel?.startPayload}`);
    const tiersMessage = (await messagesOf(DEMO_SUBSCRIBER_TELEGRAM_ID)).at(-1);
    expect(tiersMessage?.text).toContain('Demo Premium');
    const tierButton = buttons(tiersMessage).find((button) => button.callback_data && button.text.includes('9.99'));
    expect(tierButton).toBeDefined();

    await client().click(DEMO_SUBSCRIBER_TELEGRAM_ID, tiersMessage?.messageId ?? 0, tierButton?.callback_data ?? '');
    const payMessage = (await messagesOf(DEMO_SUBSCRIBER_TELEGRAM_ID)).at(-1);
    const payButton = buttons(payMessage).find((button) => button.url);
    const invoiceId = /\/invoice\/([^/?#]+)/.exec(payButton?.url ?? '')?.[1];
    expect(invoiceId).toBeDefined();

    // What the invoice page's "Pay in full" button does.
    const paid = await client().pay(invoiceId ?? '', { fraction: '1' });
    await runtime.bus?.drain();
    const invite = (await messagesOf(DEMO_SUBSCRIBER_TELEGRAM_ID)).map((message) => /https:\/\/t\.me\/\+\S+/.exec(message.text)?.[0]).find(Boolean);
    expect(invite).toBeDefined();
    expect(await client().join(DEMO_SUBSCRIBER_TELEGRAM_ID, invite ?? '')).toMatchObject({ joined: true });

    const ownerMessages = await messagesOf(DEMO_OWNER_TELEGRAM_ID);
    expect(ownerMessages.some((message) => message.text.includes('New subscription'))).toBe(true);

    // The system's view of the same payment, as the sandbox page and CLI read it.
    await runtime.bus?.drain();
    const payment = await client().payment(paid.payment.paymentId);
    expect(payment).toMatchObject({ status: 'finished', isSettled: true, subscription: { status: 'active' }, channel: { title: 'Demo Premium' } });
    expect(payment?.invite?.joinedAt).not.toBeNull();
    expect(payment?.ledger.map((transaction) => transaction.kind)).toEqual(expect.arrayContaining(['payment_settled', 'payout_claimed']));
    expect(payment?.payout?.state).toMatch(/^(requested|quoted|transfer_signed|transfer_broadcast)$/);
  });

  it('plays an underpaid purchase through the sandbox API: no access, the subscriber is told', async () => {
    const lines: string[] = [];
    const result = await playPurchase(createSandboxClient(runtime.url), { channel: 'club', tier: 1, fraction: '0.5', stepTimeoutMs: 30_000, pollMs: 50 }, (line) => lines.push(line));
    expect(result.outcome).toBe('not_settled');
    expect(result.payment).toMatchObject({ status: 'partially_paid', isSettled: false, payout: null });
    expect(lines.join('\n')).toMatch(/payment +pay_\S+ partially_paid, not settled/);
  });

  it('starts from the tier button of the post in the open channel, posting it first when there is none', async () => {
    const lines: string[] = [];
    const result = await playPurchase(
      createSandboxClient(runtime.url),
      { channel: 'club', tier: 2, fraction: '0.5', fromPost: true, userId: 1_002_002, stepTimeoutMs: 30_000, pollMs: 50 },
      (line) => lines.push(line),
    );
    const journey = lines.join('\n');
    expect(journey).toContain('scheduler broadcast-tiers-every-5-minutes runs now');
    expect(journey).toMatch(/Demo Club \(public\) shows: 🥇 \$[\d.]+ for \d+ days \| 🥈/);
    expect(journey).toMatch(/taps "🥈 [^"]+" in the channel → bot: \/start c_ch_[A-Za-z0-9_-]{22}_2/);
    expect(result.payment).toMatchObject({ tier: 2, status: 'partially_paid' });
    const club = runtime.demoChannels.find((channel) => channel.title === 'Demo Club');
    const posts = await messagesOf(club?.openChatId ?? 0);
    expect(posts).toHaveLength(1);
  });

  it('serves the sandbox page, its overview and the scheduler\'s run-now, and refuses unknown routes as JSON', async () => {
    const page = await fetch(`${runtime.url}/sandbox`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const overview = (await (await fetch(`${runtime.url}/sandbox/api/overview?user=${DEMO_SUBSCRIBER_TELEGRAM_ID}`)).json()) as { channels: unknown[]; payments: unknown[] };
    expect(overview.channels).toHaveLength(2);
    expect(overview.payments.length).toBeGreaterThan(0);
    await client().runJob('relay-outbox-every-minute');
    await expect(client().runJob('no-such-job')).rejects.toMatchObject({ status: 404, code: 'unknown_job' });
    const unknown = await fetch(`${runtime.url}/sandbox/api/nothing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
