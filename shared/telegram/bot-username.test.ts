import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createBotApi } from './bot-api.js';
import { findFreePort } from '../testing/free-port.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { createBotUsernameSource } from './bot-username.js';

const quiet = createLogger({ write: () => undefined });

let telegram: TelegramSimulator;
beforeAll(async () => {
  telegram = await startTelegramSimulator();
});
afterAll(() => telegram?.close());

const api = () => createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
const getMeCalls = () => telegram.callsTo('getMe').length;

describe('createBotUsernameSource', () => {
  it('answers the configured username without asking Telegram', async () => {
    const before = getMeCalls();
    const source = createBotUsernameSource({ configured: 'ConfiguredBot', telegram: api(), logger: quiet });
    expect(await source.username()).toBe('ConfiguredBot');
    expect(getMeCalls()).toBe(before);
  });

  it('answers undefined with neither a username nor a Bot API client', async () => {
    expect(await createBotUsernameSource({ logger: quiet }).username()).toBeUndefined();
  });

  it('asks getMe once, for concurrent and later reads alike', async () => {
    const before = getMeCalls();
    const source = createBotUsernameSource({ telegram: api(), logger: quiet });
    const answers = await Promise.all([source.username(), source.username(), source.username()]);
    expect(answers).toEqual(Array(3).fill(telegram.botInfo.username));
    expect(await source.username()).toBe(telegram.botInfo.username);
    expect(getMeCalls() - before).toBe(1);
  });

  it('after a failure answers undefined without asking again until the back-off passed, then asks and keeps the answer', async () => {
    let now = 0;
    const lines: string[] = [];
    const source = createBotUsernameSource({ telegram: api(), retryAfterMs: 60_000, now: () => now, logger: createLogger({ write: (line) => lines.push(line) }) });
    const before = getMeCalls();
    telegram.failNext('getMe', { errorCode: 502, description: 'Bad Gateway' });
    expect(await source.username()).toBeUndefined();
    expect(lines.map((line) => JSON.parse(line).message)).toEqual(['channel.bot_username_unavailable']);
    expect(lines[0]).not.toContain(telegram.token);
    now = 59_999;
    expect(await source.username()).toBeUndefined();
    expect(getMeCalls() - before).toBe(1);
    now = 60_000;
    expect(await source.username()).toBe(telegram.botInfo.username);
    now = 10_000_000;
    expect(await source.username()).toBe(telegram.botInfo.username);
    expect(getMeCalls() - before).toBe(2);
  });

  it('gives up on a Telegram that accepts the connection but never answers, after the timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    const port = await findFreePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    try {
      const source = createBotUsernameSource({ telegram: createBotApi({ token: telegram.token, apiRoot: `http://127.0.0.1:${port}` }), timeoutMs: 200, logger: quiet });
      const started = performance.now();
      expect(await source.username()).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
