import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../errors/index.js';
import { errorResult, TRANSIENT_RETRY_AFTER_SECONDS } from './responses.js';

describe('errorResult', () => {
  it.each([
    { name: 'a permanent error with a mapped code', error: new PermanentError('invalid_signature', 'Bad signature'), status: 401, code: 'invalid_signature', retryAfter: undefined },
    { name: 'the webhook secret token refusal', error: new PermanentError('invalid_secret_token', 'Wrong token'), status: 401, code: 'invalid_secret_token', retryAfter: undefined },
    { name: 'an unmapped permanent code', error: new PermanentError('invalid_update', 'Not an update'), status: 400, code: 'invalid_update', retryAfter: undefined },
    { name: 'a *_not_found code', error: new PermanentError('channel_not_found', 'No such channel'), status: 404, code: 'channel_not_found', retryAfter: undefined },
    { name: 'a rate limit with its wait', error: new PermanentError('rate_limited', 'Slow down', { retryAfterSeconds: 42 }), status: 429, code: 'rate_limited', retryAfter: '42' },
    { name: 'a transient error', error: new TransientError('kv_unavailable', 'Firestore failed'), status: 503, code: 'kv_unavailable', retryAfter: String(TRANSIENT_RETRY_AFTER_SECONDS) },
    { name: 'a transient error naming its wait', error: new TransientError('telegram_rate_limited', 'Later', { retryAfterSeconds: 30 }), status: 503, code: 'telegram_rate_limited', retryAfter: '30' },
    { name: 'an unknown exception', error: new TypeError("Cannot read properties of undefined (reading 'id')"), status: 500, code: 'internal_error', retryAfter: undefined },
  ])('maps $name to $status', ({ error, status, code, retryAfter }) => {
    const result = errorResult(error, 'req-1');
    expect(result.status).toBe(status);
    expect((result.body as { error: { code: string } }).error.code).toBe(code);
    expect((result.body as { requestId: string }).requestId).toBe('req-1');
    expect(result.headers?.['retry-after']).toBe(retryAfter);
  });

  it('never puts the text of a transient or unknown exception in the body', () => {
    for (const error of [new TransientError('db_unavailable', 'connect ECONNREFUSED 10.0.0.5:5432'), new Error('relation "payments" does not exist')]) {
      const text = JSON.stringify(errorResult(error).body);
      expect(text).not.toContain('ECONNREFUSED');
      expect(text).not.toContain('relation');
    }
  });
});
