import { describe, expect, it } from 'vitest';
import { AppError, defineErrors, ERROR_KINDS, errorCode, isRetryable, PermanentError, statusOfKind, TransientError, withContext } from './index.js';

const exampleError = defineErrors({
  payout_not_held: 'conflict',
  chain_unavailable: 'unavailable',
  row_vanished: 'internal',
  channel_not_found: 'not_found',
});

describe('defineErrors', () => {
  it('makes a permanent error for every kind that retrying cannot fix', () => {
    const error = exampleError('payout_not_held', 'The payout is not held', { payoutId: 'p1' });
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'payout_not_held', kind: 'conflict', message: 'The payout is not held', context: { payoutId: 'p1' } });
    expect(isRetryable(error)).toBe(false);
  });

  it('makes a transient error for unavailable and internal, so a stage redelivers them', () => {
    expect(exampleError('chain_unavailable', 'down')).toBeInstanceOf(TransientError);
    expect(exampleError('row_vanished', 'gone')).toBeInstanceOf(TransientError);
    expect(isRetryable(exampleError('row_vanished', 'gone'))).toBe(true);
  });

  it('keeps the cause', () => {
    const cause = new Error('ECONNREFUSED');
    expect(exampleError('chain_unavailable', 'down', {}, cause).cause).toBe(cause);
  });

  it('exposes the declared codes', () => {
    expect(Object.keys(exampleError.codes)).toEqual(['payout_not_held', 'chain_unavailable', 'row_vanished', 'channel_not_found']);
  });
});

describe('the kind table', () => {
  it('gives every kind a distinct HTTP status and retries only unavailable and internal', () => {
    const statuses = Object.values(ERROR_KINDS).map((kind) => kind.status);
    expect(new Set(statuses).size).toBe(statuses.length);
    expect(Object.entries(ERROR_KINDS).filter(([, kind]) => kind.retryable).map(([name]) => name).sort()).toEqual(['internal', 'unavailable']);
    expect(statusOfKind('not_found')).toBe(404);
  });
});

describe('withContext', () => {
  it('adds context and keeps class, code, kind and message', () => {
    const original = exampleError('chain_unavailable', 'down', { attempt: 1 });
    const wrapped = withContext(original, { payoutId: 'p1' });
    expect(wrapped).toBeInstanceOf(TransientError);
    expect(wrapped).toMatchObject({ code: 'chain_unavailable', kind: 'unavailable', message: 'down', context: { attempt: 1, payoutId: 'p1' } });
    expect(wrapped.cause).toBe(original);
  });
});

describe('errors that are not ours', () => {
  it('count as retryable with the code unexpected_error', () => {
    expect(isRetryable(new TypeError('x'))).toBe(true);
    expect(errorCode(new TypeError('x'))).toBe('unexpected_error');
    expect(errorCode(exampleError('channel_not_found', 'no'))).toBe('channel_not_found');
    expect(new TypeError('x')).not.toBeInstanceOf(AppError);
  });
});
