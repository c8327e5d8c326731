import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the mail/ folder raises, with its kind (status and retry follow from it). */
export const mailError = defineErrors({
  mail_rejected: 'invalid',
  mail_unavailable: 'unavailable',
});
export type MailErrorCode = ErrorCodeOf<typeof mailError>;
