import { GrammyError, HttpError } from 'grammy';
import { describe, expect, it } from 'vitest';
import { AppError, defineErrors, PermanentError, TransientError } from '../errors/index.js';
import { isGrammyError, isHttpError, isTelegramUserUnreachable, toTelegramError } from './telegram-errors.js';

const testError = defineErrors({ subscription_not_found: 'not_found' });

function refusal(errorCode: number, description: string, retryAfter?: number): GrammyError {
  const parameters = retryAfter === undefined ? undefined : { retry_after: retryAfter };
  return new GrammyError(`Call to 'sendMessage' failed!`, { ok: false, error_code: errorCode, description, parameters }, 'sendMessage', { chat_id: 1, text: 'hi' });
}

const TOKEN = '123456789:AAHsimulatedTokenNotValidOnTelegram';
const networkFailure = new HttpError(
  "Network request for 'sendMessage' failed!",
  new Error(`request to https://api.telegram.org/bot${TOKEN}/sendMessage failed, reason: connect ECONNREFUSED`),
);

describe('toTelegramError', () => {
  const table: { name: string; error: unknown; kind: typeof PermanentError | typeof TransientError; code: string }[] = [
    { name: '403 bot blocked', error: refusal(403, 'Forbidden: bot was blocked by the user'), kind: PermanentError, code: 'telegram_user_unreachable' },
    { name: '403 user deactivated', error: refusal(403, 'Forbidden: user is deactivated'), kind: PermanentError, code: 'telegram_user_unreachable' },
    { name: '403 never started', error: refusal(403, "Forbidden: bot can't initiate conversation with a user"), kind: PermanentError, code: 'telegram_user_unreachable' },
    { name: '403 bot kicked', error: refusal(403, 'Forbidden: bot was kicked from the channel chat'), kind: PermanentError, code: 'telegram_forbidden' },
    { name: '403 not a member', error: refusal(403, 'Forbidden: bot is not a member of the supergroup chat'), kind: PermanentError, code: 'telegram_forbidden' },
    { name: '400 chat not found', error: refusal(400, 'Bad Request: chat not found'), kind: PermanentError, code: 'telegram_bad_request' },
    { name: '400 not enough rights', error: refusal(400, 'Bad Request: not enough rights to manage chat invite link'), kind: PermanentError, code: 'telegram_bad_request' },
    { name: '429', error: refusal(429, 'Too Many Requests: retry after 7', 7), kind: TransientError, code: 'telegram_rate_limited' },
    { name: '500', error: refusal(500, 'Internal Server Error'), kind: TransientError, code: 'telegram_unavailable' },
    { name: '502', error: refusal(502, 'Bad Gateway'), kind: TransientError, code: 'telegram_unavailable' },
    { name: 'network failure', error: networkFailure, kind: TransientError, code: 'telegram_unavailable' },
    { name: '401 bad token', error: refusal(401, 'Unauthorized'), kind: TransientError, code: 'telegram_unexpected_error' },
    { name: '409 conflict', error: refusal(409, 'Conflict: terminated by other getUpdates request'), kind: TransientError, code: 'telegram_unexpected_error' },
    { name: 'unknown exception', error: new TypeError('x is undefined'), kind: TransientError, code: 'telegram_unexpected_error' },
    { name: 'a thrown string', error: 'boom', kind: TransientError, code: 'telegram_unexpected_error' },
  ];

  it.each(table)('maps $name to $code', ({ error, kind, code }) => {
    const translated = toTelegramError(error);
    expect(translated).toBeInstanceOf(kind);
    expect(translated.code).toBe(code);
    expect(translated.cause).toBe(error);
  });

  it('keeps the description of a bad request and the method in the context', () => {
    const translated = toTelegramError(refusal(400, 'Bad Request: chat not found'), { subscriptionId: 'sub_1' });
    expect(translated.context).toEqual({ subscriptionId: 'sub_1', method: 'sendMessage', errorCode: 400, description: 'Bad Request: chat not found' });
  });

  it('carries retry_after as retryAfterSeconds', () => {
    expect(toTelegramError(refusal(429, 'Too Many Requests: retry after 7', 7)).context.retryAfterSeconds).toBe(7);
  });

  it('never copies the network error text, which can hold the token', () => {
    const translated = toTelegramError(networkFailure);
    expect(translated.message).toBe('The Telegram Bot API could not be reached for sendMessage');
    expect(JSON.stringify({ message: translated.message, context: translated.context })).not.toContain(TOKEN);
  });

  it('passes an AppError through unchanged', () => {
    const own = testError('subscription_not_found', 'no such subscription');
    expect(toTelegramError(own)).toBe(own);
    expect(toTelegramError(own)).toBeInstanceOf(AppError);
  });
});

describe('isGrammyError and isHttpError', () => {
  it("tell grammY's errors by name and fields, so the dashboard need not load grammY to ask", () => {
    expect(isGrammyError(refusal(400, 'Bad Request: chat not found'))).toBe(true);
    expect(isHttpError(networkFailure)).toBe(true);
    expect(isGrammyError(networkFailure)).toBe(false);
    expect(isHttpError(refusal(500, 'Internal Server Error'))).toBe(false);
  });

  it.each([
    ['a plain object with the fields', { name: 'GrammyError', error_code: 403, description: 'Forbidden' }],
    ['an Error named GrammyError without a code', Object.assign(new Error('x'), { name: 'GrammyError', description: 'Forbidden' })],
    ['an Error with the fields under another name', Object.assign(new Error('x'), { error_code: 403, description: 'Forbidden' })],
    ['a string', 'GrammyError'],
    ['null', null],
  ])('do not take %s for one', (_case, lookalike) => {
    expect(isGrammyError(lookalike)).toBe(false);
    expect(isHttpError(lookalike)).toBe(false);
    expect(toTelegramError(lookalike).code).toBe('telegram_unexpected_error');
  });
});

describe('isTelegramUserUnreachable', () => {
  it('is true for a blocked bot, raw or translated', () => {
    const blocked = refusal(403, 'Forbidden: bot was blocked by the user');
    expect(isTelegramUserUnreachable(blocked)).toBe(true);
    expect(isTelegramUserUnreachable(toTelegramError(blocked))).toBe(true);
  });

  it('is false for a bot kicked from a channel and for rate limits', () => {
    expect(isTelegramUserUnreachable(refusal(403, 'Forbidden: bot was kicked from the channel chat'))).toBe(false);
    expect(isTelegramUserUnreachable(refusal(429, 'Too Many Requests: retry after 1', 1))).toBe(false);
  });
});
