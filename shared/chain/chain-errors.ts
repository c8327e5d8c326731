import { AppError } from '../errors/index.js';
import { chainError } from './errors.js';

/**
 * Codes the chain adapter throws.
 * - `chain_unavailable` (transient): the RPC could not be reached, timed out or answered 5xx.
 * - `hot_wallet_insufficient_funds` (transient, alert-worthy): the hot wallet cannot cover amount +
 *   gas. It is the operator's problem, not the payout's: the payout waits and goes out after a top-up.
 * - `gas_price_above_cap` (transient): fees are above the configured cap; defer, do not fail.
 * - `transfer_would_revert` (permanent): the node says the call reverts (e.g. a token blocklist).
 * - `transfer_nonce_conflict` (transient, alert-worthy): another transaction took our stored nonce.
 *   Never re-sign: an operator must look.
 * - `chain_id_mismatch` (permanent): the RPC serves another chain than configured.
 * - `chain_request_failed` (transient): any other node refusal, retried a bounded number of times.
 */
export type ChainErrorCode =
  | 'chain_unavailable'
  | 'hot_wallet_insufficient_funds'
  | 'gas_price_above_cap'
  | 'transfer_would_revert'
  | 'transfer_nonce_conflict'
  | 'chain_id_mismatch'
  | 'chain_request_failed';

/** The ethers error code and every nested message we can find, for matching only (never logged). */
export function describeRpcFailure(error: unknown): { ethersCode: string | undefined; text: string } {
  const parts: string[] = [];
  let ethersCode: string | undefined;
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 5 || value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    const record = value as Record<string, unknown>;
    if (typeof record.code === 'string' && ethersCode === undefined) ethersCode = record.code;
    for (const key of ['message', 'shortMessage', 'reason']) {
      if (typeof record[key] === 'string') parts.push(record[key] as string);
    }
    for (const key of ['error', 'info', 'cause']) visit(record[key], depth + 1);
  };
  visit(error, 0);
  return { ethersCode, text: parts.join(' | ') };
}

const NETWORK_PATTERN = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|fetch failed|socket hang up|timeout|network/i;

/**
 * Translates a raw provider failure into our errors: "we could not reach it" is
 * `chain_unavailable`; "the node said no" keeps its own code. Our own AppErrors pass through.
 */
export function toChainError(error: unknown, operation: string): AppError {
  if (error instanceof AppError) return error;
  const { ethersCode, text } = describeRpcFailure(error);
  const context = { operation, ethersCode };
  if (ethersCode === 'INSUFFICIENT_FUNDS' || /insufficient funds/i.test(text)) {
    return chainError(
      'hot_wallet_insufficient_funds',
      'The hot wallet cannot cover the amount plus gas; top it up and the payout is retried.',
      context,
      error,
    );
  }
  if (ethersCode === 'CALL_EXCEPTION') {
    return chainError('transfer_would_revert', 'The node reports that this transfer would revert.', context, error);
  }
  if (ethersCode === 'NETWORK_ERROR' || ethersCode === 'TIMEOUT' || ethersCode === 'SERVER_ERROR' || NETWORK_PATTERN.test(text)) {
    return chainError('chain_unavailable', 'The Ethereum node could not be reached; retry later.', context, error);
  }
  return chainError('chain_request_failed', 'The Ethereum node refused the request.', context, error);
}
