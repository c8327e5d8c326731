import { Bot } from 'grammy';
import { afterAll, describe, expect, it } from 'vitest';
import { runSecretsCommand } from '../../scripts/secrets.js';
import { ErrorEnvelopeSchema } from '../dashboard/index.js';
import { systemClock } from '../clock/index.js';
import { createMemoryKeyValueStore } from '../kv/index.js';
import { createLogger } from '../logging/index.js';
import { createSecretManagerStore, keyIdOf, loadSecretReader } from '../secrets/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { simulateKeyValueOutage } from '../testing/fakes/key-value-outage.js';
import { type FakeSecretManager, secretManagerClientOptions, startFakeSecretManager } from '../testing/fakes/secret-manager-server.js';
import { botInfoFromConfig } from '../telegram/bot-info.js';
import type { BotContext } from './context.js';
import { handleWebhookUpdate } from './webhook.js';
import { databaseError } from '../db/errors.js';

const SECRET = 'webhook-secret-for-tests';
const TOKEN = '123456:test-token';

/** A bot whose only handler runs `handle` (no Bot API call is made), with its store and log. */
function setUp(handle: () => void) {
  const bot = new Bot<BotContext>(TOKEN, { botInfo: botInfoFromConfig(TOKEN, 'fuzz_bot') });
  let runs = 0;
  bot.use(() => {
    runs++;
    handle();
  });
  const lines: { severity: string; message: string }[] = [];
  const kv = createMemoryKeyValueStore();
  const deps = { bot, kv, clock: systemClock, logger: createLogger({ write: (line) => lines.push(JSON.parse(line) as { severity: string; message: string }) }), secretToken: SECRET };
  const deliver = (body: unknown, secretToken: string | undefined = SECRET) => handleWebhookUpdate(deps, { secretToken, body });
  return { kv, lines, deliver, runs: () => runs };
}

const update = (id: number) => ({ update_id: id, message: { message_id: 1, date: 1, chat: { id: 5, type: 'private', first_name: 'A' }, from: { id: 5, is_bot: false, first_name: 'A' }, text: 'hi' } });

describe('handleWebhookUpdate', () => {
  it('refuses a wrong secret token with 401 in the error envelope and runs nothing', async () => {
    const { deliver, runs } = setUp(() => undefined);
    const result = await deliver(update(1), 'not-the-secret');
    expect(result.status).toBe(401);
    expect(ErrorEnvelopeSchema.parse(result.body).error.code).toBe('invalid_secret_token');
    expect(runs()).toBe(0);
  });

  it('acknowledges with 200 an update the bot fails on for good (a bug, a shape it cannot take), once', async () => {
    const { deliver, lines, runs } = setUp(() => {
      throw new TypeError('languageCode.toLowerCase is not a function');
    });
    const result = await deliver(update(2));
    expect(result.status).toBe(200);
    expect(lines.filter((line) => line.severity === 'ERROR').map((line) => line.message)).toEqual(['telegram.update_rejected']);
    // Telegram would not redeliver a 200; if it did, it is a duplicate, not a second failure.
    expect((await deliver(update(2))).body).toEqual({ ok: true, duplicate: true });
    expect(runs()).toBe(1);
  });

  it('answers 503 with Retry-After when the bot fails transiently, and runs the redelivery', async () => {
    let isDown = true;
    const { deliver, runs } = setUp(() => {
      if (isDown) throw databaseError('database_unavailable', 'connect ECONNREFUSED');
    });
    const result = await deliver(update(3));
    expect(result.status).toBe(503);
    expect(Number(result.headers?.['retry-after'])).toBeGreaterThan(0);
    expect(JSON.stringify(result.body)).not.toContain('ECONNREFUSED');
    isDown = false;
    expect((await deliver(update(3))).status).toBe(200);
    expect(runs()).toBe(2);
  });

  it('answers 503 and runs nothing while the key-value store is down', async () => {
    const { deliver, kv, lines, runs } = setUp(() => undefined);
    const restore = simulateKeyValueOutage(kv);
    const result = await deliver(update(4));
    restore();
    expect(result.status).toBe(503);
    expect(ErrorEnvelopeSchema.parse(result.body).error.code).toBe('update_store_unavailable');
    expect(lines.map((line) => line.message)).toEqual(['telegram.update_store_unavailable']);
    expect(runs()).toBe(0);
  });
});

describe('handleWebhookUpdate across a TELEGRAM_WEBHOOK_SECRET rotation (Secret Manager, npm run secrets -- rotate)', () => {
  const PROJECT = 'pgp-webhook-rotation';
  const OLD = 'e29f801a91697540bc6744d3d372068d09639da04c7a0a704fac2ce0f0316414';
  const env = { SECRETS_SOURCE: 'secret-manager', GOOGLE_CLOUD_PROJECT: PROJECT };
  let fake: FakeSecretManager;
  afterAll(() => fake?.close());

  it('loses no update: the old token passes until setWebhook and through the overlap, and fails after it', async () => {
    fake = await startFakeSecretManager();
    fake.seed(PROJECT, 'telegram-webhook-secret', [OLD], { current: 1 });
    const store = createSecretManagerStore({ projectId: PROJECT, clientOptions: secretManagerClientOptions(fake) });
    const clock = createFakeClock('2026-12-06T10:00:00Z');
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    // As the function does: one reader per instance, the secret read per request.
    const reader = loadSecretReader('TELEGRAM_WEBHOOK_SECRET', { store, logger }, env);
    const bot = new Bot<BotContext>(TOKEN, { botInfo: botInfoFromConfig(TOKEN, 'fuzz_bot') });
    const handled: number[] = [];
    bot.use((ctx) => void handled.push(ctx.update.update_id));
    const kv = createMemoryKeyValueStore();
    const deliver = async (updateId: number, secretToken: string) =>
      handleWebhookUpdate(
        { bot, kv, logger, clock, secretToken: await reader.read(clock.now()), reloadSecretToken: () => reader.reload(clock.now()) },
        { secretToken, body: update(updateId) },
      );

    // Telegram sends whatever secret_token setWebhook last gave it: the old one until step 20.
    let telegramSends = OLD;
    let NEW = '';
    const rotationOverlapSeconds = 3600;
    let rotatedAt = clock.now();
    for (let step = 1; step <= 30; step++) {
      clock.advance(60_000);
      if (step === 10) {
        rotatedAt = clock.now();
        const now = rotatedAt;
        expect(await runSecretsCommand(['rotate', 'telegram-webhook-secret', '--overlap', String(rotationOverlapSeconds)], { env, print: () => undefined, now: () => now, store })).toBe(0);
        NEW = fake.secret(PROJECT, 'telegram-webhook-secret')!.versions[1]!.value.toString('utf8');
      }
      if (step === 20) telegramSends = NEW; // setWebhook with the new secret_token
      const answer = await deliver(step, telegramSends);
      expect(answer, `update ${step}`).toEqual({ status: 200, body: { ok: true } });
    }
    expect(handled).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
    expect(lines.some((line) => line.includes('telegram.webhook_previous_secret') && line.includes(keyIdOf(OLD)))).toBe(true);
    expect(lines.join('\n')).not.toContain(OLD);

    // During the overlap the old token still passes (an update Telegram sent before setWebhook and retries)…
    expect((await deliver(100, OLD)).status).toBe(200);
    // …after it, it fails; the new one goes on.
    clock.set(new Date(rotatedAt.getTime() + rotationOverlapSeconds * 1000));
    expect((await deliver(101, OLD)).status).toBe(401);
    expect((await deliver(102, NEW)).status).toBe(200);
    expect(handled.slice(-2)).toEqual([100, 102]);
  });
});
