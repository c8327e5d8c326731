import { describe, expect, it } from 'vitest';
import { PermanentError, isRetryable } from '../errors/index.js';
import { moneyError } from './errors.js';
import { previewText } from './preview-text.js';

describe('moneyError', () => {
  it('builds a permanent, non-retryable error with its code and context', () => {
    const error = moneyError('invalid_amount', 'Bad amount.', { text: 'x' });
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.code).toBe('invalid_amount');
    expect(error.context).toEqual({ text: 'x' });
    expect(isRetryable(error)).toBe(false);
  });
});

describe('previewText', () => {
  it('keeps short text as it is', () => {
    expect(previewText('12.5')).toBe('12.5');
    expect(previewText('x'.repeat(64))).toBe('x'.repeat(64));
  });

  it('cuts long text to 64 characters and says how long it was', () => {
    expect(previewText('x'.repeat(1_000_000))).toBe(`${'x'.repeat(64)}…(1000000 chars)`);
  });
});
