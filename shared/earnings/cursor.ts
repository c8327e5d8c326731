import * as z from 'zod';
import { earningsError } from './errors.js';

/**
 * Opaque page cursors for lists ordered newest first by `(created_at, id)`. A cursor holds the last
 * row's key: its timestamp as Postgres text with microseconds (a JS `Date` would drop them, and rows
 * written in the same millisecond would then be skipped or repeated) and its uuid. The list kind is
 * inside, so a payments cursor cannot page payouts. Cursors are not secrets: they only name a place.
 */
export type CursorKind = 'payments' | 'subscriptions' | 'payouts' | 'webhook_deliveries';

export interface CursorKey {
  /** `2026-03-01T10:00:00.123456Z`: the row's created_at in UTC with microseconds. */
  at: string;
  id: string;
}

/**
 * True when `at` names an instant that exists (no month 13, February 30 or 24:00) in a year
 * PostgreSQL reads (from 1): a cursor is client input, and the database refuses anything else.
 */
function isRealInstant(at: string): boolean {
  const ms = Date.parse(`${at.slice(0, 23)}Z`);
  return Number.isFinite(ms) && !at.startsWith('0000') && new Date(ms).toISOString().slice(0, 19) === at.slice(0, 19);
}

const CursorSchema = z.object({
  k: z.enum(['payments', 'subscriptions', 'payouts', 'webhook_deliveries']),
  at: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
    .refine(isRealInstant),
  id: z.uuid(),
});

/** SQL for a timestamptz column as the cursor's `at` text. */
export const cursorTimestampSql = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function encodeCursor(kind: CursorKind, key: CursorKey): string {
  return Buffer.from(JSON.stringify({ k: kind, at: key.at, id: key.id }), 'utf8').toString('base64url');
}

/** @throws PermanentError `invalid_cursor` for anything `encodeCursor` did not make for this kind. */
export function decodeCursor(kind: CursorKind, cursor: string): CursorKey {
  const invalid = () => earningsError('invalid_cursor', 'This cursor is not valid for this list. Start again without a cursor.');
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const result = CursorSchema.safeParse(parsed);
  if (!result.success || result.data.k !== kind) throw invalid();
  return { at: result.data.at, id: result.data.id };
}

/** One page of a list: the items and the cursor of the next page, null on the last one. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Cuts a page from rows fetched with `LIMIT limit + 1` (the extra row only says "there is more")
 * and makes the next cursor from the last row kept.
 */
export function toPage<R extends { cursor_at: string; id: string }, T>(kind: CursorKind, rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return {
    items: kept.map(map),
    nextCursor: rows.length > limit && last ? encodeCursor(kind, { at: last.cursor_at, id: last.id }) : null,
  };
}
