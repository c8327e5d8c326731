import { describe, expect, it } from 'vitest';
import { profileOf } from './telegram-user.js';

describe('profileOf', () => {
  it('keeps a Telegram user as sent', () => {
    expect(profileOf({ id: 42, is_bot: false, first_name: 'Анна 🙂', last_name: 'O\u2019Neil', username: 'anna_42', language_code: 'ru' })).toEqual({
      id: 42n,
      firstName: 'Анна 🙂',
      lastName: 'O\u2019Neil',
      username: 'anna_42',
      languageCode: 'ru',
    });
  });

  it('drops control characters, noncharacters and lone surrogates from the names instead of failing the update in PostgreSQL', () => {
    expect(profileOf({ id: 43, is_bot: false, first_name: 'A\u0000nna\ud800', last_name: 'B\u001b[31m\uFFFF', username: 'anna\u0000' })).toEqual({
      id: 43n,
      firstName: 'Anna',
      lastName: 'B[31m',
      username: 'anna',
      languageCode: null,
    });
  });
});
