import * as z from 'zod';
import {
  confirmEmailChange,
  type IssuedDeviceToken,
  logIn,
  logOut,
  PASSWORD_FAILURE_LIMIT,
  RESET_MAILS_PER_ADDRESS,
  RESET_REQUESTS_PER_CLIENT,
  refreshSession,
  requestPasswordReset,
  resetPassword,
  type SessionTokens,
  signUp,
  UNRECOGNISED_FAILURE_LIMIT,
  verifyEmail,
} from '../accounts/index.js';
import { AccessTokenResponseSchema, CurrentPasswordSchema, EmailSchema, LinkTokenSchema, MessageSchema, NewPasswordSchema } from './account-schemas.js';
import { clearedRefreshCookie, DEVICE_COOKIE_NAME, deviceCookie, REFRESH_COOKIE_NAME, refreshCookie, SESSION_PATH } from './refresh-cookie.js';
import { defineRoute, type RequestInfo, type RouteDefinition } from './route-definition.js';

const MINUTE = 60;
const HOUR = 3600;

/** The same answer whether or not the address has an account (no enumeration). */
const SIGNUP_ANSWER = 'If this address can be used, we sent it a link to verify it. Open it, then log in.';
const RESET_ANSWER =
  'If an account uses this address, we sent it a link to choose a new password. After several requests within an hour no new link is sent: the newest one already mailed works.';

function originOf(request: RequestInfo) {
  return { requestId: request.requestId, ip: request.ip, userAgent: request.userAgent };
}

function sessionAnswer(tokens: SessionTokens & { device?: IssuedDeviceToken }, request: RequestInfo, now: Date) {
  const cookies = [refreshCookie(tokens.session.refreshToken, tokens.session.expiresAt, now, request.publicPathPrefix)];
  if (tokens.device) cookies.push(deviceCookie(tokens.device.token, tokens.device.expiresAt, now, request.publicPathPrefix));
  return {
    body: { accessToken: tokens.access.token, tokenType: 'Bearer' as const, expiresIn: tokens.access.expiresInSeconds, expiresAt: tokens.access.expiresAt.toISOString() },
    cookies,
  };
}

const emailKey = (input: { body: unknown }) => (input.body as { email?: string } | undefined)?.email;

/** Sign-up, verification, login sessions and password reset: everything before (and around) a session. */
export const authRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'POST',
    path: '/auth/signup',
    operationId: 'signUp',
    summary: 'Create an account',
    description: 'Answers the same whether or not the address already has an account; the address gets a verification link (or, if taken, a notice).',
    tags: ['auth'],
    auth: 'none',
    body: z.object({ email: EmailSchema, password: NewPasswordSchema }),
    response: { status: 202, description: 'Accepted; check the inbox', schema: MessageSchema },
    rateLimits: [
      { name: 'signup-ip', key: 'ip', limit: 10, windowSeconds: HOUR },
      { name: 'signup-email', key: emailKey, limit: 3, windowSeconds: HOUR },
    ],
    handler: async ({ body, deps, request }) => {
      await signUp(deps, { email: body.email, password: body.password, origin: originOf(request) });
      return { body: { message: SIGNUP_ANSWER } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/auth/verify-email',
    operationId: 'verifyEmail',
    summary: 'Verify the address with the mailed token (single use, 24 h)',
    tags: ['auth'],
    auth: 'none',
    body: z.object({ token: LinkTokenSchema }),
    response: { status: 200, description: 'The address is verified', schema: z.object({ emailVerified: z.literal(true) }) },
    rateLimits: [{ name: 'verify-email-ip', key: 'ip', limit: 30, windowSeconds: 15 * MINUTE }],
    handler: async ({ body, deps, request }) => {
      await verifyEmail(deps, { token: body.token, origin: originOf(request) });
      return { body: { emailVerified: true as const } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/auth/login',
    operationId: 'logIn',
    summary: 'Log in with email and password',
    description: `Returns an access token (15 minutes), sets the refresh cookie ${REFRESH_COOKIE_NAME} (path /api/v1${SESSION_PATH}) and the device cookie ${DEVICE_COOKIE_NAME} (path /api/v1/auth, 180 days), which recognises this browser at its next login. Every failure is the same 401 invalid_credentials. After ${PASSWORD_FAILURE_LIMIT} failures for an address from one client (the browser when it sends the device cookie of that account, else the IP) within 15 minutes, that client is refused for that address (same 401) until the window ends. After ${UNRECOGNISED_FAILURE_LIMIT} failures for an address from unrecognised clients (no device cookie of the account, not an IP it logged in from in the last 30 days) within 15 minutes, unrecognised clients get 429 rate_limited with Retry-After for that address; recognised ones log in as usual, so strangers cannot lock the owner out.`,
    tags: ['auth'],
    auth: 'none',
    body: z.object({ email: EmailSchema, password: CurrentPasswordSchema }),
    response: { status: 200, description: 'Logged in', schema: AccessTokenResponseSchema },
    errors: { 429: 'rate_limited: too many requests from this IP, or too many failed logins for this address from unrecognised clients (Retry-After)' },
    rateLimits: [{ name: 'login-ip', key: 'ip', limit: 30, windowSeconds: 15 * MINUTE }],
    handler: async ({ body, deps, request }) =>
      sessionAnswer(
        await logIn(deps, { email: body.email, password: body.password, origin: originOf(request), deviceToken: request.cookies[DEVICE_COOKIE_NAME] }),
        request,
        deps.clock.now(),
      ),
  }),
  defineRoute({
    method: 'POST',
    path: `${SESSION_PATH}/refresh`,
    operationId: 'refreshSession',
    summary: 'New access token from the refresh cookie (the cookie is rotated)',
    description: 'Presenting an already rotated refresh token ends the whole session (reuse detection).',
    tags: ['auth'],
    auth: 'refresh_cookie',
    response: { status: 200, description: 'A new access token and refresh cookie', schema: AccessTokenResponseSchema },
    rateLimits: [{ name: 'refresh-ip', key: 'ip', limit: 60, windowSeconds: MINUTE }],
    handler: async ({ deps, request }) => {
      const token = request.cookies[REFRESH_COOKIE_NAME] ?? '';
      return sessionAnswer(await refreshSession(deps, { refreshToken: token, origin: originOf(request) }), request, deps.clock.now());
    },
  }),
  defineRoute({
    method: 'POST',
    path: `${SESSION_PATH}/logout`,
    operationId: 'logOut',
    summary: 'End the session of the refresh cookie',
    tags: ['auth'],
    auth: 'refresh_cookie',
    response: { status: 204, description: 'Logged out (also when the session had already ended)' },
    handler: async ({ deps, request }) => {
      await logOut(deps, { refreshToken: request.cookies[REFRESH_COOKIE_NAME], origin: originOf(request) });
      return { cookies: [clearedRefreshCookie(request.publicPathPrefix)] };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/auth/forgot-password',
    operationId: 'requestPasswordReset',
    summary: 'Mail a password reset link (1 h)',
    description: `Answers the same whether or not the address has an account. One IP may ask ${RESET_REQUESTS_PER_CLIENT} times an hour per address (then 429). An address gets at most ${RESET_MAILS_PER_ADDRESS} links an hour on requests from unrecognised clients; further requests are answered alike but mail nothing (the newest link mailed still works). Requests from a browser with the account's device cookie, or from an IP it logged in from, always mail a link.`,
    tags: ['auth'],
    auth: 'none',
    body: z.object({ email: EmailSchema }),
    response: { status: 202, description: 'Accepted; check the inbox', schema: MessageSchema },
    rateLimits: [{ name: 'forgot-ip', key: 'ip', limit: 10, windowSeconds: HOUR }],
    handler: async ({ body, deps, request }) => {
      await requestPasswordReset(deps, { email: body.email, origin: originOf(request), deviceToken: request.cookies[DEVICE_COOKIE_NAME] });
      return { body: { message: RESET_ANSWER } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/auth/reset-password',
    operationId: 'resetPassword',
    summary: 'Set a new password with the mailed token (single use, 1 h); ends every session',
    description: `Sets the device cookie ${DEVICE_COOKIE_NAME}: the browser that proved the mailbox is recognised at its next login.`,
    tags: ['auth'],
    auth: 'none',
    body: z.object({ token: LinkTokenSchema, password: NewPasswordSchema }),
    response: { status: 204, description: 'Password changed; log in with it' },
    rateLimits: [{ name: 'reset-ip', key: 'ip', limit: 10, windowSeconds: 15 * MINUTE }],
    handler: async ({ body, deps, request }) => {
      const { device } = await resetPassword(deps, { token: body.token, password: body.password, origin: originOf(request) });
      return { cookies: [deviceCookie(device.token, device.expiresAt, deps.clock.now(), request.publicPathPrefix)] };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/auth/confirm-email-change',
    operationId: 'confirmEmailChange',
    summary: 'Confirm a new address with the token mailed to it (single use, 1 h); ends every session',
    tags: ['auth'],
    auth: 'none',
    body: z.object({ token: LinkTokenSchema }),
    response: { status: 204, description: 'The account uses the new address; log in with it' },
    errors: { 409: 'email_taken: another account took the address meanwhile' },
    rateLimits: [{ name: 'confirm-email-ip', key: 'ip', limit: 10, windowSeconds: 15 * MINUTE }],
    handler: async ({ body, deps, request }) => {
      await confirmEmailChange(deps, { token: body.token, origin: originOf(request) });
      return {};
    },
  }),
];
