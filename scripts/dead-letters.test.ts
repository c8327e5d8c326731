import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDeadLetter } from '../shared/bus/index.js';
import { createTestDatabase, hasPostgresServer, type TestDatabase } from '../shared/testing/database.js';

const run = promisify(execFile);

/** `npm run dead-letters` is another process: it needs a database server both can reach. */
describe.skipIf(!hasPostgresServer)('npm run dead-letters [skipped: needs DATABASE_URL, the CLI is another process]', () => {
  let testDb: TestDatabase;
  // What `npm run dead-letters` runs (tsx), without npx's start-up cost.
  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'scripts/dead-letters.ts', ...args], { env: { ...process.env, DATABASE_URL: testDb.url } });
  const failure = async (...args: string[]) => {
    const error = await cli(...args).then(
      () => undefined,
      (caught: unknown) => caught as { code: number; stdout: string; stderr: string },
    );
    if (!error) throw new Error(`expected dead-letters ${args.join(' ')} to fail`);
    return error;
  };

  const inviteMessageId = randomUUID();
  const inviteBody = { paymentId: randomUUID() };
  let invite: bigint;
  let orphan: bigint;
  let poison: bigint;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    ({ id: invite } = await recordDeadLetter(testDb.db, {
      source: 'invite-requested--send-invite',
      topic: 'invite-requested',
      messageId: inviteMessageId,
      reasonCode: 'max_delivery_attempts',
      reason: 'Delivery failed 10 times; forwarded to invite-requested-dlq',
      data: JSON.stringify(inviteBody),
      attributes: { pgp_message_id: inviteMessageId, CloudPubSubDeadLetterSourceDeliveryCount: '10' },
      deliveryAttempt: 10,
      at: new Date('2026-12-01T10:00:00Z'),
    }));
    ({ id: orphan } = await recordDeadLetter(testDb.db, {
      source: 'nowpayments-ipn',
      messageId: 'nowpayments:4067768145:finished',
      reasonCode: 'orphan_payment',
      reason: 'no checkout has this order_id',
      data: JSON.stringify({ paymentId: 4067768145, orderId: 'nope', status: 'finished' }),
      at: new Date('2026-12-01T11:00:00Z'),
    }));
    ({ id: poison } = await recordDeadLetter(testDb.db, {
      source: 'send-invite',
      topic: 'invite-requested',
      messageId: randomUUID(),
      reasonCode: 'invalid_message',
      reason: 'The invite-requested message does not match its schema',
      data: JSON.stringify({ paymentId: 'not-a-uuid' }),
      at: new Date('2026-12-01T12:00:00Z'),
    }));
  });
  afterAll(() => testDb?.dispose());

  it('lists open letters newest first with their source, topic, reason, message id and re-drive count', async () => {
    const { stdout } = await cli('list');
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+when\s+source\s+topic\s+reason\s+message id\s+re-driven$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual([String(poison), String(orphan), String(invite)]);
    expect(lines[3]).toMatch(new RegExp(`^${invite}\\s+2026-12-01T10:00:00.000Z\\s+invite-requested--send-invite\\s+invite-requested\\s+max_delivery_attempts\\s+${inviteMessageId}\\s+0×$`));
    expect((await cli('list', '--topic', 'invite-requested', '--source', 'send-invite')).stdout).not.toContain(inviteMessageId);
    expect((await cli('list', '--since', '2026-12-01T11:30:00Z')).stdout.trim().split('\n')).toHaveLength(2);
  });

  it('shows one letter with its attributes and pretty-printed body, and says whether it can be re-driven', async () => {
    const { stdout } = await cli('show', String(invite));
    expect(stdout).toContain(`Dead letter ${invite} (open)`);
    expect(stdout).toContain('after 10 delivery attempts');
    expect(stdout).toContain('"CloudPubSubDeadLetterSourceDeliveryCount": "10"');
    expect(stdout).toContain(`body:\n{\n  "paymentId": "${inviteBody.paymentId}"\n}`);
    expect(stdout).toContain(`npm run dead-letters -- redrive ${invite} --operator <name>`);
    expect((await cli('show', String(orphan))).stdout).toMatch(/re-drive:\s+not possible: .*no topic/);
  });

  it('re-drives a letter through the outbox under its original id, audited, and shows when and by whom', async () => {
    const { stdout } = await cli('redrive', String(invite), '--operator', 'ops@example.com');
    expect(stdout).toContain(`Re-drove dead letter ${invite} to invite-requested under message id ${inviteMessageId} (re-drive 1)`);
    const { rows } = await testDb.db.query<{ topic: string; payload: unknown; original_message_id: string; published_at: Date | null }>(
      'SELECT topic, payload, original_message_id, published_at FROM outbox WHERE dead_letter_id = $1',
      [invite],
    );
    expect(rows).toEqual([{ topic: 'invite-requested', payload: inviteBody, original_message_id: inviteMessageId, published_at: null }]);
    const { rows: audit } = await testDb.db.query('SELECT actor_type, actor_id, action FROM audit_log WHERE subject_id = $1', [String(invite)]);
    expect(audit).toEqual([{ actor_type: 'operator', actor_id: 'ops@example.com', action: 'dead_letter.redriven' }]);
    const shown = (await cli('show', String(invite))).stdout;
    expect(shown).toContain(`Dead letter ${invite} (re-driven)`);
    expect(shown).toMatch(/re-driven:\s+1×, last \S+ by ops@example\.com/);
    expect(shown).toContain('not published yet');
    expect((await cli('list')).stdout).not.toContain(inviteMessageId);
    expect((await cli('list', '--all')).stdout).toMatch(new RegExp(`${inviteMessageId}\\s+1×\\s+re-driven`));
  });

  it('refuses to re-drive a letter without a topic or with a body its schema rejects, and exits 1', async () => {
    const noTopic = await failure('redrive', String(orphan), '--operator', 'ops@example.com');
    expect(noTopic.code).toBe(1);
    expect(noTopic.stderr).toContain('no topic');
    const invalid = await failure('redrive', String(poison), '--operator', 'ops@example.com');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('not a valid invite-requested message');
    expect((await testDb.db.query('SELECT 1 FROM outbox WHERE dead_letter_id = ANY($1)', [[orphan, poison]])).rows).toEqual([]);
  });

  it('re-drives the open letters of a topic in a window: a dry run first, then for real', async () => {
    const messageId = randomUUID();
    const { id: late } = await recordDeadLetter(testDb.db, {
      source: 'send-invite',
      topic: 'invite-requested',
      messageId,
      reasonCode: 'telegram_forbidden',
      reason: 'Forbidden: bot was blocked by the user',
      data: JSON.stringify({ paymentId: randomUUID() }),
      at: new Date('2026-12-01T13:00:00Z'),
    });
    const window = ['redrive', '--topic', 'invite-requested', '--since', '2026-12-01', '--until', '2026-12-02T00:00:00Z', '--operator', 'ops@example.com'];
    const dryRun = await failure(...window, '--dry-run');
    expect(dryRun.code).toBe(1); // the poison letter would be refused
    expect(dryRun.stdout).toContain(`Would re-drive dead letter ${late} to invite-requested under message id ${messageId} (re-drive 1)`);
    expect(dryRun.stderr).toContain(`Would refuse dead letter ${poison}`);
    expect(dryRun.stdout).toContain('Dry run: 1 to re-drive, 1 refused. Nothing changed.');
    expect((await testDb.db.query('SELECT 1 FROM outbox WHERE dead_letter_id = $1', [late])).rows).toEqual([]);

    const real = await failure(...window);
    expect(real.stdout).toContain(`Re-drove dead letter ${late} to invite-requested under message id ${messageId} (re-drive 1)`);
    expect(real.stdout).toContain('1 re-driven, 1 refused.');
    expect((await testDb.db.query('SELECT original_message_id FROM outbox WHERE dead_letter_id = $1', [late])).rows).toEqual([{ original_message_id: messageId }]);
    const { rows } = await testDb.db.query<{ subject_id: string }>(`SELECT subject_id FROM audit_log WHERE action = 'dead_letter.redriven' AND subject_id = ANY($1)`, [[String(late), String(poison)]]);
    expect(rows).toEqual([{ subject_id: String(late) }]);
  });

  it('resolves a letter with a reason, once', async () => {
    const { stdout } = await cli('resolve', String(orphan), '--operator', 'ops@example.com', '--reason', 'not one of our orders');
    expect(stdout).toContain(`Resolved dead letter ${orphan}`);
    expect((await cli('show', String(orphan))).stdout).toMatch(/closed:\s+\S+ by ops@example\.com: resolved \(not one of our orders\)/);
    const again = await failure('resolve', String(orphan), '--operator', 'ops@example.com', '--reason', 'again');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already closed');
  });

  it('answers a malformed command with the usage and exit code 2', async () => {
    for (const args of [['redrive', String(invite)], ['resolve', String(poison), '--operator', 'ops'], ['list', '--since', 'yesterday']]) {
      const error = await failure(...args);
      expect(error.code, args.join(' ')).toBe(2);
      expect(error.stderr).toContain('usage: npm run dead-letters --');
    }
  });
});
