import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunction } from '../../scripts/build.js';
import { buildPubSubCloudEvent } from '../../shared/bus/index.js';
import { loadTopology, repositoryRoot } from '../../shared/bus/topology.js';
import { createTestDatabase, hasPostgresServer, type TestDatabase } from '../../shared/testing/database.js';
import { discoverFunctions } from '../../shared/deploy/function-folders.js';
import { findFreePort } from '../../shared/testing/free-port.js';

const root = repositoryRoot();
const functionNames = discoverFunctions();

/** A complete, valid configuration (values are placeholders: nothing here reaches a provider). */
const SANDBOX_ENV: NodeJS.ProcessEnv = {
  NOWPAYMENTS_API_URL: 'http://127.0.0.1:9/v1',
  NOWPAYMENTS_API_KEY: 'bundle-test-nowpayments-key',
  NOWPAYMENTS_IPN_SECRET: 'bundle-test-ipn-secret',
  TELEGRAM_BOT_TOKEN: '123456789:AAbundle-test-token-abcdefghijklmnopqrstu',
  TELEGRAM_API_ROOT: 'http://127.0.0.1:9',
  TELEGRAM_BOT_USERNAME: 'PayGatePrimeTestBot',
  TELEGRAM_WEBHOOK_SECRET: 'e29f801a91697540bc6744d3d372068d09639da04c7a0a704fac2ce0f0316414',
  PLATFORM_FEE_BPS: '300',
  PUBLIC_BASE_URL: 'http://localhost:8080',
  CHANGENOW_API_URL: 'http://127.0.0.1:9/v2',
  CHANGENOW_API_KEY: 'bundle-test-changenow-key',
  ETH_RPC_URL: 'http://127.0.0.1:9',
  ETH_CHAIN_ID: '31337',
  // anvil's well-known account 0: public test key, never funded outside a local chain.
  HOST_WALLET_PRIVATE_KEY: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  HOT_WALLET_ADDRESS: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  PAYOUT_MAX_USD_CENTS: '100000',
  PAYOUT_DAILY_CAP_USD_CENTS: '1000000',
  JWT_SECRET: 'Vc_Nw498i0I3lSzKHIeJVFwZ4V43u0FRVSn4qCRZGpQ',
  OWNER_WEBHOOK_SIGNING_KEY: 'Xk2b7QmR0vT9yL4cW1pN8dF6hJ3sA5gZ0eU2iO7rK9M=',
  DASHBOARD_CORS_ORIGINS: 'http://localhost:5173',
  SMTP_URL: 'smtp://127.0.0.1:9',
  MAIL_FROM: 'PayGatePrime <no-reply@example.com>',
};

interface Served {
  url: string;
  output: () => string;
  stop: () => void;
}

/** Runs exactly the documented command: npx functions-framework --source=dist/<name> --target=<name>. */
async function serveBundle(name: string, env: NodeJS.ProcessEnv): Promise<Served> {
  const port = await findFreePort();
  const child: ChildProcess = spawn(
    path.join(root, 'node_modules/.bin/functions-framework'),
    [`--source=dist/${name}`, `--target=${name}`, `--port=${port}`],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 20_000;
  // The banner ends with the URL line; the lines before it may arrive in separate chunks.
  while (!/URL: http/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`functions-framework did not serve ${name}:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop: () => child.kill('SIGTERM') };
}

function tick(topic: string, body: unknown, attributes: Record<string, string> = {}) {
  return buildPubSubCloudEvent({
    projectId: 'paygateprime-test',
    topic,
    subscription: `${topic}--test`,
    pubsubMessageId: `bundle-${Math.random().toString(36).slice(2)}`,
    publishTime: new Date(),
    data: JSON.stringify(body),
    attributes,
  });
}

describe('function bundles (npm run build)', () => {
  beforeAll(async () => {
    for (const name of functionNames) await buildFunction(name);
  });

  it('builds every function folder, and every subscriber in pubsub-topics.yaml has a folder', () => {
    expect(functionNames.length).toBeGreaterThan(0);
    for (const name of loadTopology().eventFunctions) expect(functionNames).toContain(name);
  });

  it.each(functionNames)('writes dist/%s/package.json with pinned runtime dependencies only', async (name) => {
    const manifest = JSON.parse(await readFile(path.join(root, 'dist', name, 'package.json'), 'utf8'));
    const rootManifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
    expect(manifest.main).toBe('index.js');
    expect(manifest.dependencies['@google-cloud/functions-framework']).toBe(rootManifest.dependencies['@google-cloud/functions-framework']);
    for (const [dependency, version] of Object.entries(manifest.dependencies)) {
      expect(rootManifest.dependencies[dependency], dependency).toBe(version);
    }
  });

  it('loads at cold start only what the function always needs (docs/performance.md, cold start)', async () => {
    const bundle = (name: string) => readFile(path.join(root, 'dist', name, 'index.js'), 'utf8');
    // A package's code starts with the function if the bundle inlines it (its licence is then in
    // THIRD_PARTY_LICENSES.txt) or imports it statically from node_modules.
    const bundled = async (name: string) =>
      [...(await readFile(path.join(root, 'dist', name, 'THIRD_PARTY_LICENSES.txt'), 'utf8')).matchAll(/^(@?[^@\s]+)@\d[^\s]*$/gm)].map((match) => match[1]);
    const staticImports = async (name: string) => [...(await bundle(name)).matchAll(/^import .* from "([^"]+)";$/gm)].map((match) => match[1]);
    const atStart = async (name: string) => [...(await bundled(name)), ...(await staticImports(name))];
    const installed = async (name: string) =>
      Object.keys((JSON.parse(await readFile(path.join(root, 'dist', name, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);

    for (const name of functionNames) expect(await atStart(name), name).not.toContain('ethers'); // the hot wallet signs with @noble/curves
    // The dashboard calls Telegram only to register or edit a channel, and draws QR codes on one
    // route: both stay installed and load on first use.
    expect(await atStart('dashboard-api')).not.toContain('grammy');
    expect(await atStart('dashboard-api')).not.toContain('qrcode');
    expect(await installed('dashboard-api')).toEqual(expect.arrayContaining(['grammy', 'qrcode']));
    expect(await bundle('dashboard-api')).toMatch(/\bimport\("grammy"\)/);
    expect(await atStart('send-transfer')).toContain('@noble/curves');
    // The bot imports grammY statically and on demand: one copy, the bundled one.
    expect(await atStart('telegram-webhook')).toContain('grammy');
    expect(await installed('telegram-webhook')).not.toContain('grammy');
    expect(await bundle('telegram-webhook')).not.toMatch(/\bimport\("grammy"\)/);
    // `import * as z from 'zod'` lets esbuild keep only the schemas used; `import { z }` ships zod's
    // 40-odd message translations too (750 KiB instead of 170, 66 ms to load instead of 22).
    for (const name of functionNames) expect(await bundle(name), name).not.toContain('Ungültige Eingabe'); // zod's German messages
  });

  it('bundles the pure-JS packages with their licences and installs the rest (Google clients, first-use imports)', async () => {
    for (const name of functionNames) {
      const licences = await readFile(path.join(root, 'dist', name, 'THIRD_PARTY_LICENSES.txt'), 'utf8');
      const manifest = JSON.parse(await readFile(path.join(root, 'dist', name, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      expect(licences, name).toMatch(/^pg@8\.\d+\.\d+\n\nMIT License/m);
      expect(licences, name).toMatch(/^zod@4\.\d+\.\d+\n\nMIT License/m);
      for (const external of ['pg', 'zod', 'pg-native', '@electric-sql/pglite']) expect(Object.keys(manifest.dependencies), name).not.toContain(external);
      expect(manifest.dependencies['@google-cloud/pubsub'], name).toBeDefined(); // reads .proto files at run time: installed
    }
  });

  it.each(functionNames)('serves %s under exactly its name with the functions-framework CLI', async (name) => {
    const served = await serveBundle(name, SANDBOX_ENV);
    try {
      expect(served.output()).toContain(`Function: ${name}`);
      const response = await fetch(served.url, { method: 'GET' });
      expect(response.status).toBeGreaterThanOrEqual(200);
    } finally {
      served.stop();
    }
  });

  it('serves the dashboard API from its bundle: the OpenAPI document, and errors in the envelope', async () => {
    const served = await serveBundle('dashboard-api', SANDBOX_ENV);
    try {
      const document = await fetch(`${served.url}/api/v1/openapi.json`);
      expect(document.status).toBe(200);
      expect(((await document.json()) as { openapi: string }).openapi).toBe('3.1.0');
      const missing = await fetch(`${served.url}/api/v1/nope`, { headers: { origin: 'http://localhost:5173' } });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
      const foreign = await fetch(`${served.url}/api/v1/health`, { headers: { origin: 'https://evil.example' } });
      expect(foreign.status).toBe(403);
    } finally {
      served.stop();
    }
  }, 60_000);

  it.each([
    ['dashboard-api', '/api/v1/auth/login', 32 * 1024],
    ['nowpayments-ipn', '/', 64 * 1024],
    ['telegram-webhook', '/', 1024 * 1024],
  ])('serves %s from its bundle with its body limit and the security headers, whatever NODE_ENV is', async (name, path, maxBodyBytes) => {
    const served = await serveBundle(name, { ...SANDBOX_ENV, NODE_ENV: '' });
    try {
      const tooLarge = await fetch(`${served.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(maxBodyBytes + 1) });
      expect(tooLarge.status).toBe(413);
      expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
      expect(tooLarge.headers.get('x-frame-options')).toBe('DENY');
      const latin1 = await fetch(`${served.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' });
      expect(latin1.status).toBe(415);
      expect(latin1.headers.get('content-type')).toMatch(/^application\/json/);
      expect(latin1.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    } finally {
      served.stop();
    }
  }, 60_000);

  it('stops a function at start-up when a variable it needs is missing, naming the variable but not the values', async () => {
    const env = { ...process.env, ...SANDBOX_ENV };
    delete env.PLATFORM_FEE_BPS;
    const child = spawn(path.join(root, 'node_modules/.bin/functions-framework'), ['--source=dist/settle-payment', '--target=settle-payment', '--port=0'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(output).toContain('PLATFORM_FEE_BPS');
    expect(output).not.toContain('bundle-test-ipn-secret');
  });

  describe.skipIf(!hasPostgresServer)('against PostgreSQL [skipped: needs DATABASE_URL]', () => {
    let testDb: TestDatabase;
    beforeAll(async () => {
      testDb = await createTestDatabase();
    });
    afterAll(() => testDb?.dispose());

    it('record-dead-letter stores a message forwarded to a dead-letter topic and acknowledges it', async () => {
      const served = await serveBundle('record-dead-letter', { ...SANDBOX_ENV, DATABASE_URL: testDb.url });
      try {
        const event = tick('payment-settled-dlq', { paymentId: '5d6c4f0e-8a7b-4c3d-9e2f-1a2b3c4d5e6f' }, {
          CloudPubSubDeadLetterSourceDeliveryCount: '10',
          CloudPubSubDeadLetterSourceSubscription: 'projects/p/subscriptions/payment-settled--settle-payment',
          pgp_message_id: 'bundle-dead-letter-1',
        });
        const response = await fetch(served.url, { method: 'POST', headers: event.headers, body: event.body });
        expect(response.status).toBe(204);
        const { rows } = await testDb.db.query(`SELECT source, topic, reason_code, delivery_attempt FROM dead_letters WHERE message_id = 'bundle-dead-letter-1'`);
        expect(rows).toEqual([{ source: 'payment-settled--settle-payment', topic: 'payment-settled', reason_code: 'max_delivery_attempts', delivery_attempt: 10 }]);
      } finally {
        served.stop();
      }
    });

    it('relay-outbox acknowledges a tick and leaves a row it could not publish for the next run', async () => {
      await testDb.db.query(
        `INSERT INTO outbox (message_id, topic, payload, created_at) VALUES (gen_random_uuid(), 'payment-settled', '{"paymentId":"5d6c4f0e-8a7b-4c3d-9e2f-1a2b3c4d5e6f"}', now())`,
      );
      // No Pub/Sub is reachable here (an unroutable emulator address): the publish fails transiently.
      const served = await serveBundle('relay-outbox', { ...SANDBOX_ENV, DATABASE_URL: testDb.url, PUBSUB_EMULATOR_HOST: '127.0.0.1:9', GOOGLE_CLOUD_PROJECT: 'paygateprime-test' });
      try {
        const event = tick('outbox-relay-requested', { job: 'relay-outbox' });
        const response = await fetch(served.url, { method: 'POST', headers: event.headers, body: event.body });
        expect(response.status).toBe(204);
        const { rows } = await testDb.db.query<{ published_at: Date | null; publish_attempts: number; last_error: string | null }>(
          'SELECT published_at, publish_attempts, last_error FROM outbox',
        );
        expect(rows[0]).toMatchObject({ published_at: null, last_error: 'publish_failed' });
        expect(rows[0]?.publish_attempts).toBeGreaterThanOrEqual(1);
      } finally {
        served.stop();
      }
    }, 60_000);
  });
});
