import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuditEvent } from '../shared/audit/index.js';
import { formatPublicId } from '../shared/ids/index.js';
import { createTestDatabase, hasPostgresServer, type TestDatabase } from '../shared/testing/database.js';
import { insertChannel } from '../shared/testing/fixtures.js';

const run = promisify(execFile);

/** `npm run audit` is another process: it needs a database server both can reach. */
describe.skipIf(!hasPostgresServer)('npm run audit -- search [skipped: needs DATABASE_URL, the CLI is another process]', () => {
  let testDb: TestDatabase;
  let ownerId: string;
  let channelId: string;
  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'scripts/audit.ts', ...args], { env: { ...process.env, DATABASE_URL: testDb.url } });
  const lines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const channel = await insertChannel(testDb.db);
    ({ id: channelId, ownerAccountId: ownerId } = channel);
    const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 10, minute));
    await recordAuditEvent(testDb.db, { occurredAt: at(0), actor: { type: 'account', id: ownerId }, action: 'auth.login_failed', subject: { type: 'account', id: ownerId }, requestId: 'req-a', ip: '203.0.113.5', details: { reason: 'wrong_password' } });
    await recordAuditEvent(testDb.db, { occurredAt: at(1), actor: { type: 'account', id: ownerId }, action: 'channel.wallet_changed', subject: { type: 'channel', id: channelId }, requestId: 'req-b', ip: '203.0.113.5' });
    await recordAuditEvent(testDb.db, { occurredAt: at(2), actor: { type: 'operator', id: 'ops' }, action: 'dead_letter.redriven', subject: { type: 'dead_letter', id: '4' } });
  });
  afterAll(() => testDb?.dispose());

  it('prints the matching entries as JSON lines, oldest first', async () => {
    const { stdout } = await cli('search', '--owner', formatPublicId('account', ownerId));
    expect(lines(stdout)).toEqual([
      expect.objectContaining({ action: 'auth.login_failed', actorType: 'account', actorId: ownerId, requestId: 'req-a', ip: '203.0.113.5', details: { reason: 'wrong_password' }, occurredAt: '2026-12-01T10:00:00.000Z' }),
      expect.objectContaining({ action: 'channel.wallet_changed', subjectType: 'channel', subjectId: channelId, requestId: 'req-b' }),
    ]);
    expect(lines((await cli('search', '--action', 'dead_letter.*')).stdout).map((line) => line.actorId)).toEqual(['ops']);
    expect(lines((await cli('search', '--request-id', 'req-b')).stdout).map((line) => line.action)).toEqual(['channel.wallet_changed']);
    expect(lines((await cli('search', '--since', '2026-12-01T10:01:00Z', '--owner', ownerId)).stdout).map((line) => line.action)).toEqual(['channel.wallet_changed']);
  });

  it('refuses a bad argument with the usage and exit code 2', async () => {
    for (const args of [['list'], ['search', '--since', 'yesterday'], ['search', '--owner', 'bob'], ['search', '--limit', '0']]) {
      const error = (await cli(...args).catch((caught: unknown) => caught)) as { code: number; stderr: string };
      expect(error.code, args.join(' ')).toBe(2);
      expect(error.stderr).toContain('usage: npm run audit -- search');
    }
  });
});
