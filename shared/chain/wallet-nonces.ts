import type { Tx } from '../db/index.js';
import { chainError } from './errors.js';

/**
 * Takes the next nonce of a hot wallet, inside the caller's transaction: the `wallet_nonces` row
 * stays locked until it commits, so concurrent signers for one wallet take distinct, consecutive
 * nonces, and a rolled-back signing gives its nonce back.
 *
 * The nonce is max(stored next nonce, the network's pending nonce): the network wins when something
 * outside this database spent from the wallet, the table wins for our own signed transactions that
 * are not broadcast yet.
 */
export async function allocateNonce(
  tx: Tx,
  input: { chainId: bigint; address: string; networkNonce: bigint; now: Date },
): Promise<bigint> {
  const allocation = nonceAllocation(input, 1);
  const { rows } = await tx.query<{ nonce: unknown }>(allocation.sql, allocation.params);
  const nonce = rows[0]?.nonce;
  if (nonce === undefined) throw chainError('transfer_invariant_broken', 'allocateNonce: the upsert returned no row');
  return BigInt(nonce as bigint | number | string);
}

/**
 * `allocateNonce`'s upsert, parameters from `$firstParam`, for a statement that takes the nonce with
 * another step (a CTE); with `when`, only when that SQL condition holds. Returns `nonce`.
 */
export function nonceAllocation(
  input: { chainId: bigint; address: string; networkNonce: bigint; now: Date },
  firstParam: number,
  when?: string,
): { sql: string; params: unknown[] } {
  const $ = (n: number) => `$${firstParam + n - 1}`;
  return {
    sql: `INSERT INTO wallet_nonces (chain_id, address, next_nonce, updated_at)
     SELECT ${$(1)}::bigint, ${$(2)}::text, ${$(3)}::bigint + 1, ${$(4)}::timestamptz${when ? ` WHERE ${when}` : ''}
     ON CONFLICT (chain_id, address) DO UPDATE
       SET next_nonce = GREATEST(wallet_nonces.next_nonce, ${$(3)}::bigint) + 1, updated_at = EXCLUDED.updated_at
     RETURNING next_nonce - 1 AS nonce`,
    params: [input.chainId.toString(), input.address.toLowerCase(), input.networkNonce.toString(), input.now],
  };
}
