/**
 * `npm run audit -- search [--owner ID] [--action A] [--since ISO] [--request-id R] [--limit N]`
 * The operator's search of the audit trail (`audit_log`): one JSON object per line, oldest first.
 * `--owner` takes an account's `acc_…` id or uuid and matches what `GET /api/v1/me/audit` shows that
 * owner (the account's own actions, and what was done to it, its channels and payouts); `--action`
 * an exact action (`payout.held`) or a prefix (`payout.*`). Uses DATABASE_URL; reads only.
 */
import { parseArgs } from 'node:util';
import { searchAuditLog } from '../shared/audit/index.js';
import { ConfigError, configVars, loadConfig } from '../shared/config/index.js';
import { openDatabase } from '../shared/db/index.js';
import { AppError } from '../shared/errors/index.js';
import { parsePublicId } from '../shared/ids/index.js';

const USAGE = 'usage: npm run audit -- search [--owner <acc_… or uuid>] [--action <a.b or a.*>] [--since <ISO time>] [--request-id <id>] [--limit <1–100000, default 1000>]';

class UsageError extends Error {
  override name = 'UsageError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function ownerId(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (UUID.test(text)) return text.toLowerCase();
  try {
    return parsePublicId('account', text);
  } catch {
    throw new UsageError(`--owner ${JSON.stringify(text.slice(0, 60))} is neither an acc_… id nor a uuid`);
  }
}

function instant(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--since must be an ISO date or time (2026-12-01 or 2026-12-01T10:00:00Z), not ${JSON.stringify(text.slice(0, 60))}`);
  return at;
}

function limitOf(text: string | undefined): number {
  if (text === undefined) return 1000;
  const limit = /^\d{1,6}$/.test(text) ? Number(text) : 0;
  if (limit < 1 || limit > 100_000) throw new UsageError('--limit must be a whole number 1–100000');
  return limit;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { owner: { type: 'string' }, action: { type: 'string' }, since: { type: 'string' }, 'request-id': { type: 'string' }, limit: { type: 'string' } },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'search') throw new UsageError('');
  const filter = { ownerAccountId: ownerId(values.owner), action: values.action, since: instant(values.since), requestId: values['request-id'], limit: limitOf(values.limit) };

  const config = loadConfig({ DATABASE_URL: configVars.DATABASE_URL.unwrap() });
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL });
  try {
    const records = await searchAuditLog(db, { ...filter, order: 'oldest_first', limit: filter.limit + 1 });
    for (const record of records.slice(0, filter.limit)) {
      const { ip, ...details } = record.details;
      console.log(
        JSON.stringify({
          id: record.id.toString(),
          occurredAt: record.occurredAt.toISOString(),
          actorType: record.actorType,
          actorId: record.actorId,
          action: record.action,
          subjectType: record.subjectType,
          subjectId: record.subjectId,
          requestId: record.requestId,
          ip: typeof ip === 'string' ? ip : null,
          details,
        }),
      );
    }
    if (records.length > filter.limit) console.error(`More than ${filter.limit} entries match: narrow with --since, or raise --limit.`);
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
  else console.error('audit: failed');
  process.exitCode = 1;
});
