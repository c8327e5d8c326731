import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logging/index.js';
import { resetServices } from '../../shared/runtime/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { DEMO_OWNER_TELEGRAM_ID, DEMO_SUBSCRIBER_TELEGRAM_ID } from '../../shared/testing/demo-seed.js';
import { type LocalRuntime, startLocalRuntime } from '../../shared/testing/local-runtime.js';

interface SandboxMessage {
  messageId: number;
  text: string;
  replyMarkup?: { inline_keyboard?: { text: string; callback_data?: string; url?: string }[][] };
}

/** A person walking the subscriber journey in the sandbox (what `npm start` runs) with HTTP calls only. */
describe('sandbox walkthrough over the simulators\' HTTP control APIs', () => {
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

  const telegramApi = () => `${runtime.simulators.telegram?.apiRoot}/sandbox`;
  const post = async (url: string, body: unknown) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(200);
    return response.json() as Promise<Record<string, unknown>>;
  };
  const messagesOf = async (chatId: number): Promise<SandboxMessage[]> => {
    await runtime.bus?.drain();
    const body = (await (await fetch(`${telegramApi()}/chats/${chatId}/messages`)).json()) as { messages: SandboxMessage[] };
    return body.messages;
  };
  const buttons = (message: SandboxMessage | undefined) => message?.replyMarkup?.inline_keyboard?.flat() ?? [];

  it('goes from the demo channel deep link to the invite and into the closed channel', async () => {
    const [channel] = runtime.demoChannels;
    expect(channel?.startPayload).toMatch(/^c_ch_/);
    await post(`${telegramApi()}/users/${DEMO_SUBSCRIBER_TELEGRAM_ID}/messages`, { text: `/start ${channel?.startPayload}` });
    const tiersMessage = (await messagesOf(DEMO_SUBSCRIBER_TELEGRAM_ID)).at(-1);
    expect(tiersMessage?.text).toContain('Demo Premium');
    const tierButton = buttons(tiersMessage).find((button) => button.callback_data && button.text.includes('9.99'));
    expect(tierButton).toBeDefined();

    await post(`${telegramApi()}/users/${DEMO_SUBSCRIBER_TELEGRAM_ID}/clicks`, { messageId: tiersMessage?.messageId, data: tierButton?.callback_data });
    const payMessage = (await messagesOf(DEMO_SUBSCRIBER_TELEGRAM_ID)).at(-1);
    const payButton = buttons(payMessage).find((button) => button.url);
    const invoiceId = /\/invoice\/([^/?#]+)/.exec(payButton?.url ?? '')?.[1];
    expect(invoiceId).toBeDefined();

    // What the invoice page's "Pay in full" button does.
    await post(`${runtime.simulators.nowpayments?.url}/sandbox/invoices/${invoiceId}/pay`, { fraction: '1' });
    await runtime.bus?.drain();
    const invite = (await messagesOf(DEMO_SUBSCRIBER_TELEGRAM_ID)).map((message) => /https:\/\/t\.me\/\+\S+/.exec(message.text)?.[0]).find(Boolean);
    expect(invite).toBeDefined();
    const joined = await post(`${telegramApi()}/users/${DEMO_SUBSCRIBER_TELEGRAM_ID}/joins`, { inviteLink: invite });
    expect(joined).toMatchObject({ ok: true, joined: true });

    const ownerMessages = await messagesOf(DEMO_OWNER_TELEGRAM_ID);
    expect(ownerMessages.some((message) => message.text.includes('New subscription'))).toBe(true);
  });
});
