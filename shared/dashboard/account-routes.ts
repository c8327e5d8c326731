import * as z from 'zod';
import {
  cancelEmailChange,
  changePassword,
  createTelegramLinkCode,
  deleteAccount,
  requestEmailChange,
  requestVerificationMail,
  retrieveAccountProfile,
} from '../accounts/index.js';
import { formatPublicId } from '../ids/index.js';
import { AccountSchema, CurrentPasswordSchema, EmailSchema, MessageSchema, NewPasswordSchema, TelegramLinkSchema } from './account-schemas.js';
import { clearedRefreshCookie } from './refresh-cookie.js';
import { defineRoute, type RequestInfo, type RouteDefinition } from './route-definition.js';

const MINUTE = 60;
const HOUR = 3600;

function originOf(request: RequestInfo) {
  return { requestId: request.requestId, ip: request.ip, userAgent: request.userAgent };
}

/** The logged-in account: profile, settings, deletion, Telegram link. */
export const accountRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/me',
    operationId: 'retrieveMe',
    summary: 'The logged-in account, with its Telegram link status',
    tags: ['account'],
    auth: 'bearer',
    response: { status: 200, description: 'The account', schema: AccountSchema },
    handler: async ({ auth, deps }) => {
      const profile = await retrieveAccountProfile(deps, auth.accountId);
      return {
        body: {
          id: formatPublicId('account', profile.accountId),
          email: profile.email,
          emailVerified: profile.emailVerifiedAt !== null,
          emailVerifiedAt: profile.emailVerifiedAt?.toISOString() ?? null,
          createdAt: profile.createdAt.toISOString(),
          telegram: {
            linked: profile.telegram.isLinked,
            userId: profile.telegram.userId?.toString() ?? null,
            username: profile.telegram.username,
            linkedAt: profile.telegram.linkedAt?.toISOString() ?? null,
          },
          pendingEmailChange: profile.pendingEmailChange && { newEmail: profile.pendingEmailChange.newEmail, expiresAt: profile.pendingEmailChange.expiresAt.toISOString() },
        },
      };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/me/verification-email',
    operationId: 'resendVerificationEmail',
    summary: 'Mail a new verification link (the previous one stops working)',
    tags: ['account'],
    auth: 'bearer',
    response: { status: 202, description: 'Sent', schema: MessageSchema },
    errors: { 409: 'email_already_verified' },
    rateLimits: [
      { name: 'resend-verification-ip', key: 'ip', limit: 10, windowSeconds: HOUR },
      { name: 'resend-verification-account', key: 'account', limit: 3, windowSeconds: HOUR },
    ],
    handler: async ({ auth, deps, request }) => {
      await requestVerificationMail(deps, { accountId: auth.accountId, origin: originOf(request) });
      return { body: { message: 'We sent a new verification link; it works for 24 hours.' } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/me/password',
    operationId: 'changePassword',
    summary: 'Change the password; every other session ends',
    tags: ['account'],
    auth: 'bearer',
    body: z.object({ currentPassword: CurrentPasswordSchema, newPassword: NewPasswordSchema }),
    response: { status: 204, description: 'Changed' },
    rateLimits: [
      { name: 'change-password-ip', key: 'ip', limit: 10, windowSeconds: 15 * MINUTE },
      { name: 'change-password-account', key: 'account', limit: 5, windowSeconds: 15 * MINUTE },
    ],
    handler: async ({ auth, body, deps, request }) => {
      await changePassword(deps, { ...auth, currentPassword: body.currentPassword, newPassword: body.newPassword, origin: originOf(request) });
      return {};
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/me/email',
    operationId: 'requestEmailChange',
    summary: 'Start an email change: the new address must confirm (1 h)',
    description: 'Needs a verified address and the password. Does not reveal whether the new address is taken.',
    tags: ['account'],
    auth: 'bearer',
    body: z.object({ newEmail: EmailSchema, password: CurrentPasswordSchema }),
    response: { status: 202, description: 'Confirmation mailed to the new address', schema: MessageSchema },
    errors: { 403: 'email_not_verified' },
    rateLimits: [
      { name: 'change-email-ip', key: 'ip', limit: 10, windowSeconds: HOUR },
      { name: 'change-email-account', key: 'account', limit: 3, windowSeconds: HOUR },
    ],
    handler: async ({ auth, body, deps, request }) => {
      await requestEmailChange(deps, { accountId: auth.accountId, newEmail: body.newEmail, password: body.password, origin: originOf(request) });
      return { body: { message: 'Open the link we sent to the new address within an hour to finish the change.' } };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/me/email',
    operationId: 'cancelEmailChange',
    summary: 'Cancel a pending email change: the confirmation link stops working',
    description: 'Idempotent: answers 204 also when no change is pending (audited only when one was).',
    tags: ['account'],
    auth: 'bearer',
    response: { status: 204, description: 'No email change is pending any more' },
    rateLimits: [{ name: 'cancel-email-change-account', key: 'account', limit: 30, windowSeconds: HOUR }],
    handler: async ({ auth, deps, request }) => {
      await cancelEmailChange(deps, { accountId: auth.accountId, origin: originOf(request) });
      return {};
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/me',
    operationId: 'deleteMe',
    summary: 'Delete the account (needs the password; refused while channels remain)',
    tags: ['account'],
    auth: 'bearer',
    body: z.object({ password: CurrentPasswordSchema }),
    response: { status: 204, description: 'Deleted; every session ended' },
    errors: { 409: 'account_has_channels: delete your channels first' },
    rateLimits: [
      { name: 'delete-account-ip', key: 'ip', limit: 10, windowSeconds: 15 * MINUTE },
      { name: 'delete-account-account', key: 'account', limit: 5, windowSeconds: 15 * MINUTE },
    ],
    handler: async ({ auth, body, deps, request }) => {
      await deleteAccount(deps, { accountId: auth.accountId, password: body.password, origin: originOf(request) });
      return { cookies: [clearedRefreshCookie(request.publicPathPrefix)] };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/me/telegram-link',
    operationId: 'createTelegramLink',
    summary: 'A one-time code (10 minutes) that links your Telegram account when sent to the bot',
    description:
      'Open the deep link (or send the command) in Telegram; the bot links the sender to this account and mails you a notice. A new code replaces the previous one. When a Telegram account is linked already, re-linking needs your password (`password`, re-authentication); the body may be left out for a first link.',
    tags: ['account'],
    auth: 'bearer',
    body: z
      .object({ password: CurrentPasswordSchema.optional().meta({ description: 'Your account password; required when a Telegram account is linked already' }) })
      .optional(),
    response: { status: 201, description: 'The code and how to use it', schema: TelegramLinkSchema },
    errors: { 400: 'incorrect_password (fields.password)', 403: 'email_not_verified, password_required (re-linking without the password)' },
    rateLimits: [{ name: 'telegram-link-account', key: 'account', limit: 10, windowSeconds: HOUR }],
    handler: async ({ auth, body, deps, request }) => {
      const issued = await createTelegramLinkCode(deps, { accountId: auth.accountId, password: body?.password, origin: originOf(request) });
      const payload = `link_${issued.code}`;
      return {
        body: {
          code: issued.code,
          command: `/start ${payload}`,
          deepLink: deps.telegramBotUsername ? `https://t.me/${deps.telegramBotUsername}?start=${payload}` : null,
          expiresAt: issued.expiresAt.toISOString(),
        },
      };
    },
  }),
];
