import * as z from 'zod';
import { DEFAULT_ACTIVITY_PAGE_SIZE, listActivity, listSessions, revokeOtherSessions, revokeOwnSession } from '../accounts/index.js';
import { listOwnerAudit } from '../audit/index.js';
import { defineRoute, type RequestInfo, type RouteDefinition } from './route-definition.js';

const HOUR = 3600;

function originOf(request: RequestInfo) {
  return { requestId: request.requestId, ip: request.ip, userAgent: request.userAgent };
}

const SessionSchema = z.object({
  id: z.string().describe('Public session id, ses_…'),
  createdAt: z.iso.datetime().describe('The login that started it'),
  lastUsedAt: z.iso.datetime().describe('The login or the latest refresh of its access token'),
  expiresAt: z.iso.datetime().describe('14 days after the login at the latest'),
  userAgent: z.string().nullable().describe('User-Agent of the login that started it; null when not known'),
  ip: z.string().nullable().describe('Client IP of that login; null when not known'),
  current: z.boolean().describe('The session of the access token asking'),
});

const SessionListSchema = z.object({ sessions: z.array(SessionSchema) });

const ActivityEntrySchema = z.object({
  occurredAt: z.iso.datetime(),
  action: z.string().describe('auth.login_succeeded, auth.login_failed, auth.session_revoked, channel.wallet_changed, … (docs/dashboard-api.md)'),
  actorType: z.string().describe('account (you), telegram_user (linking), system, operator'),
  subject: z.object({ type: z.string(), id: z.string().nullable().describe('Public id (acc_…, ch_…, po_…) where it has one') }).nullable(),
  ip: z.string().nullable().describe('Client IP of the request, when it came from one'),
  details: z.record(z.string(), z.unknown()).describe('What the entry holds: field names, masked wallets, address domains; never a secret'),
});

const ActivityPageSchema = z.object({
  items: z.array(ActivityEntrySchema),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next (older) page; null on the last'),
});

const ActivityQuerySchema = z.object({
  cursor: z.string().max(100).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number 1–100')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be a whole number 1–100').max(100, 'must be a whole number 1–100'))
    .optional()
    .meta({ description: `Entries per page, 1–100; default ${DEFAULT_ACTIVITY_PAGE_SIZE}` }),
});

const AuditEntrySchema = ActivityEntrySchema.extend({
  action: z.string().describe('Everything /me/activity lists, plus payout.held, payout.approved, payout.rejected, channel.broadcast_requested, earnings.payments_exported, … (docs/dashboard-api.md)'),
  actorType: z.string().describe('account (you), telegram_user, system, operator (an operator is not named)'),
  requestId: z.string().nullable().describe('The x-request-id of the request that did it; null for the system and operators'),
});

const AuditPageSchema = z.object({
  items: z.array(AuditEntrySchema),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next (older) page; null on the last'),
});

/** The owner's own security: sessions (list, end one, end every other), account activity and the full audit trail. */
export const securityRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/me/sessions',
    operationId: 'listSessions',
    summary: 'Your live sessions (one per login), most recently used first',
    tags: ['account'],
    auth: 'bearer',
    response: { status: 200, description: 'The sessions', schema: SessionListSchema },
    handler: async ({ auth, deps }) => {
      const sessions = await listSessions(deps, { accountId: auth.accountId, currentSessionId: auth.sessionId });
      return {
        body: {
          sessions: sessions.map((session) => ({
            id: session.id,
            createdAt: session.createdAt.toISOString(),
            lastUsedAt: session.lastUsedAt.toISOString(),
            expiresAt: session.expiresAt.toISOString(),
            userAgent: session.userAgent,
            ip: session.ip,
            current: session.isCurrent,
          })),
        },
      };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/me/sessions/{sessionId}',
    operationId: 'revokeSession',
    summary: 'End one of your sessions: its refresh token and access tokens stop working at once',
    description: 'Ending the current session is a logout of this tab.',
    tags: ['account'],
    auth: 'bearer',
    params: z.object({ sessionId: z.string().max(64).meta({ description: 'The session id (ses_…)' }) }),
    response: { status: 204, description: 'Ended' },
    errors: { 404: 'session_not_found (also for another account’s session or one already ended)' },
    rateLimits: [{ name: 'revoke-session-account', key: 'account', limit: 60, windowSeconds: HOUR }],
    handler: async ({ auth, params, deps, request }) => {
      await revokeOwnSession(deps, { accountId: auth.accountId, currentSessionId: auth.sessionId, sessionPublicId: params.sessionId, origin: originOf(request) });
      return {};
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/me/sessions/revoke-all',
    operationId: 'revokeOtherSessions',
    summary: 'Log out everywhere else: every session but the current one ends',
    description: 'The session asking stays, so this tab goes on; to end it too, log out. Other devices must log in again (with the password).',
    tags: ['account'],
    auth: 'bearer',
    response: { status: 200, description: 'How many sessions ended', schema: z.object({ revoked: z.number().int(), currentSessionKept: z.literal(true) }) },
    rateLimits: [{ name: 'revoke-all-sessions-account', key: 'account', limit: 10, windowSeconds: HOUR }],
    handler: async ({ auth, deps, request }) => ({
      body: { revoked: await revokeOtherSessions(deps, { accountId: auth.accountId, currentSessionId: auth.sessionId, origin: originOf(request) }), currentSessionKept: true as const },
    }),
  }),
  defineRoute({
    method: 'GET',
    path: '/me/activity',
    operationId: 'listActivity',
    summary: 'Your account’s activity, newest first (cursor pages)',
    description:
      'From the audit log: logins and failed logins (with the client IP), sessions ended, password, email and Telegram-link changes, channel and payout-wallet changes, refused re-authentications.',
    tags: ['account'],
    auth: 'bearer',
    query: ActivityQuerySchema,
    response: { status: 200, description: 'One page', schema: ActivityPageSchema },
    errors: { 400: 'invalid_cursor (fields["query.cursor"])' },
    handler: async ({ auth, query, deps }) => {
      const page = await listActivity(deps, { accountId: auth.accountId, cursor: query.cursor, limit: query.limit });
      return { body: { items: page.items.map((entry) => ({ ...entry, occurredAt: entry.occurredAt.toISOString() })), nextCursor: page.nextCursor } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/me/audit',
    operationId: 'listAudit',
    summary: 'Your audit trail, newest first (cursor pages): what you did and what was done to your account, channels and payouts',
    description:
      'The full list behind /me/activity: also what the system and operators did to your channels and payouts (payouts held, approved, rejected), broadcasts, CSV exports, with the request id of each. Append-only: entries are never changed or removed.',
    tags: ['account'],
    auth: 'bearer',
    query: ActivityQuerySchema,
    response: { status: 200, description: 'One page', schema: AuditPageSchema },
    errors: { 400: 'invalid_cursor (fields["query.cursor"])' },
    handler: async ({ auth, query, deps }) => {
      const page = await listOwnerAudit(deps.db, { accountId: auth.accountId, cursor: query.cursor, limit: query.limit });
      return { body: { items: page.items.map((entry) => ({ ...entry, occurredAt: entry.occurredAt.toISOString() })), nextCursor: page.nextCursor } };
    },
  }),
];
