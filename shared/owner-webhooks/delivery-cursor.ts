import * as z from 'zod';
import { ownerWebhookError } from './errors.js';

/**
 * Page cursors of the delivery log: the earnings lists' format (`{ k, at, id }`, base64url JSON, the
 * row's created_at with microseconds and its uuid). Its own copy because earnings/ depends on
 * payouts/, which records webhook events through this folder.
 */
const CursorSchema = z.object({
  k: z.literal('webhook_deliveries'),
  at: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/).refine((at) => Number.isFinite(Date.parse(`${at.slice(0, 23)}Z`)) && !at.startsWith('0000')),
  id: z.uuid(),
});

export interface DeliveryCursor {
  at: string;
  id: string;
}

/** SQL for the created_at column as the cursor's `at` text. */
export const cursorAtSql = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function encodeDeliveryCursor(key: DeliveryCursor): string {
  return Buffer.from(JSON.stringify({ k: 'webhook_deliveries', at: key.at, id: key.id }), 'utf8').toString('base64url');
}

/** @throws PermanentError `invalid_cursor` for anything `encodeDeliveryCursor` did not make. */
export function decodeDeliveryCursor(cursor: string): DeliveryCursor {
  const invalid = () => ownerWebhookError('invalid_cursor', 'This cursor is not valid for this list. Start again without a cursor.');
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const result = CursorSchema.safeParse(parsed);
  if (!result.success) throw invalid();
  return { at: result.data.at, id: result.data.id };
}
