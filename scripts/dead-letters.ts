/**
 * `npm run dead-letters -- list [--topic T] [--source S] [--since ISO] [--all] | show <id>
 *   | redrive <id> --operator <name> | redrive --topic T --since ISO [--until ISO] --operator <name> [--dry-run]
 *   | resolve <id> --operator <name> --reason <text>`
 * The operator's tool for dead letters. Uses DATABASE_URL; every re-drive and resolution is written
 * to the audit log and onto the letter.
 *
 * A re-drive is queued in the outbox, not published from here: the scheduled `relay-outbox` job
 * publishes it within a minute (locally, `npm start`'s scheduler does). So this tool needs only the
 * database, never Pub/Sub credentials, and a re-drive is never lost between queueing and publishing.
 */
import { parseArgs } from 'node:util';
import * as z from 'zod';
import {
  type DeadLetterDetail,
  type DeadLetterRecord,
  listDeadLetters,
  type Redrive,
  redriveDeadLetter,
  redriveDeadLetters,
  redriveRefusalOf,
  resolveDeadLetter,
  retrieveDeadLetter,
} from '../shared/bus/index.js';
import { systemClock } from '../shared/clock/index.js';
import { ConfigError, configVars, loadConfig } from '../shared/config/index.js';
import { openDatabase } from '../shared/db/index.js';
import { AppError } from '../shared/errors/index.js';
import { busError } from '../shared/bus/index.js';

const USAGE = [
  'usage: npm run dead-letters -- list [--topic T] [--source S] [--since ISO] [--all]',
  '                             | show <id>',
  '                             | redrive <id> --operator <name>',
  '                             | redrive --topic T --since ISO [--until ISO] --operator <name> [--dry-run]',
  '                             | resolve <id> --operator <name> --reason <text>',
].join('\n');

class UsageError extends Error {
  override name = 'UsageError';
}

const IdSchema = z.string().regex(/^[1-9][0-9]{0,18}$/, 'a dead letter id is a positive whole number');
// A full timestamp with its offset, or a date (midnight UTC): never a time that depends on this machine's zone.
const InstantSchema = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'expected an ISO-8601 time with an offset, 2026-12-01T12:00:00Z, or a date, 2026-12-01 (midnight UTC)' })
  .transform((text) => new Date(text.length === 10 ? `${text}T00:00:00Z` : text));

function parse<T>(schema: z.ZodType<T>, value: string | undefined, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${what}: ${value === undefined ? 'missing' : `"${value}" is not valid (${parsed.error.issues[0]?.message ?? 'invalid'})`}`);
  return parsed.data;
}

const optionalInstant = (value: string | undefined, what: string) => (value === undefined ? undefined : parse(InstantSchema, value, what));
const required = (value: string | undefined, what: string) => parse(z.string().trim().min(1), value, what);

function statusOf(letter: DeadLetterRecord): string {
  if (letter.resolution === 'redriven') return 're-driven';
  if (letter.resolution === 'resolved') return 'resolved';
  return letter.reopenedAt ? 'open (failed again after a re-drive)' : 'open';
}

function printList(letters: DeadLetterRecord[], includeResolved: boolean): void {
  if (letters.length === 0) {
    console.log(includeResolved ? 'No dead letters.' : 'No open dead letters.');
    return;
  }
  const rows = letters.map((letter) => [
    String(letter.id),
    letter.lastFailedAt.toISOString(),
    letter.source,
    letter.topic ?? '-',
    letter.reasonCode,
    letter.messageId ?? '-',
    `${letter.redriveCount}×`,
    ...(includeResolved ? [statusOf(letter)] : []),
  ]);
  const header = ['id', 'when', 'source', 'topic', 'reason', 'message id', 're-driven', ...(includeResolved ? ['status'] : [])];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  for (const row of [header, ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

function prettyBody(data: string | undefined): string {
  if (data === undefined) return '(none)';
  try {
    return JSON.stringify(JSON.parse(data), null, 2);
  } catch {
    return data; // not JSON (a raw IPN body, a truncated message): shown as received
  }
}

function printDetail(letter: DeadLetterDetail): void {
  const line = (label: string, value: string) => console.log(`${`${label}:`.padEnd(15)}${value}`);
  console.log(`Dead letter ${letter.id} (${statusOf(letter)})`);
  line('source', letter.source);
  line('topic', letter.topic ?? '- (not a Pub/Sub message)');
  line('message id', letter.messageId ?? '-');
  line('reason', `${letter.reasonCode}: ${letter.reason}`);
  line('recorded', `${letter.createdAt.toISOString()}${letter.deliveryAttempt === undefined ? '' : ` after ${letter.deliveryAttempt} delivery attempts`}`);
  if (letter.reopenedAt) line('failed again', `${letter.reopenedAt.toISOString()} (after a re-drive)`);
  if (letter.redriveCount > 0) line('re-driven', `${letter.redriveCount}×, last ${letter.lastRedrivenAt?.toISOString() ?? '?'} by ${letter.lastRedrivenBy ?? '?'}`);
  for (const redrive of letter.redrives) {
    const state = redrive.publishedAt ? `published ${redrive.publishedAt.toISOString()}` : `not published yet${redrive.lastError ? ` (last error: ${redrive.lastError})` : ''}`;
    line('  outbox row', `${redrive.outboxId} queued ${redrive.queuedAt.toISOString()}, ${state}`);
  }
  if (letter.resolvedAt) {
    line('closed', `${letter.resolvedAt.toISOString()} by ${letter.resolvedBy ?? '?'}: ${letter.resolution ?? '?'}${letter.resolutionNote ? ` (${letter.resolutionNote})` : ''}`);
  }
  const refusal = redriveRefusalOf(letter);
  line('re-drive', refusal ? `not possible: ${refusal.message}` : `npm run dead-letters -- redrive ${letter.id} --operator <name>`);
  line('attributes', JSON.stringify(letter.attributes, null, 2).replaceAll('\n', '\n               '));
  console.log('body:');
  console.log(prettyBody(letter.data));
}

function describeRedrive(redrive: Pick<Redrive, 'deadLetterId' | 'topic' | 'messageId' | 'redriveCount'>): string {
  return `dead letter ${redrive.deadLetterId} to ${redrive.topic} under message id ${redrive.messageId} (re-drive ${redrive.redriveCount})`;
}

const QUEUED = 'Queued in the outbox: the relay-outbox job publishes it within a minute.';

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        topic: { type: 'string' },
        source: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        all: { type: 'boolean' },
        operator: { type: 'string' },
        reason: { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { positionals, values } = parsed;
  const [command, idText, ...extra] = positionals;
  if (extra.length > 0 || !['list', 'show', 'redrive', 'resolve'].includes(command ?? '')) throw new UsageError('');

  const config = loadConfig({ DATABASE_URL: configVars.DATABASE_URL.unwrap() });
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL });
  try {
    const at = systemClock.now();
    if (command === 'list') {
      const includeResolved = values.all === true;
      printList(await listDeadLetters(db, { topic: values.topic, source: values.source, since: optionalInstant(values.since, '--since'), includeResolved }), includeResolved);
    } else if (command === 'show') {
      const id = BigInt(parse(IdSchema, idText, '<id>'));
      const letter = await retrieveDeadLetter(db, id);
      if (!letter) throw busError('dead_letter_not_found', `No dead letter has id ${id}.`);
      printDetail(letter);
    } else if (command === 'redrive' && idText !== undefined) {
      if (values.topic !== undefined || values.since !== undefined || values.until !== undefined || values['dry-run']) {
        throw new UsageError('redrive takes either one <id> or --topic/--since[/--until][/--dry-run], not both');
      }
      const redrive = await redriveDeadLetter(db, { deadLetterId: BigInt(parse(IdSchema, idText, '<id>')), operator: required(values.operator, '--operator'), at });
      console.log(`Re-drove ${describeRedrive(redrive)}. ${QUEUED}`);
    } else if (command === 'redrive') {
      const isDryRun = values['dry-run'] === true;
      const report = await redriveDeadLetters(db, {
        topic: required(values.topic, '--topic'),
        since: parse(InstantSchema, values.since, '--since'),
        until: optionalInstant(values.until, '--until'),
        operator: required(values.operator, '--operator'),
        at,
        isDryRun,
      });
      for (const redrive of report.redriven) console.log(`${isDryRun ? 'Would re-drive' : 'Re-drove'} ${describeRedrive(redrive)}`);
      for (const refusal of report.refused) console.error(`${isDryRun ? 'Would refuse' : 'Refused'} dead letter ${refusal.deadLetterId}: ${refusal.message}`);
      const summary = `${report.redriven.length} ${isDryRun ? 'to re-drive' : 're-driven'}, ${report.refused.length} refused.`;
      console.log(isDryRun ? `Dry run: ${summary} Nothing changed.` : `${summary}${report.redriven.length > 0 ? ` ${QUEUED}` : ''}`);
      if (report.refused.length > 0) process.exitCode = 1;
    } else {
      const id = BigInt(parse(IdSchema, idText, '<id>'));
      await resolveDeadLetter(db, { deadLetterId: id, operator: required(values.operator, '--operator'), reason: required(values.reason, '--reason'), at });
      console.log(`Resolved dead letter ${id}: it leaves the open list; nothing is re-published.`);
    }
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(error.message === '' ? USAGE : `${error.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (error instanceof ConfigError || error instanceof AppError) console.error(error.message);
  else console.error('dead-letters: failed');
  process.exitCode = 1;
});
