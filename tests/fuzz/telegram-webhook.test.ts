import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../../shared/ids/index.js';
import { SECRET_TOKEN_HEADER } from '../../shared/bot/index.js';
import { insertSubscription, insertTelegramUser } from '../../shared/testing/fixtures.js';
import { checkoutFor, newSubscriber, seedChannel } from '../e2e/gateway-harness.js';
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
  keepInsideMount,
  hostileNumber,
  hostileString,
  hostileValue,
  type JsonLike,
  methodFor,
  mutatedJson,
  noiseHeaders,
  pathSegment,
  queryString,
} from './request-arbitraries.js';

/**
 * telegram-webhook under generated requests: the secret token right, wrong, missing or padded;
 * updates of every kind (messages with commands and deep links, button presses with real and
 * tampered data, member changes, kinds the bot ignores) with fields mutated into wrong types, huge
 * numbers, unicode and NUL; bodies that are not updates at all. With the right secret the bot runs
 * against the Telegram simulator and the database, so its handlers are fuzzed too.
 */

type SecretMode = 'valid' | 'missing' | 'empty' | 'wrong' | 'prefix' | 'padded' | 'uppercase' | 'garbage';

interface WebhookPlan {
  method: string;
  path: string;
  secret: SecretMode;
  garbage: string;
  body: BodyPlan;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  noise: Record<string, string>;
  localAddress: string;
}

describe('fuzz: telegram-webhook', () => {
  const settings = fuzzSettings();
  let fuzz: FuzzGateway;
  let secret: string;
  const world = { userIds: [] as number[], ownerId: 0, closedChatId: 0, channel: '', checkout: '', subscription: '' };

  beforeAll(async () => {
    fuzz = await startFuzzGateway();
    secret = process.env.TELEGRAM_WEBHOOK_SECRET ?? '';
    const channel = await seedChannel(fuzz.gateway, { strategy: 'threshold', priceCents: 1999n, days: 30 });
    const fans = [newSubscriber(fuzz.gateway), newSubscriber(fuzz.gateway), newSubscriber(fuzz.gateway)];
    const checkout = await checkoutFor(fuzz.gateway, channel, fans[0]!);
    const subscriber = await insertTelegramUser(fuzz.gateway.testDb.db, { id: BigInt(fans[1]!.id) });
    const subscription = await insertSubscription(fuzz.gateway.testDb.db, { telegramUserId: subscriber.id, channelId: channel.channelId });
    Object.assign(world, {
      userIds: [...fans.map((fan) => fan.id), channel.ownerTelegramId],
      ownerId: channel.ownerTelegramId,
      closedChatId: channel.closedChatId,
      channel: formatPublicId('channel', channel.channelId),
      checkout: checkout.publicId,
      subscription: formatPublicId('subscription', subscription.id),
    });
  });
  afterAll(() => fuzz?.stop());

  const mostly = <T,>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: hostile });

  const updates = (): fc.Arbitrary<JsonLike> => {
    const userId = mostly(fc.constantFrom(...world.userIds), fc.oneof(fc.integer({ min: 1, max: 2 ** 52 }), fc.constantFrom(0, -1, 2 ** 53 + 1)));
    const user = fc.record({
      id: userId,
      is_bot: mostly(fc.constant(false), fc.constant(true)),
      first_name: mostly(fc.constant('Fan'), hostileString),
      username: fc.option(fc.stringMatching(/^[a-z][a-z0-9_]{4,20}$/), { nil: undefined }),
      language_code: fc.option(fc.constantFrom('en', 'ru', 'de', '', 'xx-YY', 'ru-RU'), { nil: undefined }),
    });
    const date = fc.integer({ min: 1_700_000_000, max: 1_900_000_000 });
    const privateChat = user.map((from) => ({ from, chat: { id: from.id, type: 'private', first_name: from.first_name } }));
    const groupChat = fc
      .tuple(user, fc.oneof(fc.constant(world.closedChatId), fc.integer({ min: -(2 ** 52), max: -1 })), fc.constantFrom('group', 'supergroup', 'channel'))
      .map(([from, id, type]) => ({ from, chat: { id, type, title: 'Some chat' } }));
    const command = fc.constantFrom(
      '/start',
      `/start c_${world.channel}`,
      `/start d_${world.channel}`,
      '/start c_ch_AAAAAAAAAAAAAAAAAAAAAA',
      '/start link_ABCDEFGHJKMN',
      '/start link_',
      '/start d_',
      '/channels',
      '/subscriptions',
      '/notifications on',
      '/notifications off',
      '/notifications maybe',
      '/help',
      `/start@${process.env.TELEGRAM_BOT_USERNAME ?? 'bot'} c_${world.channel}`,
    );
    const text = fc.oneof({ weight: 4, arbitrary: command }, { weight: 1, arbitrary: fc.tuple(command, hostileString).map(([c, tail]) => `${c}${tail}`) }, { weight: 1, arbitrary: hostileString });
    const message = fc.tuple(fc.oneof({ weight: 4, arbitrary: privateChat }, { weight: 1, arbitrary: groupChat }), fc.nat(), date, text).map(([where, messageId, when, body]) => ({
      message_id: messageId,
      date: when,
      ...where,
      text: body,
      ...(body.startsWith('/') ? { entities: [{ type: 'bot_command', offset: 0, length: body.split(/[\s]/)[0]!.length }] } : {}),
    }));
    const buttonData = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(`t1:${world.channel}:1`, `t1:${world.channel}:3`, `k1:${world.checkout}`, `r1:${world.channel}`, `l1:${world.subscription}`, 'd1:5', 'd1:ok', 'd1:no', 'd1:del') },
      { weight: 1, arbitrary: fc.constantFrom('t1:ch_AAAAAAAAAAAAAAAAAAAAAA:1', `t1:${world.channel}:99999999999999999999`, 'k1:', 'l1:sub_', 'x9:1', '', ':::') },
      { weight: 1, arbitrary: hostileString.map((data) => data.slice(0, 64)) },
    );
    const callbackQuery = fc.tuple(privateChat, fc.string({ minLength: 1, maxLength: 20 }), buttonData, fc.nat(), date).map(([where, id, data, messageId, when]) => ({
      id,
      from: where.from,
      chat_instance: '42',
      data,
      message: { message_id: messageId, date: when, chat: where.chat },
    }));
    const status = fc.constantFrom('creator', 'administrator', 'member', 'restricted', 'left', 'kicked', 'owner', '');
    const memberChange = fc
      .tuple(user, status, status, date, fc.option(fc.constantFrom('https://t.me/+AAAAAAAAAAAAAAAA', 'https://t.me/+fuzz', ''), { nil: undefined }))
      .map(([member, before, after, when, link]) => ({
        chat: { id: world.closedChatId, type: 'channel', title: 'Premium' },
        from: member,
        date: when,
        old_chat_member: { user: member, status: before },
        new_chat_member: { user: member, status: after, can_invite_users: true, can_restrict_members: false },
        ...(link === undefined ? {} : { invite_link: { invite_link: link, creator: { id: 1, is_bot: true, first_name: 'bot' }, creates_join_request: false, is_primary: false, is_revoked: false, name: 'pay:x' } }),
      }));
    const kind = fc.oneof(
      { weight: 6, arbitrary: message.map((value) => ({ message: value })) },
      { weight: 4, arbitrary: callbackQuery.map((value) => ({ callback_query: value })) },
      { weight: 2, arbitrary: memberChange.map((value) => ({ chat_member: value })) },
      { weight: 1, arbitrary: memberChange.map((value) => ({ my_chat_member: value })) },
      { weight: 1, arbitrary: message.map((value) => ({ edited_message: value })) },
      { weight: 1, arbitrary: message.map((value) => ({ channel_post: value })) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('inline_query', 'pre_checkout_query', 'poll', 'message_reaction', 'business_message', 'unknown_kind'), hostileValue).map(([name, value]) => ({ [name]: value })) },
    );
    const updateId = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 2 ** 31 }) }, { weight: 1, arbitrary: hostileNumber });
    return fc.tuple(updateId, kind).chain(([id, content]) => mutatedJson({ update_id: id, ...content } as JsonLike, { maxMutations: 2 }));
  };

  const plans = (): fc.Arbitrary<WebhookPlan> =>
    fc.record({
      method: methodFor('POST'),
      path: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant('/') }, { weight: 1, arbitrary: fc.array(pathSegment, { minLength: 1, maxLength: 3 }).map((segments) => `/${segments.join('/')}`) }).chain((path) =>
        queryString(['update_id', 'secret_token'], hostileString).map((query) => `${path}${query}`),
      ),
      secret: fc.oneof(
        { weight: 6, arbitrary: fc.constant<SecretMode>('valid') },
        { weight: 4, arbitrary: fc.constantFrom<SecretMode>('missing', 'empty', 'wrong', 'prefix', 'padded', 'uppercase', 'garbage') },
      ),
      garbage: headerValue,
      body: bodyPlan(updates(), { oversizeBytes: 1024 * 1024 }),
      contentType,
      contentEncoding,
      noise: noiseHeaders,
      localAddress: clientAddress,
    });

  function secretFor(mode: SecretMode, garbage: string): string | undefined {
    switch (mode) {
      case 'valid':
        return secret;
      case 'missing':
        return undefined;
      case 'empty':
        return '';
      case 'wrong':
        return `${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}`;
      case 'prefix':
        return secret.slice(0, -1);
      case 'padded':
        return `${secret} `;
      case 'uppercase':
        return secret.toUpperCase();
      case 'garbage':
        return garbage;
    }
  }

  function requestOf(plan: WebhookPlan): FuzzRequest {
    const { bytes, header: encoding } = encodeBody(bodyBytes(plan.body), plan.contentEncoding);
    const headers: Record<string, string> = { ...plan.noise };
    if (plan.contentType !== undefined) headers['content-type'] = plan.contentType;
    if (encoding !== undefined) headers['content-encoding'] = encoding;
    const token = secretFor(plan.secret, plan.garbage);
    if (token !== undefined) headers[SECRET_TOKEN_HEADER] = token;
    return {
      method: plan.method,
      path: keepInsideMount(plan.path),
      headers: boundedHeaders(headers),
      body: bytes,
      localAddress: plan.localAddress,
      // Node trims header values, so a padded secret arrives intact: it is the right secret.
      isAuthenticated: token !== undefined && token.trim() === secret,
      label: `${plan.body.kind} body, secret ${plan.secret}`,
    };
  }

  it(`answers ${settings.runs} generated webhook requests without a 5xx or a leak, in the envelope, and without the secret nothing is written or sent`, async () => {
    const batches = createBatchClock(fuzz.clock);
    const { db } = fuzz.gateway.testDb;
    const { telegram } = fuzz.gateway;
    const report = await runFuzz({
      entryPoint: 'telegram-webhook',
      testFile: 'tests/fuzz/telegram-webhook.test.ts',
      database: fuzz.gateway.testDb.kind,
      settings,
      plans: plans(),
      execute: async (plan) => {
        batches.next();
        const request = requestOf(plan);
        if (request.isAuthenticated) {
          const response = await sendRaw(fuzz.gateway.runtime.url, 'telegram-webhook', request);
          return { request, response, violations: responseViolations(request, response, fuzz.secrets) };
        }
        await quiesce(fuzz.gateway);
        const before = await probeWrites(db, fuzz.tables);
        const callsBefore = telegram.calls.length;
        const response = await sendRaw(fuzz.gateway.runtime.url, 'telegram-webhook', request);
        await quiesce(fuzz.gateway);
        const written = await writesSince(db, fuzz.tables, before);
        const violations = responseViolations(request, response, fuzz.secrets);
        if (written.length > 0) violations.push(`a request without the secret token wrote rows: ${written.join(', ')}`);
        if (telegram.calls.length !== callsBefore) violations.push(`a request without the secret token made ${telegram.calls.length - callsBefore} Bot API calls`);
        return { request, response, violations };
      },
    });
    expect(report.violations).toBe(0);
    if (!settings.path && settings.runs >= 100) {
      // The run reached both sides of the secret check.
      expect(report.statuses['401']).toBeGreaterThan(0);
      expect(report.statuses['200']).toBeGreaterThan(0);
    }
  }, fuzzTimeoutMs(settings));
});
