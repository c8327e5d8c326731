import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { decodeJwt, SignJWT } from 'jose';
import type * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, signAccessToken } from '../../shared/accounts/index.js';
import { dashboardRoutes, type RouteDefinition } from '../../shared/dashboard/index.js';
import { formatPublicId } from '../../shared/ids/index.js';
import { addOwnedChats, insertLinkedOwner } from '../../shared/testing/channel-setup.js';
import { creditOwner, insertChannel, insertCheckout, insertPayment, insertPayout, insertTier } from '../../shared/testing/fixtures.js';
import {
  createBatchClock,
  type FuzzGateway,
  type FuzzRequest,
  fuzzSettings,
  fuzzTimeoutMs,
  probeWrites,
  quiesce,
  responseViolations,
  runFuzz,
  sendRaw,
  startFuzzGateway,
  writesSince,
} from './fuzz-harness.js';
import {
  type BodyPlan,
  bodyBytes,
  bodyPlan,
  boundedHeaders,
  clientAddress,
  contentEncoding,
  contentType,
  encodeBody,
  headerValue,
  hostileString,
  type JsonLike,
  jsonText,
  keepInsideMount,
  methodFor,
  mutatedJson,
  noiseHeaders,
  pathSegment,
  percentEncode,
  textWithRefusedCharacter,
  withKey,
} from './request-arbitraries.js';

/**
 * dashboard-api under generated requests: every route of the router (and random paths beside
 * them) with mutated methods, path parameters (own, another account's, malformed), query strings
 * (hostile cursors, timestamps, limits), bodies (the route's valid shape mutated, non-JSON,
 * oversized), Origin and cookies, and Authorization headers from valid to expired, forged,
 * mis-claimed and garbled JWTs. A fresh owner (linked to Telegram, two channels with payments and a
 * payout) is made every batch, so valid-token requests with hostile content reach the handlers
 * even after an earlier one deleted a channel or changed the password.
 */

const API = '/api/v1';
const OWNER_PASSWORD = 'fuzz owner passphrase 2026';
const TRON_WALLET = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';

/**
 * A valid body per operation, the start of the mutations. Strings starting with `$` are filled in
 * when the request is made (the batch's owner, chats, a fresh address). A route with a body and no
 * example fails the suite: add one here.
 */
const EXAMPLE_BODIES: Record<string, JsonLike[]> = {
  signUp: [{ email: '$newEmail', password: 'a long enough passphrase 42' }],
  verifyEmail: [{ token: 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg' }],
  logIn: [{ email: '$ownerEmail', password: '$ownerPassword' }, { email: '$newEmail', password: 'not the password at all' }],
  requestPasswordReset: [{ email: '$ownerEmail' }],
  resetPassword: [{ token: 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg', password: 'another long passphrase 42' }],
  confirmEmailChange: [{ token: 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg' }],
  changePassword: [{ currentPassword: '$ownerPassword', newPassword: 'a brand new passphrase 42' }],
  requestEmailChange: [{ newEmail: '$newEmail', password: '$ownerPassword' }],
  deleteMe: [{ password: '$ownerPassword' }, { password: 'wrong password' }],
  createTelegramLink: [{ password: '$ownerPassword' }, {}],
  deleteChannel: [{ currentPassword: '$ownerPassword' }, { currentPassword: 'wrong password' }],
  createChannel: [
    {
      openChat: { id: '$freeOpenChatId', title: 'Open news', description: 'Free posts' },
      closedChat: { id: '$freeClosedChatId', title: 'Members only' },
      tiers: [{ priceUsd: '9.99', durationDays: 30 }, { priceUsd: '49.99', durationDays: 180 }],
      donations: { enabled: true, minUsd: '5', maxUsd: '500', message: 'Thank you' },
      payoutDestination: { currency: 'USDT', network: 'TRX', wallet: TRON_WALLET },
      payoutStrategy: { strategy: 'threshold', thresholdUsd: '50' },
      underpaymentToleranceBps: 9800,
      notifications: { enabled: true, chatId: null },
      currentPassword: '$ownerPassword',
    },
  ],
  updateChannel: [
    { openChat: { title: 'Renamed', description: 'New words' } },
    { tiers: [{ priceUsd: '19.99', durationDays: 30 }] },
    { donations: { enabled: true, minUsd: '5', maxUsd: '50', message: 'Thanks' } },
    { payoutDestination: { currency: 'USDT', network: 'TRX', wallet: TRON_WALLET, extraId: null }, currentPassword: '$ownerPassword' },
    { payoutStrategy: { strategy: 'threshold', thresholdUsd: '25' }, currentPassword: '$ownerPassword' },
    { underpaymentToleranceBps: 9500, notifications: { enabled: false } },
    { closedChat: { id: '$freeClosedChatId' } },
  ],
  createPromoCode: [
    { code: 'SPRING25', percentOffBps: 2500, validUntil: '2030-01-01T00:00:00Z', maxUses: 100, maxUsesPerUser: 1, tierNumbers: [1] },
    { code: 'FIVE_OFF', amountOff: '5.00', validFrom: null, validUntil: null, maxUses: null, maxUsesPerUser: null, tierNumbers: [] },
  ],
  updatePromoCode: [{ percentOffBps: 1000 }, { amountOff: '2.50', maxUses: 5, tierNumbers: [] }, { validFrom: '2030-01-01T00:00:00Z', validUntil: null }],
  createWebhookEndpoint: [
    { url: 'https://hooks.example.com/paygate', description: 'CRM sync', events: ['payment.settled', 'subscription.started'] },
    { url: 'https://10.0.0.7/hook', events: ['payout.failed'] },
  ],
  updateWebhookEndpoint: [{ description: 'CRM', enabled: false }, { events: ['payout.completed', 'subscription.ended'], url: 'https://hooks.example.com/v2' }],
  rotateWebhookSecret: [{ overlapHours: 24 }, {}],
};

/** What a batch's requests act as: an owner with channels, payments and a payout, and chats to register. */
interface Owner {
  accountId: string;
  sessionId: string;
  email: string;
  channels: string[];
  payout: string;
  freeChats: { openChatId: string; closedChatId: string };
}

type TokenKind =
  | 'valid'
  | 'expired'
  | 'other-secret'
  | 'unknown-session'
  | 'alg-none'
  | 'garbled'
  | 'truncated'
  | 'tampered'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'no-session-claim'
  | 'subject-of-other-kind'
  | 'missing'
  | 'scheme-only'
  | 'basic'
  | 'garbage';

interface ParamPlan {
  pick: 'own' | 'own-second' | 'other' | 'random-id' | 'other-kind' | 'hostile';
  text: string;
  uuid: string;
}

type PathPlan =
  | { kind: 'route'; route: number; params: ParamPlan; variant: 'exact' | 'trailing-slash' | 'double-slash' | 'uppercase' | 'dot-segment' }
  | { kind: 'random'; segments: string[]; isUnderApi: boolean };

interface DashboardPlan {
  path: PathPlan;
  methodOverride: string | null;
  query: [string, string, boolean][];
  token: { kind: TokenKind; scheme: string; garbage: string; uuid: string; cut: number };
  origin: 'none' | 'allowed' | 'other' | 'null' | string;
  cookie: string | null;
  body: BodyPlan | null;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  noise: Record<string, string>;
  localAddress: string;
}

const routes: readonly RouteDefinition[] = dashboardRoutes;

function queryKeysOf(route: RouteDefinition): string[] {
  const shape = (route.query as z.ZodObject | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

describe('fuzz: dashboard-api', () => {
  const settings = fuzzSettings();
  let fuzz: FuzzGateway;
  let passwordHash: string;
  let otherChannel: string;
  let sent = 0;

  beforeAll(async () => {
    fuzz = await startFuzzGateway();
    fuzz.secrets.push(OWNER_PASSWORD);
    passwordHash = await hashPassword(OWNER_PASSWORD);
    otherChannel = formatPublicId('channel', (await insertChannel(fuzz.gateway.testDb.db)).id);
  });
  afterAll(() => fuzz?.stop());

  it('has an example body for every route that takes one', () => {
    const missing = routes.filter((route) => route.body && !EXAMPLE_BODIES[route.operationId]).map((route) => route.operationId);
    expect(missing).toEqual([]);
  });

  /** A new owner through the public door: fixtures for the rows, then a real login for the session. */
  async function newOwner(): Promise<Owner> {
    const { db } = fuzz.gateway.testDb;
    const linked = await insertLinkedOwner(db, fuzz.gateway.telegram);
    const email = `owner-${linked.accountId.slice(0, 8)}@example.com`; // the fixture's address, stored sealed
    await db.query('UPDATE accounts SET password_hash = $2 WHERE id = $1', [linked.accountId, passwordHash]);
    const channels: string[] = [];
    let payout = '';
    for (let index = 0; index < 2; index++) {
      const channel = await insertChannel(db, { ownerAccountId: linked.accountId, payoutStrategy: 'threshold', payoutThresholdCents: 5000n });
      const tier = await insertTier(db, { channelId: channel.id });
      const checkout = await insertCheckout(db, { channelId: channel.id, tierId: tier.id, status: 'paid' });
      await insertPayment(db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
      await creditOwner(db, channel.id, 'ETH', 3_000_000_000_000_000n);
      if (index === 0) payout = formatPublicId('payout', (await insertPayout(db, { channelId: channel.id })).id);
      channels.push(formatPublicId('channel', channel.id));
    }
    const chats = addOwnedChats(fuzz.gateway.telegram, linked.telegramUserId);
    const response = await sendRaw(fuzz.gateway.runtime.url, 'dashboard-api', {
      method: 'POST',
      path: `${API}/auth/login`,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ email, password: OWNER_PASSWORD })),
      localAddress: '127.0.1.1',
      isAuthenticated: true,
      label: 'set-up login',
    });
    if (response.status !== 200) throw new Error(`the set-up login answered ${response.status}: ${response.body}`);
    const { accessToken } = JSON.parse(response.body) as { accessToken: string };
    const sessionId = String(decodeJwt(accessToken).sid);
    return { accountId: linked.accountId, sessionId, email, channels, payout, freeChats: { openChatId: chats.openChatId.toString(), closedChatId: chats.closedChatId.toString() } };
  }

  const param: fc.Arbitrary<ParamPlan> = fc.record({
    pick: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom<ParamPlan['pick']>('own', 'own-second') },
      { weight: 2, arbitrary: fc.constantFrom<ParamPlan['pick']>('other', 'random-id', 'other-kind') },
      { weight: 2, arbitrary: fc.constant<ParamPlan['pick']>('hostile') },
    ),
    text: fc.oneof(pathSegment, hostileString.map(percentEncode)),
    uuid: fc.uuid(),
  });

  const path: fc.Arbitrary<PathPlan> = fc.oneof(
    {
      weight: 9,
      arbitrary: fc.record({
        kind: fc.constant('route' as const),
        route: fc.nat({ max: routes.length - 1 }),
        params: param,
        variant: fc.oneof({ weight: 12, arbitrary: fc.constant('exact' as const) }, { weight: 1, arbitrary: fc.constantFrom('trailing-slash' as const, 'double-slash' as const, 'uppercase' as const, 'dot-segment' as const) }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), segments: fc.array(pathSegment, { maxLength: 4 }), isUnderApi: fc.boolean() }) },
  );

  const digits = (max: number, width: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(width, '0'));

  /**
   * Cursors shaped like ours (base64url of JSON: the list's kind, a microsecond UTC time, a uuid),
   * mostly for `kind`, with the time's digits random (month 13, hour 99…) or one part hostile.
   */
  const cursor = (kind: string) =>
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .record({
            k: fc.oneof({ weight: 4, arbitrary: fc.constant<JsonLike>(kind) }, { weight: 1, arbitrary: fc.constantFrom<JsonLike>('payments', 'subscriptions', 'payouts', 'other', 1, null) }),
            at: fc.oneof(
              fc.tuple(digits(9999, 4), digits(99, 2), digits(99, 2), digits(99, 2), digits(99, 2), digits(99, 2), digits(999_999, 6)).map(([y, mo, d, h, mi, sec, us]) => `${y}-${mo}-${d}T${h}:${mi}:${sec}.${us}Z`),
              fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((date) => `${date.toISOString().slice(0, 23)}123Z`),
              fc.constantFrom<JsonLike>('0000-01-01T00:00:00.000000Z', 'infinity', '', null, 20260101),
            ),
            id: fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'x') }),
          })
          .map((value) => Buffer.from(jsonText(value as JsonLike)).toString('base64url')),
      },
      { weight: 1, arbitrary: fc.base64String({ maxLength: 60 }).map((text) => text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')) },
      { weight: 1, arbitrary: hostileString },
    );
  /** ISO-8601 times: mostly real ones, then edge years, offsets, precision and nonsense. */
  const timestamp = fc.oneof(
    { weight: 3, arbitrary: fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((date) => date.toISOString()) },
    { weight: 2, arbitrary: fc.constantFrom('0000-01-01T00:00:00Z', '2026-01-01T00:00:00.123456789+23:59', '9999-12-31T23:59:59.999Z', '1970-01-01T00:00:00-00:00', '2024-02-29T00:00:00Z', '2026-01-01T00:00:00+14:00', '0001-01-01T00:00:00+01:00') },
    { weight: 1, arbitrary: hostileString },
  );
  /** A value for one query parameter, shaped for what the route expects under that name. */
  const queryValue = (key: string, kind: string): fc.Arbitrary<string> => {
    switch (key) {
      case 'cursor':
        return cursor(kind);
      case 'from':
      case 'to':
        return timestamp;
      case 'limit':
        return fc.oneof(fc.integer({ min: -5, max: 105 }).map(String), fc.constantFrom('1e2', '99999999999999999999', ' 5', '05', '0x10', ''), hostileString);
      case 'status':
      case 'state':
        return fc.oneof(
          fc.subarray(['waiting', 'finished', 'failed', 'partially_paid', 'active', 'expired', 'requested', 'completed', 'held'], { minLength: 1 }).map((values) => values.join(',')),
          fc.constantFrom('finished,', ',', 'FINISHED', 'finished,finished'),
          hostileString,
        );
      case 'channelId':
        return fc.oneof(fc.constantFrom('$ownChannel', '$ownChannel', '$otherChannel', 'ch_AAAAAAAAAAAAAAAAAAAAAA', 'po_AAAAAAAAAAAAAAAAAAAAAA', ''), hostileString);
      default:
        return hostileString;
    }
  };
  /** Each of the route's parameters half the time, sometimes an unknown one; values percent-encoded or raw. */
  const query = (route: RouteDefinition | undefined): fc.Arbitrary<[string, string, boolean][]> => {
    const keys = route ? queryKeysOf(route) : [];
    const kind = route?.path.split('/')[1] ?? '';
    const known = keys.map((key) => fc.option(fc.tuple(fc.constant(key), queryValue(key, kind), fc.boolean()), { nil: undefined, freq: 2 }));
    const unknown = fc.array(fc.tuple(fc.string({ maxLength: 8 }), hostileString, fc.boolean()), { maxLength: 1 });
    return fc.tuple(fc.tuple(...known), unknown).map(([chosen, extra]) => [...chosen.filter((pair): pair is [string, string, boolean] => pair !== undefined), ...extra]);
  };

  const token = fc.record({
    kind: fc.oneof(
      { weight: 12, arbitrary: fc.constant<TokenKind>('valid') },
      {
        weight: 6,
        arbitrary: fc.constantFrom<TokenKind>('expired', 'other-secret', 'unknown-session', 'alg-none', 'garbled', 'truncated', 'tampered', 'wrong-audience', 'wrong-issuer', 'no-session-claim', 'subject-of-other-kind', 'missing', 'scheme-only', 'basic', 'garbage'),
      },
    ),
    scheme: fc.oneof({ weight: 8, arbitrary: fc.constant('Bearer') }, { weight: 1, arbitrary: fc.constantFrom('bearer', 'BEARER', 'Bearer  ', 'Token') }),
    garbage: headerValue,
    uuid: fc.uuid(),
    cut: fc.nat(),
  });

  const plans = (): fc.Arbitrary<DashboardPlan> =>
    path.chain((pathPlan) => {
      const route = pathPlan.kind === 'route' ? routes[pathPlan.route]! : undefined;
      const examples = route?.body ? (EXAMPLE_BODIES[route.operationId] ?? [{}]) : undefined;
      const body: fc.Arbitrary<BodyPlan | null> = examples
        ? fc.constantFrom(...examples).chain((example) => bodyPlan(mutatedJson(example), { oversizeBytes: route?.maxBodyBytes ?? 16 * 1024 }))
        : fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bodyPlan(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonLike>, { oversizeBytes: 16 * 1024 }) });
      return fc.record({
        path: fc.constant(pathPlan),
        methodOverride: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: methodFor('OPTIONS') }),
        query: query(route),
        token,
        origin: fc.oneof({ weight: 6, arbitrary: fc.constant('none') }, { weight: 3, arbitrary: fc.constant('allowed') }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom('other', 'null'), headerValue) }),
        cookie: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.oneof(fc.base64String({ minLength: 40, maxLength: 44 }), headerValue).map((value) => `__Secure-pgp_refresh=${value}`) }),
        body,
        contentType: route?.body ? contentType : fc.option(contentType, { nil: undefined }),
        contentEncoding,
        noise: noiseHeaders.map((headers) => {
          // Cookies and Origin are chosen above, where they mean something.
          const { cookie: _cookie, ...rest } = headers;
          return rest;
        }),
        localAddress: clientAddress,
      });
    });

  /** Strings of `$name` in an example, filled in for this request. */
  function fillIn(value: JsonLike, values: Record<string, string>): JsonLike {
    if (typeof value === 'string') return Object.hasOwn(values, value) ? values[value]! : value;
    if (value === null || typeof value !== 'object' || 'rawNumber' in value) return value;
    if (Array.isArray(value)) return value.map((item) => fillIn(item, values));
    const filled: { [key: string]: JsonLike } = {};
    for (const key of Object.keys(value)) withKey(filled, key, fillIn(value[key]!, values));
    return filled;
  }

  async function tokenFor(plan: DashboardPlan['token'], owner: Owner): Promise<string | undefined> {
    const secret = process.env.JWT_SECRET ?? '';
    const now = fuzz.clock.now();
    const subject = { accountId: owner.accountId, sessionId: owner.sessionId };
    const valid = () => signAccessToken({ secret }, subject, now).then((issued) => issued.token);
    const claims = (overrides: { audience?: string; issuer?: string; sid?: unknown; subject?: string }) => {
      const issuedAt = Math.floor(now.getTime() / 1000);
      return new SignJWT(overrides.sid === undefined ? {} : { sid: overrides.sid })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(overrides.issuer ?? 'paygateprime')
        .setAudience(overrides.audience ?? 'paygateprime-dashboard')
        .setSubject(overrides.subject ?? formatPublicId('account', owner.accountId))
        .setJti(plan.uuid)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + 900)
        .sign(new TextEncoder().encode(secret));
    };
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    let credential: string;
    switch (plan.kind) {
      case 'valid':
        credential = await valid();
        break;
      case 'expired':
        credential = (await signAccessToken({ secret }, subject, new Date(now.getTime() - 2 * 3_600_000))).token;
        break;
      case 'other-secret':
        credential = (await signAccessToken({ secret: `${secret}-but-not-ours-at-all` }, subject, now)).token;
        break;
      case 'unknown-session':
        credential = (await signAccessToken({ secret }, { accountId: owner.accountId, sessionId: plan.uuid }, now)).token;
        break;
      case 'alg-none':
        credential = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: 'paygateprime', aud: 'paygateprime-dashboard', sub: formatPublicId('account', owner.accountId), sid: owner.sessionId, jti: plan.uuid, iat: 1, exp: 9_999_999_999 })}.`;
        break;
      case 'garbled':
        credential = `${createHash('sha256').update(plan.garbage).digest('base64url')}.${b64(plan.garbage)}.${b64(plan.uuid)}`;
        break;
      case 'truncated': {
        const full = await valid();
        credential = full.slice(0, plan.cut % full.length);
        break;
      }
      case 'tampered': {
        const [header, , signature] = (await valid()).split('.');
        credential = `${header}.${b64({ iss: 'paygateprime', aud: 'paygateprime-dashboard', sub: formatPublicId('account', plan.uuid), sid: plan.uuid, jti: plan.uuid, iat: 1, exp: 9_999_999_999 })}.${signature}`;
        break;
      }
      case 'wrong-audience':
        credential = await claims({ audience: 'someone-else', sid: owner.sessionId });
        break;
      case 'wrong-issuer':
        credential = await claims({ issuer: 'someone-else', sid: owner.sessionId });
        break;
      case 'no-session-claim':
        credential = await claims({});
        break;
      case 'subject-of-other-kind':
        credential = await claims({ subject: owner.channels[0]!, sid: owner.sessionId });
        break;
      case 'missing':
        return undefined;
      case 'scheme-only':
        return plan.scheme;
      case 'basic':
        return `Basic ${Buffer.from(`${owner.email}:${OWNER_PASSWORD.slice(0, 3)}`).toString('base64')}`;
      case 'garbage':
        return plan.garbage;
    }
    return `${plan.scheme} ${credential}`;
  }

  function paramValue(name: string, plan: ParamPlan, owner: Owner): string {
    const isPayout = name === 'payoutId';
    switch (plan.pick) {
      case 'own':
        return isPayout ? owner.payout : owner.channels[0]!;
      case 'own-second':
        return isPayout ? owner.payout : owner.channels[1]!;
      case 'other':
        return otherChannel;
      case 'random-id':
        return formatPublicId(isPayout ? 'payout' : 'channel', plan.uuid);
      case 'other-kind':
        return isPayout ? owner.channels[0]! : owner.payout;
      case 'hostile':
        return plan.text;
    }
  }

  async function requestOf(plan: DashboardPlan, owner: Owner): Promise<{ request: FuzzRequest; route: RouteDefinition | undefined; isTokenValid: boolean }> {
    const values: Record<string, string> = {
      $ownerEmail: owner.email,
      $ownerPassword: OWNER_PASSWORD,
      $newEmail: `fuzz-${sent}-${owner.accountId.slice(0, 6)}@example.com`,
      $freeOpenChatId: owner.freeChats.openChatId,
      $freeClosedChatId: owner.freeChats.closedChatId,
      $ownChannel: owner.channels[0]!,
      $otherChannel: otherChannel,
    };
    let route: RouteDefinition | undefined;
    let path: string;
    if (plan.path.kind === 'route') {
      route = routes[plan.path.route]!;
      const pathPlan = plan.path;
      const filled = route.path.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => paramValue(name, pathPlan.params, owner));
      path = `${API}${filled}`;
      if (pathPlan.variant === 'trailing-slash') path = `${path}/`;
      if (pathPlan.variant === 'double-slash') path = path.replace(`${API}/`, `${API}//`);
      if (pathPlan.variant === 'uppercase') path = path.toUpperCase();
      if (pathPlan.variant === 'dot-segment') path = path.replace(`${API}/`, `${API}/./`);
    } else {
      path = `${plan.path.isUnderApi ? API : ''}/${plan.path.segments.join('/')}`;
    }
    const pairs = plan.query.map(([key, value, isRaw]) => {
      const filled = Object.hasOwn(values, value) ? values[value]! : value;
      return isRaw ? `${key.replace(/[^\x21-\x7e]/g, '')}=${filled.replace(/[^\x21-\x7e]/g, '')}` : `${percentEncode(key)}=${percentEncode(filled)}`;
    });
    if (pairs.length > 0) path += `?${pairs.join('&')}`;

    const headers: Record<string, string> = { ...plan.noise };
    const authorization = await tokenFor(plan.token, owner);
    if (authorization !== undefined) headers.authorization = authorization;
    if (plan.origin !== 'none') headers.origin = plan.origin === 'allowed' ? fuzz.gateway.runtime.url : plan.origin === 'other' ? 'https://evil.example' : plan.origin;
    if (plan.cookie !== null) headers.cookie = plan.cookie;
    if (plan.contentType !== undefined) headers['content-type'] = plan.contentType;
    let body: Buffer | undefined;
    if (plan.body) {
      const filled = plan.body.kind === 'json' || plan.body.kind === 'truncated' || plan.body.kind === 'bom' || plan.body.kind === 'utf16' || plan.body.kind === 'oversized' || plan.body.kind === 'duplicate-keys' ? { ...plan.body, value: fillIn(plan.body.value, values) } : plan.body;
      const encoded = encodeBody(bodyBytes(filled), plan.contentEncoding);
      body = encoded.bytes;
      if (encoded.header !== undefined) headers['content-encoding'] = encoded.header;
    }
    const method = plan.methodOverride ?? route?.method ?? 'GET';
    const isTokenValid = plan.token.kind === 'valid';
    return {
      route,
      isTokenValid,
      request: {
        method,
        path: keepInsideMount(path.slice(0, 6 * 1024)),
        headers: boundedHeaders(headers),
        body,
        localAddress: plan.localAddress,
        // Public routes may write (sign-up, login audit); a protected route only with a valid token;
        // a cookie route never here (the fuzz has no live refresh token); no route never.
        isAuthenticated: route !== undefined && (route.auth === 'none' || (route.auth === 'bearer' && isTokenValid)),
        label: `${route ? `${route.method} ${route.path}` : 'random path'}, token ${plan.token.kind}, ${plan.body ? `${plan.body.kind} body` : 'no body'}`,
      },
    };
  }

  /**
   * Every text field the API takes (`shared/user-text`), by operation, example body and path: each
   * gets generated text with a character it must refuse.
   */
  const TEXT_FIELDS: [operationId: string, example: number, path: string[]][] = [
    ['createChannel', 0, ['openChat', 'title']],
    ['createChannel', 0, ['openChat', 'description']],
    ['createChannel', 0, ['closedChat', 'title']],
    ['createChannel', 0, ['closedChat', 'description']],
    ['createChannel', 0, ['donations', 'message']],
    ['createChannel', 0, ['payoutDestination', 'wallet']],
    ['createChannel', 0, ['payoutDestination', 'extraId']],
    ['updateChannel', 0, ['openChat', 'title']],
    ['updateChannel', 0, ['openChat', 'description']],
    ['updateChannel', 2, ['donations', 'message']],
    ['updateChannel', 3, ['payoutDestination', 'extraId']],
    ['signUp', 0, ['email']],
    ['signUp', 0, ['password']],
    ['logIn', 0, ['email']],
    ['requestPasswordReset', 0, ['email']],
    ['verifyEmail', 0, ['token']],
    ['resetPassword', 0, ['token']],
    ['resetPassword', 0, ['password']],
    ['confirmEmailChange', 0, ['token']],
    ['changePassword', 0, ['newPassword']],
    ['requestEmailChange', 0, ['newEmail']],
    ['createPromoCode', 0, ['code']],
    ['createPromoCode', 1, ['amountOff']],
    ['createWebhookEndpoint', 0, ['description']],
    ['createWebhookEndpoint', 0, ['url']],
  ];

  it('has every text field it fills with refused characters in an example body', () => {
    for (const [operationId, example] of TEXT_FIELDS) expect(EXAMPLE_BODIES[operationId]?.[example], operationId).toBeDefined();
  });

  it(`answers generated texts with a control character, U+FFFE/U+FFFF or a lone surrogate in every text field with 400, never 500, storing nothing`, async () => {
    const batches = createBatchClock(fuzz.clock);
    const { db } = fuzz.gateway.testDb;
    let owner: Owner | undefined;
    const runs = Math.max(100, Math.min(settings.runs, 300));
    const report = await runFuzz({
      entryPoint: 'dashboard-api texts',
      testFile: 'tests/fuzz/dashboard-api.test.ts',
      database: fuzz.gateway.testDb.kind,
      settings: { ...settings, runs },
      plans: fc.record({ field: fc.nat({ max: TEXT_FIELDS.length - 1 }), text: textWithRefusedCharacter, localAddress: clientAddress }),
      execute: async (plan) => {
        if (batches.next() || !owner) owner = await newOwner();
        sent++;
        const [operationId, example, fieldPath] = TEXT_FIELDS[plan.field]!;
        const route = routes.find((candidate) => candidate.operationId === operationId)!;
        const values: Record<string, string> = {
          $ownerEmail: owner.email,
          $ownerPassword: OWNER_PASSWORD,
          $newEmail: `fuzz-${sent}-${owner.accountId.slice(0, 6)}@example.com`,
          $freeOpenChatId: owner.freeChats.openChatId,
          $freeClosedChatId: owner.freeChats.closedChatId,
        };
        const body = JSON.parse(JSON.stringify(fillIn(EXAMPLE_BODIES[operationId]![example]!, values))) as Record<string, Record<string, unknown>>;
        let container: Record<string, unknown> = body;
        for (const key of fieldPath.slice(0, -1)) container = container[key] as Record<string, unknown>;
        container[fieldPath.at(-1)!] = plan.text;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (route.auth === 'bearer') headers.authorization = `Bearer ${(await signAccessToken({ secret: process.env.JWT_SECRET ?? '' }, { accountId: owner.accountId, sessionId: owner.sessionId }, fuzz.clock.now())).token}`;
        const request: FuzzRequest = {
          method: route.method,
          path: `${API}${route.path.replace('{channelId}', owner.channels[0]!)}`,
          headers,
          body: Buffer.from(JSON.stringify(body), 'utf8'),
          localAddress: plan.localAddress,
          isAuthenticated: false,
          label: `${route.method} ${route.path}, ${fieldPath.join('.')} = ${JSON.stringify(plan.text)}`,
        };
        await quiesce(fuzz.gateway);
        const before = await probeWrites(db, fuzz.tables);
        const response = await sendRaw(fuzz.gateway.runtime.url, 'dashboard-api', request);
        const violations = responseViolations(request, response, fuzz.secrets);
        const field = fieldPath.join('.');
        let error: { code?: string; fields?: Record<string, string> } | undefined;
        try {
          error = (JSON.parse(response.body) as { error?: typeof error }).error;
        } catch {
          error = undefined;
        }
        if (response.status !== 400 || error?.code !== 'validation_failed' || !error.fields?.[field]) {
          violations.push(`expected 400 validation_failed naming ${field}, got ${response.status} ${JSON.stringify(error)}`);
        }
        await quiesce(fuzz.gateway);
        const written = await writesSince(db, fuzz.tables, before);
        if (written.length > 0) violations.push(`a refused text wrote rows: ${written.join(', ')}`);
        return { request, response, violations };
      },
    });
    expect(report.violations).toBe(0);
  }, fuzzTimeoutMs({ ...settings, runs: 300 }));

  it(`answers ${settings.runs} generated API requests without a 5xx or a leak, in the envelope; without a valid token nothing is read or written`, async () => {
    const batches = createBatchClock(fuzz.clock);
    const { db } = fuzz.gateway.testDb;
    let owner: Owner | undefined;
    const report = await runFuzz({
      entryPoint: 'dashboard-api',
      testFile: 'tests/fuzz/dashboard-api.test.ts',
      database: fuzz.gateway.testDb.kind,
      settings,
      plans: plans(),
      execute: async (plan) => {
        if (batches.next() || !owner) owner = await newOwner();
        sent++;
        const { request, route, isTokenValid } = await requestOf(plan, owner);
        let before: Awaited<ReturnType<typeof probeWrites>> | undefined;
        if (!request.isAuthenticated) {
          await quiesce(fuzz.gateway);
          before = await probeWrites(db, fuzz.tables);
        }
        const response = await sendRaw(fuzz.gateway.runtime.url, 'dashboard-api', request);
        const violations = responseViolations(request, response, fuzz.secrets);
        if (route?.auth === 'bearer' && !isTokenValid && request.method === route.method && response.status < 300) {
          violations.push(`${route.method} ${route.path} answered ${response.status} to a request without a valid access token`);
        }
        if (before) {
          await quiesce(fuzz.gateway);
          const written = await writesSince(db, fuzz.tables, before);
          if (written.length > 0) violations.push(`a request without valid credentials wrote rows: ${written.join(', ')}`);
        }
        return { request, response, violations };
      },
    });
    expect(report.violations).toBe(0);
    if (!settings.path && settings.runs >= 100) {
      // The run reached handlers with a valid token and was refused without one.
      expect(report.statuses['200']).toBeGreaterThan(0);
      expect(report.statuses['401']).toBeGreaterThan(0);
    }
  }, fuzzTimeoutMs(settings));
});
