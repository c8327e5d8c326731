import { describe, expect, it } from 'vitest';
import { toChainError } from './chain-errors.js';
import { chainError } from './errors.js';

describe('toChainError', () => {
  it.each([
    ['an ethers NETWORK_ERROR', { code: 'NETWORK_ERROR', message: 'network error' }, 'chain_unavailable', true],
    ['an ethers TIMEOUT', { code: 'TIMEOUT', message: 'timeout' }, 'chain_unavailable', true],
    ['a 5xx (SERVER_ERROR)', { code: 'SERVER_ERROR', message: 'server response 502' }, 'chain_unavailable', true],
    ['a refused connection', new Error('connect ECONNREFUSED 127.0.0.1:8545'), 'chain_unavailable', true],
    ['INSUFFICIENT_FUNDS', { code: 'INSUFFICIENT_FUNDS', message: 'insufficient funds' }, 'hot_wallet_insufficient_funds', true],
    ['a nested insufficient funds message', { code: 'UNKNOWN_ERROR', error: { message: 'insufficient funds for gas * price + value' } }, 'hot_wallet_insufficient_funds', true],
    ['a revert (CALL_EXCEPTION)', { code: 'CALL_EXCEPTION', message: 'execution reverted' }, 'transfer_would_revert', false],
    ['any other node refusal', { code: 'UNKNOWN_ERROR', message: 'something odd' }, 'chain_request_failed', true],
  ])('maps %s', (_name, raw, code, isRetryable) => {
    expect(toChainError(raw, 'test')).toMatchObject({ code, isRetryable });
  });

  it('passes our own errors through', () => {
    const own = chainError('chain_id_mismatch', 'x');
    expect(toChainError(own, 'test')).toBe(own);
  });
});
