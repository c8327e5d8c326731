import { describe, expect, it } from 'vitest';
import { defineErrors, ERROR_KINDS, type ErrorKind } from '../errors/index.js';
import { errorResult, TRANSIENT_RETRY_AFTER_SECONDS } from './responses.js';

const testError = defineErrors({
  invalid_signature: 'unauthorized',
  invalid_update: 'invalid',
  channel_not_found: 'not_found',
  rate_limited: 'rate_limited',
  kv_unavailable: 'unavailable',
  telegram_rate_limited: 'unavailable',
  db_unavailable: 'unavailable',
  row_vanished: 'internal',
});

describe('errorResult', () => {
  it.each([
    { name: 'an unauthorized error', error: testError('invalid_signature', 'Bad signature'), status: 401, code: 'invalid_signature', retryAfter: undefined },
    { name: 'an invalid input', error: testError('invalid_update', 'Not an update'), status: 400, code: 'invalid_update', retryAfter: undefined },
    { name: 'a not_found error', error: testError('channel_not_found', 'No such channel'), status: 404, code: 'channel_not_found', retryAfter: undefined },
    { name: 'a rate limit with its wait', error: testError('rate_limited', 'Slow down', { retryAfterSeconds: 42 }), status: 429, code: 'rate_limited', retryAfter: '42' },
    { name: 'an unavailable error', error: testError('kv_unavailable', 'Firestore failed'), status: 503, code: 'kv_unavailable', retryAfter: String(TRANSIENT_RETRY_AFTER_SECONDS) },
    { name: 'an unavailable error naming its wait', error: testError('telegram_rate_limited', 'Later', { retryAfterSeconds: 30 }), status: 503, code: 'telegram_rate_limited', retryAfter: '30' },
    { name: 'a broken invariant of ours', error: testError('row_vanished', 'the row disappeared'), status: 500, code: 'internal_error', retryAfter: undefined },
    { name: 'an unknown exception', error: new TypeError("Cannot read properties of undefined (reading 'id')"), status: 500, code: 'internal_error', retryAfter: undefined },
  ])('maps $name to $status', ({ error, status, code, retryAfter }) => {
    const result = errorResult(error, 'req-1');
    expect(result.status).toBe(status);
    expect((result.body as { error: { code: string } }).error.code).toBe(code);
    expect((result.body as { requestId: string }).requestId).toBe('req-1');
    expect(result.headers?.['retry-after']).toBe(retryAfter);
  });

  it('answers every kind with the status of the one kind table', () => {
    for (const [kind, { status }] of Object.entries(ERROR_KINDS)) {
      const error = defineErrors({ some_code: kind as ErrorKind })('some_code', 'message');
      expect(errorResult(error).status).toBe(status);
    }
  });

  it('never puts the text of a transient or unknown exception in the body', () => {
    for (const error of [testError('db_unavailable', 'connect ECONNREFUSED 10.0.0.5:5432'), new Error('relation "payments" does not exist')]) {
      const text = JSON.stringify(errorResult(error).body);
      expect(text).not.toContain('ECONNREFUSED');
      expect(text).not.toContain('relation');
    }
  });
});
