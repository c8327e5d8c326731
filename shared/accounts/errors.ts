import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the accounts/ folder raises, with its kind (status and retry follow from it). */
export const accountError = defineErrors({
  account_has_channels: 'conflict',
  email_already_verified: 'conflict',
  email_not_verified: 'forbidden',
  email_taken: 'conflict',
  email_unchanged: 'invalid',
  incorrect_password: 'invalid',
  invalid_credentials: 'unauthorized',
  invalid_cursor: 'invalid',
  invalid_link: 'invalid',
  invalid_refresh_token: 'unauthorized',
  invalid_token: 'unauthorized',
  link_expired: 'invalid',
  password_required: 'forbidden',
  password_unchanged: 'invalid',
  rate_limited: 'rate_limited',
  session_not_found: 'not_found',
  token_expired: 'unauthorized',
  unauthorized: 'unauthorized',
  weak_password: 'invalid',
  unknown_account_mail_kind: 'invalid',
  signup_conflict_unreadable: 'internal',
});
export type AccountErrorCode = ErrorCodeOf<typeof accountError>;
