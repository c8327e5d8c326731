import createClient, { type Client } from 'openapi-fetch';
import { ApiError, apiErrorOf, UNREACHABLE } from './api-error';
import type { components, operations, paths } from './schema.gen';

/** The dashboard API on this origin: Firebase Hosting rewrites `/api/**` to it, and so does `npm start`. */
export const API_BASE = '/api/v1';

export type Api = Client<paths>;
export type { components, operations, paths };

/** The JSON body of an operation's success answer. */
export type AnswerOf<Operation extends keyof operations, Status extends number = 200> = operations[Operation]['responses'] extends Record<Status, { content: { 'application/json': infer Body } }>
  ? Body
  : never;
/** The JSON body an operation takes. */
export type BodyOf<Operation extends keyof operations> = operations[Operation] extends { requestBody: { content: { 'application/json': infer Body } } } ? Body : never;

export type Channel = AnswerOf<'retrieveChannel'>;
export type ChannelInput = BodyOf<'createChannel'>;
export type ChannelChanges = BodyOf<'updateChannel'>;
export type PayoutOption = AnswerOf<'listPayoutOptions'>['options'][number];
export type Me = AnswerOf<'retrieveMe'>;
export type TelegramLink = AnswerOf<'createTelegramLink', 201>;
export type Balances = AnswerOf<'listBalances'>;
export type ChannelFigures = AnswerOf<'listChannelFigures'>['channels'][number];
export type Revenue = AnswerOf<'retrieveRevenue'>;
export type RevenueInterval = Revenue['interval'];
export type TierPosts = AnswerOf<'previewTierPosts'>;

/** A typed client: `fetch` decides whether requests carry the session (see `auth-session.ts`). */
export function createApi(fetch: (request: Request) => Promise<Response>): Api {
  return createClient<paths>({ baseUrl: API_BASE, fetch });
}

/**
 * The data of a success answer, or an `ApiError` with the envelope's code, message and fields.
 * A request that got no answer at all becomes `UNREACHABLE`.
 */
export async function must<Data>(call: Promise<{ data?: Data; error?: unknown; response: Response }>): Promise<Data> {
  let result: { data?: Data; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw UNREACHABLE;
  }
  if (result.response.ok) return result.data as Data;
  throw apiErrorOf(result.response, result.error);
}
