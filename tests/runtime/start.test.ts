import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../shared/bus/topology.js';

describe('npm start', () => {
  let child: ChildProcess | undefined;
  let dataDir = '';
  afterAll(async () => {
    child?.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('comes up with no configuration, answers /healthz, and stops cleanly on Ctrl-C', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-start-'));
    const env = { ...process.env };
    // The zero-configuration path: embedded database, simulators for every provider.
    for (const name of ['DATABASE_URL', 'NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'PUBLIC_BASE_URL', 'PLATFORM_FEE_BPS']) delete env[name];
    child = spawn('npm', ['start', '--', '--port', '0', '--data-dir', dataDir, '--reset'], {
      cwd: repositoryRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

    const deadline = Date.now() + 90_000;
    let healthUrl: string | undefined;
    while (!healthUrl) {
      healthUrl = /Health:\s+(http:\/\/\S+)/.exec(output)?.[1];
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const response = await fetch(healthUrl);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', functions: expect.arrayContaining(['relay-outbox', 'record-dead-letter']) });
    expect(output).toContain('relay-outbox-every-minute');
    // With no provider configured, the NowPayments and Telegram simulators answer their real APIs.
    const nowpaymentsApi = /NowPayments: simulator at (http:\/\/\S+)/.exec(output)?.[1];
    expect(await (await fetch(`${nowpaymentsApi}/status`)).json()).toEqual({ message: 'OK' });
    const telegramRoot = /Bot API simulator at (http:\/\/\S+)/.exec(output)?.[1];
    expect(telegramRoot).toBeDefined();

    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child?.once('exit', (code, signal) => resolve({ code, signal })),
    );
    process.kill(-(child.pid as number), 'SIGINT'); // what Ctrl-C sends to the terminal's process group
    const { code, signal } = await exited;
    // npm itself may report the interrupt as its own exit signal; the gateway must stop cleanly.
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The terminal shows step lines; the JSON lines are kept in the data folder.
    expect(output).toMatch(/runtime +stopping \(SIGINT\)/);
    expect(output).toMatch(/database +ready: \d+ migrations applied/);
    const jsonLines = (await readFile(path.join(dataDir, 'logs', 'runtime.jsonl'), 'utf8')).trim().split('\n');
    expect(jsonLines.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual(expect.arrayContaining(['runtime.migrated', 'runtime.stopping']));
    expect(existsSync(path.join(dataDir, 'runtime.json'))).toBe(false); // removed on stop
    expect(output).not.toMatch(/Error|ERROR/);
    expect(() => process.kill(-(child?.pid as number), 0)).toThrow(); // the whole group is gone
  }, 120_000);
});
