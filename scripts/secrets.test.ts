import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretManagerStore, keyIdOf, type SecretStore } from '../shared/secrets/index.js';
import { type FakeSecretManager, secretManagerClientOptions, startFakeSecretManager } from '../shared/testing/fakes/secret-manager-server.js';
import { recordSecretRotation } from '../shared/audit/index.js';
import { createTestDatabase } from '../shared/testing/database.js';
import { runSecretsCommand } from './secrets.js';

const PROJECT = 'pgp-rotate-test';
const NOW = new Date('2026-12-06T10:00:00Z');
let fake: FakeSecretManager;
let store: SecretStore;
let dir: string;

beforeAll(async () => {
  fake = await startFakeSecretManager();
  store = createSecretManagerStore({ projectId: PROJECT, clientOptions: secretManagerClientOptions(fake) });
  dir = await mkdtemp(path.join(tmpdir(), 'pgp-secrets-'));
});
afterAll(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[], env: NodeJS.ProcessEnv, now = NOW) {
  const lines: string[] = [];
  const code = await runSecretsCommand(args, { env, print: (line) => lines.push(line), now: () => now, store });
  return { code, output: lines.join('\n') };
}

describe('npm run secrets -- rotate, with the environment', () => {
  it('writes a fresh value to a file only the operator can read, prints the steps and never the value', async () => {
    const out = path.join(dir, 'jwt-secret.new');
    const { code, output } = await run(['rotate', 'jwt-secret', '--out', out], {});
    expect(code).toBe(0);
    const value = (await readFile(out, 'utf8')).trim();
    expect(Buffer.from(value, 'base64')).toHaveLength(32);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(output).not.toContain(value);
    expect(output).toContain(keyIdOf(value));
    expect(output).toContain('JWT_SECRET_PREVIOUS_UNTIL');
    expect(output).toContain('2026-12-06T11:00:00Z'); // default overlap: 1 hour
    // An existing file is never overwritten.
    await expect(run(['rotate', 'jwt-secret', '--out', out], {})).rejects.toThrow();
  });

  it('makes a hex webhook secret and says to call setWebhook; takes the IPN secret from a file', async () => {
    const out = path.join(dir, 'webhook.new');
    expect((await run(['rotate', 'telegram-webhook-secret', '--out', out], {})).output).toContain('setWebhook');
    expect((await readFile(out, 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    await expect(run(['rotate', 'nowpayments-ipn-secret'], {})).rejects.toMatchObject({ code: 'invalid_rotation' });
    const given = path.join(dir, 'ipn.txt');
    await writeFile(given, 'np-ipn-secret-from-the-dashboard\n');
    const { output } = await run(['rotate', 'nowpayments-ipn-secret', '--value-file', given], {});
    expect(output).toContain('NOWPAYMENTS_IPN_SECRET_PREVIOUS');
    expect(output).not.toContain('np-ipn-secret-from-the-dashboard');
  });

  it('refuses an unknown name or command with the usage, and a weak value with its rule', async () => {
    expect((await run(['rotate', 'database-url'], {})).code).toBe(2);
    expect((await run(['list'], {})).code).toBe(2);
    expect((await run(['rotate', 'jwt-secret', '--overlap', '1h'], {})).code).toBe(2);
    expect((await run(['rotate', 'jwt-secret', '--overlap', String(8 * 86_400)], {})).code).toBe(2);
    const weak = path.join(dir, 'weak.txt');
    await writeFile(weak, 'j'.repeat(40));
    await expect(run(['rotate', 'jwt-secret', '--value-file', weak], {})).rejects.toThrow('JWT_SECRET: must be at least 32 random bytes');
  });
});

describe('npm run secrets -- rotate, with Secret Manager', () => {
  const env = { SECRETS_SOURCE: 'secret-manager', GOOGLE_CLOUD_PROJECT: PROJECT };

  it('adds a version and moves the aliases (previous ← current, current ← new), recording the overlap end', async () => {
    fake.seed(PROJECT, 'jwt-secret', ['iQnu/4klVj9Z9A5tYbXp6qumoIqGet8jSNtZ+71L+pY='], { current: 1 });
    const { code, output } = await run(['rotate', 'jwt-secret', '--overlap', '900'], env);
    expect(code).toBe(0);
    const secret = fake.secret(PROJECT, 'jwt-secret')!;
    expect(secret.versions).toHaveLength(2);
    expect(secret.aliases).toEqual({ current: 2, previous: 1 });
    expect(secret.annotations).toMatchObject({ 'previous-until': '2026-12-06T10:15:00.000Z', 'rotated-at': NOW.toISOString() });
    const value = secret.versions[1]!.value.toString('utf8');
    expect(output).toContain(`version 2 (kid ${keyIdOf(value)}) is current`);
    expect(output).not.toContain(value);
  });

  it('records the rotation in the audit trail: who, which versions, until when; never the value', async () => {
    const testDb = await createTestDatabase();
    try {
      fake.seed(PROJECT, 'nowpayments-ipn-secret', ['old-ipn-secret-value-0123456789abcdef'], { current: 1 });
      const valueFile = path.join(dir, 'ipn.txt');
      await writeFile(valueFile, 'new-ipn-secret-value-0123456789abcdef\n');
      const lines: string[] = [];
      const code = await runSecretsCommand(['rotate', 'nowpayments-ipn-secret', '--value-file', valueFile, '--operator', 'alice'], {
        env,
        print: (line) => lines.push(line),
        now: () => NOW,
        store,
        recordRotation: (rotation) => recordSecretRotation(testDb.db, rotation),
      });
      expect(code).toBe(0);
      expect(lines.join('\n')).toContain('Recorded in the audit trail');
      const { rows } = await testDb.db.query<{ actor_type: string; actor_id: string; subject_id: string; details: Record<string, unknown> }>(
        `SELECT actor_type, actor_id, subject_id, details FROM audit_log WHERE action = 'secret.rotated'`,
      );
      expect(rows).toEqual([
        expect.objectContaining({ actor_type: 'operator', actor_id: 'alice', subject_id: 'NOWPAYMENTS_IPN_SECRET', details: expect.objectContaining({ fromVersion: '1', toVersion: '2' }) }),
      ]);
      expect(JSON.stringify(rows)).not.toContain('ipn-secret-value');
    } finally {
      await testDb.dispose();
    }
  });

  it('refuses to rotate again while an overlap runs (it would drop a value still in use), unless forced', async () => {
    await expect(run(['rotate', 'jwt-secret'], env, new Date('2026-12-06T10:10:00Z'))).rejects.toMatchObject({ code: 'invalid_rotation' });
    expect(fake.secret(PROJECT, 'jwt-secret')!.versions).toHaveLength(2);
    expect((await run(['rotate', 'jwt-secret'], env, new Date('2026-12-06T10:15:00Z'))).code).toBe(0);
    expect(fake.secret(PROJECT, 'jwt-secret')!.aliases).toEqual({ current: 3, previous: 2 });
    expect((await run(['rotate', 'jwt-secret', '--force'], env, new Date('2026-12-06T10:16:00Z'))).code).toBe(0);
    expect(fake.secret(PROJECT, 'jwt-secret')!.aliases).toEqual({ current: 4, previous: 3 });
  });

  it('starts a secret with no current alias (first value) without a previous one', async () => {
    fake.seed(PROJECT, 'telegram-webhook-secret', []);
    await run(['rotate', 'telegram-webhook-secret'], env);
    expect(fake.secret(PROJECT, 'telegram-webhook-secret')!.aliases).toEqual({ current: 1 });
  });
});
