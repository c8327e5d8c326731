import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logging/index.js';
import { resetServices } from '../../shared/runtime/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { startLocalRuntime } from '../../shared/testing/sandbox/local-runtime.js';

describe('a local runtime that fails to start', () => {
  let testDb: TestDatabase | undefined;
  let dataDir = '';
  afterAll(async () => {
    await testDb?.dispose();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    resetServices();
  });

  it('stops the chain and simulators it had started (no anvil outlives it)', async () => {
    testDb = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-start-failure-'));
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ['NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'PUBLIC_BASE_URL', 'ETH_RPC_URL', 'CHANGENOW_API_URL']) delete env[name];
    // The providers are started into this copy of the environment, which the functions (reading
    // process.env) do not see: the first one to load refuses its configuration, after anvil is up.
    await expect(
      startLocalRuntime({ port: 0, dataDir, db: testDb.db, env, runScheduler: false, logger: createLogger({ write: () => undefined }) }),
    ).rejects.toThrow(/Invalid configuration/);
    // The simulators were started (their URLs were filled in) and are gone again.
    for (const name of ['ETH_RPC_URL', 'NOWPAYMENTS_API_URL', 'CHANGENOW_API_URL']) {
      const url = env[name];
      expect(url, name).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      await expect(fetch(url ?? '', { method: 'POST', body: '{}' }), name).rejects.toThrow();
    }
  }, 120_000);
});
