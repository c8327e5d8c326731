import * as z from 'zod';
import {
  PromoCodeCreateSchema,
  PromoCodeListResourceSchema,
  PromoCodeResourceSchema,
  PromoCodeUpdateSchema,
  archivePromoCode,
  createPromoCode,
  listPromoCodes,
  retrievePromoCode,
  updatePromoCode,
} from '../promo-codes/index.js';
import { subscribeBotUsername } from '../channels/index.js';
import { linkDeps } from './channel-routes.js';
import type { DashboardDeps } from './dashboard-deps.js';
import { defineRoute, type RouteDefinition } from './route-definition.js';

const MINUTE = 60;
const ChannelParams = z.object({ channelId: z.string().max(64).meta({ description: 'The channel id (ch_…)' }) });
const CodeParams = ChannelParams.extend({ promoCodeId: z.string().max(64).meta({ description: 'The promo code id (pc_…)' }) });
/** The promo code functions' deps: the instance's, and the bot's username for each code's link. */
async function promoDeps(deps: DashboardDeps) {
  return { db: deps.db, clock: deps.clock, logger: deps.logger, botUsername: await subscribeBotUsername(linkDeps(deps)) };
}

const writeLimits = [{ name: 'promo-code-write-account', key: 'account' as const, limit: 60, windowSeconds: MINUTE }];

/** Promo codes per channel: list with figures, create, change, archive. */
export const promoCodeRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/channels/{channelId}/promo-codes',
    operationId: 'listPromoCodes',
    summary: 'The channel’s promo codes with their figures, newest first',
    description:
      'Figures per code: checkouts opened with it, uses held by open checkouts, redemptions (settled payments at the discounted price, each counted once), the revenue they charged and the discount given, in USD.',
    tags: ['promo-codes'],
    auth: 'bearer',
    params: ChannelParams,
    response: { status: 200, description: 'The codes', schema: PromoCodeListResourceSchema },
    errors: { 404: 'channel_not_found (also another account’s channel)' },
    handler: async ({ auth, params, deps }) => ({ body: await listPromoCodes(await promoDeps(deps), { accountId: auth.accountId }, params.channelId) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/channels/{channelId}/promo-codes/{promoCodeId}',
    operationId: 'retrievePromoCode',
    summary: 'One promo code with its figures',
    tags: ['promo-codes'],
    auth: 'bearer',
    params: CodeParams,
    response: { status: 200, description: 'The code', schema: PromoCodeResourceSchema },
    errors: { 404: 'channel_not_found, promo_code_not_found' },
    handler: async ({ auth, params, deps }) => ({ body: await retrievePromoCode(await promoDeps(deps), { accountId: auth.accountId }, params.channelId, params.promoCodeId) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/channels/{channelId}/promo-codes',
    operationId: 'createPromoCode',
    summary: 'Create a promo code',
    description:
      'Percent off (`percentOffBps`, 1–10000) or a fixed USD amount off (`amountOff`), optionally a validity window, a total and a per-user limit of paid uses, and the tiers it applies to. Percent discounts round down to a whole cent. A code that would bring a price below $1.00 is refused at checkout.',
    tags: ['promo-codes'],
    auth: 'bearer',
    params: ChannelParams,
    body: PromoCodeCreateSchema,
    response: { status: 201, description: 'The new code', schema: PromoCodeResourceSchema },
    errors: { 400: 'validation_failed (fields)', 404: 'channel_not_found', 409: 'promo_code_taken (fields.code)' },
    rateLimits: writeLimits,
    handler: async ({ auth, params, body, deps, request }) => ({
      status: 201,
      body: await createPromoCode(await promoDeps(deps), { accountId: auth.accountId, requestId: request.requestId, ip: request.ip }, params.channelId, body),
    }),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/channels/{channelId}/promo-codes/{promoCodeId}',
    operationId: 'updatePromoCode',
    summary: 'Change a promo code’s terms (checkouts already open keep their price)',
    tags: ['promo-codes'],
    auth: 'bearer',
    params: CodeParams,
    body: PromoCodeUpdateSchema,
    response: { status: 200, description: 'The code', schema: PromoCodeResourceSchema },
    errors: { 400: 'validation_failed (fields)', 404: 'channel_not_found, promo_code_not_found', 409: 'promo_code_archived' },
    rateLimits: writeLimits,
    handler: async ({ auth, params, body, deps, request }) => ({
      body: await updatePromoCode(await promoDeps(deps), { accountId: auth.accountId, requestId: request.requestId, ip: request.ip }, params.channelId, params.promoCodeId, body),
    }),
  }),
  defineRoute({
    method: 'POST',
    path: '/channels/{channelId}/promo-codes/{promoCodeId}/archive',
    operationId: 'archivePromoCode',
    summary: 'Archive a promo code for good (its figures stay; archiving again changes nothing)',
    tags: ['promo-codes'],
    auth: 'bearer',
    params: CodeParams,
    response: { status: 200, description: 'The archived code', schema: PromoCodeResourceSchema },
    errors: { 404: 'channel_not_found, promo_code_not_found' },
    rateLimits: writeLimits,
    handler: async ({ auth, params, deps, request }) => ({
      body: await archivePromoCode(await promoDeps(deps), { accountId: auth.accountId, requestId: request.requestId, ip: request.ip }, params.channelId, params.promoCodeId),
    }),
  }),
];
