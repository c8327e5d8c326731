import type * as z from 'zod';
import { PermanentError } from '../errors/index.js';
import type { CursorKey } from './cursor.js';
import { DEFAULT_PAGE_SIZE } from './earnings-schemas.js';
import { earningsError } from './errors.js';

/** One invalid query parameter and how to fix it. */
export interface QueryProblem {
  path: string;
  message: string;
}

/** `validation_failed` with `fields` keyed like the router's: `query.<name>`. */
function invalidQuery(problems: QueryProblem[]): PermanentError {
  const fields: Record<string, string> = {};
  for (const { path, message } of problems) fields[`query.${path}`] ??= message;
  return earningsError('validation_failed', `Invalid query (${Object.entries(fields).map(([path, message]) => `${path}: ${message}`).join('; ')}).`, { fields });
}

/** Parses a query object with its schema; a mismatch is `validation_failed` with `fields`. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const parsed = schema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  throw invalidQuery(parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(query)', message: issue.message })));
}

export function pageSize(limit: string | undefined): number {
  return limit === undefined ? DEFAULT_PAGE_SIZE : Number(limit);
}

/**
 * `from` inclusive, `to` exclusive, kept as the ISO text given: Postgres reads microseconds that a
 * JS `Date` would drop. Refuses an empty or inverted range.
 */
export function timeRange(from: string | undefined, to: string | undefined): { from: string | null; to: string | null } {
  if (from !== undefined && to !== undefined && new Date(from) >= new Date(to)) throw invalidQuery([{ path: 'to', message: 'must be later than from' }]);
  return { from: from ?? null, to: to ?? null };
}

/** The comma-separated values of a list filter, or null for "all". */
export function listValues(text: string | undefined): string[] | null {
  return text === undefined ? null : [...new Set(text.split(','))];
}

/**
 * Builds a WHERE clause from optional conditions, numbering parameters after the fixed ones:
 * `add('(p.created_at, p.id) < ($::timestamptz, $::uuid)', at, id)` turns each bare `$` into the
 * next placeholder, in order.
 */
export interface Conditions {
  add(sql: string, ...values: unknown[]): void;
  where(): string;
  params: unknown[];
}

export function conditions(fixed: unknown[]): Conditions {
  const params = [...fixed];
  const parts: string[] = [];
  return {
    add(sql, ...values) {
      let next = 0;
      parts.push(sql.replace(/\$(?!\d)/g, () => `$${params.length + ++next}`));
      params.push(...values);
    },
    where: () => (parts.length > 0 ? ` AND ${parts.join(' AND ')}` : ''),
    params,
  };
}

/**
 * The conditions every list ordered newest first by `(created_at, id)` shares: its time window
 * (`from` inclusive, `to` exclusive) and the keyset position after the cursor's row.
 */
export function addNewestFirstWindow(where: Conditions, alias: string, window: { from: string | null; to: string | null }, after: CursorKey | null): void {
  if (window.from) where.add(`${alias}.created_at >= $::timestamptz`, window.from);
  if (window.to) where.add(`${alias}.created_at < $::timestamptz`, window.to);
  if (after) where.add(`(${alias}.created_at, ${alias}.id) < ($::timestamptz, $::uuid)`, after.at, after.id);
}
