import { Bot } from 'grammy';
import { describe, expect, it } from 'vitest';
import { ErrorEnvelopeSchema } from '../dashboard/index.js';
import { systemClock } from '../clock/index.js';
import { createMemoryKeyValueStore } from '../kv/index.js';
import { createLogger } from '../logging/index.js';
import { simulateKeyValueOutage } from '../testing/fakes/key-value-outage.js';
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
