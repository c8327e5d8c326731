import type { Db, Tx } from '../db/index.js';

export interface MessageKey {
  /** The consuming function. */
  consumer: string;
  /** The de-duplication id (`pgp_message_id`, else Pub/Sub's message id). */
  messageId: string;
  topic: string;
}

/**
 * Records inside the effect's transaction that `consumer` has handled the message. Returns false
 * when it already had (a redelivery): the caller then does nothing. A concurrent duplicate blocks
 * on the primary key until the first commits, then sees it; if the first rolls back, the record
 * goes with it and the duplicate proceeds.
 */
export async function claimMessage(tx: Tx, key: MessageKey, at: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO processed_messages (consumer, message_id, topic, processed_at)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (consumer, message_id) DO NOTHING`,
    [key.consumer, key.messageId, key.topic, at],
  );
  return rowCount === 1;
}

/**
 * `claimMessage` as a CTE for the effect's first statement (`WITH claim AS (${sql}) SELECT …,
 * EXISTS (SELECT 1 FROM claim) AS is_first …`), its parameters numbered from `firstParam`: the
 * same claim, one statement fewer. Run it inside the effect's transaction.
 */
export function messageClaimSql(key: MessageKey, at: Date, firstParam: number): { sql: string; params: unknown[] } {
  const n = firstParam;
  return {
    sql: `INSERT INTO processed_messages (consumer, message_id, topic, processed_at)
          VALUES ($${n}::text, $${n + 1}::text, $${n + 2}::text, $${n + 3}::timestamptz)
          ON CONFLICT (consumer, message_id) DO NOTHING
          RETURNING true AS claimed`,
    params: [key.consumer, key.messageId, key.topic, at],
  };
}

export type HandleOnceResult<R> = { isDuplicate: true } | { isDuplicate: false; result: R };

/** Runs `effect` in a transaction that also claims the message; a duplicate runs nothing. */
export async function handleOnce<R>(db: Db, key: MessageKey, at: Date, effect: (tx: Tx) => Promise<R>): Promise<HandleOnceResult<R>> {
  return db.transaction(async (tx) => {
    if (!(await claimMessage(tx, key, at))) return { isDuplicate: true } as const;
    return { isDuplicate: false, result: await effect(tx) } as const;
  });
}
