import * as z from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../accounts/password-policy.js';
import { userText } from '../user-text/index.js';

/** Trimmed, at most 254 characters, one @; compared case-insensitively everywhere. */
export const EmailSchema = userText(z.string().trim())
  .max(254, 'Use at most 254 characters')
  .pipe(z.email({ message: 'Enter a valid email address' }))
  .describe('Email address (case-insensitive)');

/** A password being set; the common-password check runs on the server after this. */
export const NewPasswordSchema = userText(
  z
    .string()
    .min(PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters`)
    .max(PASSWORD_MAX_LENGTH, `Use at most ${PASSWORD_MAX_LENGTH} characters`),
).describe(`${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters, not a common password, not your email address`);

/** A password being checked (login, confirmations): any length the policy ever allowed. */
export const CurrentPasswordSchema = z.string().min(1, 'Enter your password').max(1024, 'Too long');

/** A one-time token from a mailed link (the part after `#token=`). */
export const LinkTokenSchema = userText(z.string().min(1, 'The link is incomplete').max(200, 'The link is not valid')).describe('The token from the mailed link');

export const MessageSchema = z.object({ message: z.string() });

export const AccessTokenResponseSchema = z.object({
  accessToken: z.string().describe('Send as Authorization: Bearer <accessToken>'),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Seconds until the access token expires'),
  expiresAt: z.iso.datetime(),
});

export const AccountSchema = z.object({
  id: z.string().describe('Public account id, acc_…'),
  email: z.string(),
  emailVerified: z.boolean(),
  emailVerifiedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  telegram: z.object({
    linked: z.boolean(),
    userId: z.string().nullable().describe('Telegram user id (decimal string)'),
    username: z.string().nullable(),
    linkedAt: z.iso.datetime().nullable(),
  }),
  pendingEmailChange: z
    .object({ newEmail: z.string(), expiresAt: z.iso.datetime() })
    .nullable()
    .describe('An address change whose confirmation link was mailed and not yet followed (DELETE /me/email cancels it)'),
});

export const TelegramLinkSchema = z.object({
  code: z.string().describe('One-time code; send /start link_<code> to the bot'),
  command: z.string().describe('The exact message to send the bot'),
  deepLink: z.string().nullable().describe('https://t.me/<bot>?start=link_<code>, when the bot username is configured'),
  expiresAt: z.iso.datetime(),
});
