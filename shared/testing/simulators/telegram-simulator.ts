import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleSandboxRequest } from './telegram-simulator-sandbox.js';
import type { ChatAdministratorRights, ChatInviteLink, Update, UserFromGetMe } from 'grammy/types';
import { type Clock, systemClock } from '../../clock/index.js';
import { TelegramFailure, createChatMethods, readBool, readInt, readJson, readString } from './telegram-simulator-methods.js';
import { type ChatType, type MemberStatus, type Payload, type UpdateBody, createWorld } from './telegram-simulator-world.js';
import { TelegramSimulatorStateSchema, type TelegramSimulatorState } from './telegram-simulator-state.js';
import { createStateFileWriter, readStateFile } from '../sandbox/state-file.js';

/**
 * A local Telegram Bot API server for tests and the sandbox. grammY talks to it unchanged:
 *
 *   const telegram = await startTelegramSimulator({ clock });
 *   const api = createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
 *   const bot = new Bot(telegram.token, { botInfo: telegram.botInfo, client: { apiRoot: telegram.apiRoot } });
 *
 * Tests build the world (`addUser`, `addChat`, `setBotMembership`), let users act (`sendText`,
 * `clickButton`, `joinWithInviteLink`) and read what happened (`calls`, `messagesTo`, `inviteLinks`,
 * `memberStatus`). Responses use Telegram's envelope, error codes and descriptions; dates are Unix
 * seconds from `clock`. Updates go to the webhook set with `setWebhook` (with the
 * `X-Telegram-Bot-Api-Secret-Token` header when a secret was given), else they queue for `getUpdates`.
 *
 * As on Telegram, updates queued while no webhook was set go to the next webhook unless it is set with
 * `drop_pending_updates: true`, and `chat_member` arrives only when `allowed_updates` names it and
 * the bot administers the chat.
 *
 * Deliberate differences from Telegram: webhooks may be plain http on any port; a failed delivery is
 * recorded (`deliveries`, `getWebhookInfo().last_error_message`) but never retried; files, inline
 * mode, join requests and restrictions are not simulated; entities are not returned for bot messages.
 */

export interface TelegramSimulatorOptions {
  /** Bot token the server accepts; default a fixed fake in the real `<bot id>:<35 chars>` format. */
  token?: string;
  /** The bot's username; default `paygateprime_test_bot`. */
  botUsername?: string;
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  /** Source of message dates, link expiry and ban ends; default the system clock. Pass the test's fake clock. */
  clock?: Clock;
  /**
   * Keep users, chats, memberships, invite links, messages and the update counter in this JSON file:
   * loaded at start, rewritten after every change, so a restarted sandbox continues the same chats.
   * The webhook is not kept: whoever starts the simulator sets it again. Default: memory only.
   */
  stateFile?: string;
  /**
   * Telegram's flood limit for bots in groups and channels: at most this many messages a minute into
   * one chat, then 429 "Too Many Requests: retry after N" with `parameters.retry_after`. Default 20,
   * as the Bot API FAQ states; `false` turns it off. Private chats are not limited here.
   */
  perChatMessagesPerMinute?: number | false;
}

export interface SimulatedCall {
  /** As the client spelled it (Telegram ignores case). */
  method: string;
  payload: Record<string, unknown>;
  ok: boolean;
  errorCode?: number;
  at: Date;
}

export interface SimulatedMessage {
  messageId: number;
  /** As sent: the HTML source when `parseMode` is 'HTML'. */
  text: string;
  parseMode?: string;
  replyMarkup?: unknown;
  linkPreviewOptions?: unknown;
}

export interface SimulatedInviteLink extends ChatInviteLink {
  chatId: number;
  /** How many users ever joined with the link. */
  usageCount: number;
  /** How many of them are still members: what `member_limit` counts (a leave frees a seat, as on Telegram). */
  currentMemberCount: number;
  joinedUserIds: readonly number[];
}

export interface SimulatedDelivery {
  update: Update;
  /** `delivered`: the webhook answered (any status); `failed`: it could not be reached; `queued`: no webhook, waiting for getUpdates; `filtered`: not in allowed_updates, dropped. */
  outcome: 'delivered' | 'failed' | 'queued' | 'filtered';
  status?: number;
  error?: string;
}

export interface TelegramSimulatorFailure {
  errorCode: number;
  description: string;
  /** Seconds, sent as `parameters.retry_after` (give it with 429). */
  retryAfter?: number;
}

export interface JoinResult {
  joined: boolean;
  /** Why Telegram refused: invalid_link, link_revoked, link_expired, banned, already_member, member_limit_reached, join_request_required. */
  reason?: string;
  /** The webhook's HTTP status for the chat_member update; 0 when it was not delivered (see `deliveries`). */
  webhookStatus: number;
}

export interface TelegramSimulator {
  /** `http://127.0.0.1:PORT`, for `apiRoot`. */
  readonly apiRoot: string;
  readonly token: string;
  /** What getMe returns; pass as `BotConfig.botInfo` so the bot skips getMe. */
  readonly botInfo: UserFromGetMe;
  /** Stops the server after in-flight updates are delivered. */
  close(): Promise<void>;

  /** Every authenticated request, in order. */
  readonly calls: readonly SimulatedCall[];
  callsTo(method: string): { payload: Record<string, unknown>; ok: boolean }[];
  /** The bot's messages in a chat as they stand now (edits applied, deleted ones gone), oldest first. */
  messagesTo(chatId: number): SimulatedMessage[];
  /** Every update the simulator produced and what became of it, in order. */
  readonly deliveries: readonly SimulatedDelivery[];
  /** Resolves once every update emitted in the background (bans, blockBot, setBotMembership) has been delivered. */
  flush(): Promise<void>;

  /** Whether the simulator knows this user (e.g. from its state file). */
  hasUser(userId: number): boolean;
  /** Whether the simulator knows this chat (e.g. from its state file). */
  hasChat(chatId: number): boolean;
  /** Adds a user and their private chat with the bot. `startedBot: false` makes the bot's first message fail with 403 until the user writes. */
  addUser(user: { id: number; first_name: string; last_name?: string; username?: string; language_code?: string; is_bot?: boolean }, options?: { startedBot?: boolean }): void;
  /** Adds a chat: group/supergroup/channel ids are negative (-100… for supergroups and channels). The bot starts outside it. */
  addChat(chat: { id: number; type: ChatType; title?: string; username?: string }): void;
  /**
   * Sets the bot's membership and sends `my_chat_member`. An administrator gets every right except
   * those set to false in `rights` (`{ can_invite_users: false }` takes one away).
   */
  setBotMembership(chatId: number, status: 'administrator' | 'member' | 'left' | 'kicked', rights?: Partial<ChatAdministratorRights>): void;
  /** Puts a known user into a chat without any update (setup). Default status `member`. */
  addMember(chatId: number, userId: number, status?: 'member' | 'administrator' | 'creator'): void;
  /** The status in force now; an expired temporary ban reads `left`. */
  memberStatus(chatId: number, userId: number): MemberStatus;
  inviteLinks(chatId?: number): SimulatedInviteLink[];
  /** The user blocks the bot: messages to them fail with 403 "Forbidden: bot was blocked by the user"; sends `my_chat_member`. */
  blockBot(userId: number): void;
  /** The user deletes their account: messages to them fail with 403 "Forbidden: user is deactivated". */
  deactivateUser(userId: number): void;
  /** The next `times` (default 1) calls of `method` fail with this error instead of running. */
  failNext(method: string, failure: TelegramSimulatorFailure, times?: number): void;

  /** The user opens an invite link; on success they become a member and a `chat_member` update carries `invite_link`. */
  joinWithInviteLink(userId: number, inviteLink: string): Promise<JoinResult>;
  /** The member leaves the chat (`chat_member` update); resolves with the webhook status, 0 when not delivered. */
  leaveChat(userId: number, chatId: number): Promise<number>;
  /** The user writes to the bot in private (commands get a `bot_command` entity); unblocks the bot. Resolves with the webhook status. */
  sendText(fromUserId: number, text: string): Promise<number>;
  /** The user presses an inline button of a bot message in their private chat. Resolves with the webhook status. */
  clickButton(fromUserId: number, messageId: number, data: string): Promise<number>;
  /** Delivers any update as is (`update_id` assigned when missing). Resolves with the webhook status, 0 when not delivered. */
  deliverUpdate(update: Update | UpdateBody): Promise<number>;
}

/** Methods that post a message into a chat (counted by the flood limit). */
const FLOOD_LIMITED_METHODS = new Set(['sendmessage', 'sendphoto', 'senddocument', 'copymessage', 'forwardmessage', 'sendmediagroup']);

/** A fake token in the real format: bot id, colon, 35 characters of [A-Za-z0-9_-]. */
const DEFAULT_TOKEN = '123456789:AAHsimulatedTokenNotValidOnTelegram';
const WEBHOOK_TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 1_000_000;
/** Telegram's default when allowed_updates was never given: everything except these. */
const OPT_IN_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

function botIdOf(token: string): number {
  const id = Number(/^(\d+):/.exec(token)?.[1]);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error('Telegram simulator: a token looks like <bot id>:<secret>');
  return id;
}

async function readPayload(request: IncomingMessage, url: URL): Promise<Payload> {
  const payload: Payload = Object.fromEntries(url.searchParams);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new TelegramFailure(413, 'Request Entity Too Large');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString('utf8');
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (body.trim() === '') return payload;
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new TelegramFailure(400, "Bad Request: can't parse JSON encoded request");
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TelegramFailure(400, 'Bad Request: the request body must be a JSON object');
    return { ...payload, ...(parsed as Payload) };
  }
  if (type === 'application/x-www-form-urlencoded') {
    // Object-valued fields (reply_markup, allowed_updates…) arrive as JSON text; the readers parse them.
    return { ...payload, ...Object.fromEntries(new URLSearchParams(body)) };
  }
  throw new TelegramFailure(400, `Bad Request: the simulator accepts JSON and form bodies, not ${type || 'untyped ones'} (file uploads are not simulated)`);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function failureBody(failure: TelegramFailure): Record<string, unknown> {
  return {
    ok: false,
    error_code: failure.errorCode,
    description: failure.description,
    ...(failure.retryAfter !== undefined && { parameters: { retry_after: failure.retryAfter } }),
  };
}

/** Starts a simulator on 127.0.0.1; `close()` it in `afterAll`. */
export async function startTelegramSimulator(options: TelegramSimulatorOptions = {}): Promise<TelegramSimulator> {
  const token = options.token ?? DEFAULT_TOKEN;
  const clock = options.clock ?? systemClock;
  const botInfo: UserFromGetMe = {
    id: botIdOf(token),
    is_bot: true,
    first_name: 'PayGatePrime Test Bot',
    username: options.botUsername ?? 'paygateprime_test_bot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    has_topics_enabled: false,
    allows_users_to_create_topics: false,
    can_manage_bots: false,
    supports_join_request_queries: false,
  };

  const calls: SimulatedCall[] = [];
  const deliveries: SimulatedDelivery[] = [];
  const injected = new Map<string, TelegramSimulatorFailure[]>();
  const inFlight = new Set<Promise<unknown>>();
  const pending: Update[] = [];
  const pollers = new Set<() => void>();
  const webhook: { url: string; secretToken?: string; allowedUpdates?: string[]; lastErrorDate?: number; lastErrorMessage?: string } = { url: '' };
  const stored = options.stateFile === undefined ? undefined : readStateFile(options.stateFile, TelegramSimulatorStateSchema);
  let nextUpdateId = stored?.nextUpdateId ?? 100_000_001;
  pending.push(...(stored?.pendingUpdates ?? []));
  let closed = false;

  // ---- updates: numbered, filtered by allowed_updates, then POSTed to the webhook or queued ----

  function isAllowed(update: Update): boolean {
    const type = Object.keys(update).find((key) => key !== 'update_id');
    if (type === undefined) return false;
    return webhook.allowedUpdates === undefined || webhook.allowedUpdates.length === 0 ? !OPT_IN_UPDATES.has(type) : webhook.allowedUpdates.includes(type);
  }

  /** POSTs one update to the webhook and records the outcome; resolves with the HTTP status, 0 when unreachable. */
  async function post(update: Update): Promise<number> {
    const record: SimulatedDelivery = { update, outcome: 'delivered' };
    deliveries.push(record);
    const failAt = () => (webhook.lastErrorDate = Math.floor(clock.now().getTime() / 1000));
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(webhook.secretToken && { 'x-telegram-bot-api-secret-token': webhook.secretToken }) },
        body: JSON.stringify(update),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      record.status = response.status;
      if (!response.ok) {
        failAt();
        webhook.lastErrorMessage = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
      }
      return response.status;
    } catch (error) {
      Object.assign(record, { outcome: 'failed', status: 0 });
      record.error = error instanceof Error ? String((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      failAt();
      webhook.lastErrorMessage = record.error;
      return 0;
    }
  }

  async function deliver(body: Update | UpdateBody): Promise<number> {
    const update = { update_id: nextUpdateId++, ...body } as Update;
    save();
    if (!isAllowed(update)) {
      deliveries.push({ update, outcome: 'filtered' });
      return 0;
    }
    if (webhook.url === '') {
      deliveries.push({ update, outcome: 'queued' });
      pending.push(update);
      save();
      for (const wake of pollers) wake();
      return 0;
    }
    return post(update);
  }

  /** Work that runs after the current API response, as Telegram's own deliveries do; `flush()` awaits it. */
  function later(work: () => Promise<unknown>): void {
    const task = new Promise<void>((resolve) => setImmediate(resolve)).then(work);
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  }

  function deliverLater(body: UpdateBody | undefined): void {
    if (body) later(() => deliver(body));
  }

  /** A new webhook receives what queued while there was none, in order, unless it was set with drop_pending_updates. */
  function sendBacklog(): void {
    const backlog = pending.splice(0);
    if (backlog.length === 0) return;
    later(async () => {
      for (const update of backlog) {
        if (isAllowed(update)) await post(update);
        else deliveries.push({ update, outcome: 'filtered' });
      }
    });
  }

  const world = createWorld({ bot: botInfo, clock, initial: stored?.world });
  const chatMethods = createChatMethods(world, deliverLater);
  const writer = options.stateFile === undefined ? undefined : createStateFileWriter(options.stateFile);
  /** Called after every change (a method call is saved before it is answered); unchanged state is not rewritten. */
  const save = (): void => {
    if (!writer) return;
    const state: TelegramSimulatorState = { version: 1, world: world.snapshot(), nextUpdateId, pendingUpdates: pending };
    writer.save(state);
  };

  // ---- methods about updates: webhook and long polling ----

  function readAllowedUpdates(payload: Payload): void {
    const allowed = readJson(payload, 'allowed_updates', 'allowed updates');
    if (Array.isArray(allowed)) webhook.allowedUpdates = allowed.filter((item): item is string => typeof item === 'string');
  }

  function dropPending(payload: Payload): void {
    if (readBool(payload, 'drop_pending_updates')) pending.length = 0;
  }

  const updateMethods: Record<string, (payload: Payload) => unknown> = {
    setwebhook(payload) {
      const url = readString(payload, 'url') ?? '';
      if (url === '') return updateMethods.deletewebhook!(payload);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new TelegramFailure(400, 'Bad Request: bad webhook: Failed to resolve host: Name or service not known');
      }
      if (!['http:', 'https:'].includes(parsed.protocol)) throw new TelegramFailure(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
      const secretToken = readString(payload, 'secret_token');
      if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
        throw new TelegramFailure(400, 'Bad Request: secret token contains unallowed characters'); // unverified wording
      }
      readAllowedUpdates(payload);
      dropPending(payload);
      const wasSet = webhook.url === url && webhook.secretToken === secretToken;
      Object.assign(webhook, { url, secretToken });
      for (const wake of pollers) wake();
      sendBacklog();
      return { result: true, description: wasSet ? 'Webhook is already set' : 'Webhook was set' };
    },
    deletewebhook(payload) {
      dropPending(payload);
      const wasSet = webhook.url !== '';
      Object.assign(webhook, { url: '', secretToken: undefined });
      return { result: true, description: wasSet ? 'Webhook was deleted' : 'Webhook is already deleted' };
    },
    getwebhookinfo: () => ({
      url: webhook.url,
      has_custom_certificate: false,
      pending_update_count: webhook.url === '' ? pending.length : 0,
      ...(webhook.url !== '' && { ip_address: '127.0.0.1', max_connections: 40 }),
      ...(webhook.allowedUpdates && { allowed_updates: webhook.allowedUpdates }),
      ...(webhook.lastErrorDate !== undefined && { last_error_date: webhook.lastErrorDate, last_error_message: webhook.lastErrorMessage }),
    }),
  };

  /** Long polling: waits up to `timeout` seconds (real time) for an update; `offset` confirms earlier ones. */
  async function getUpdates(payload: Payload): Promise<unknown> {
    if (webhook.url !== '') {
      throw new TelegramFailure(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    readAllowedUpdates(payload);
    const offset = readInt(payload, 'offset') ?? 0;
    const limit = Math.min(Math.max(readInt(payload, 'limit') ?? 100, 1), 100);
    const timeoutSeconds = Math.min(Math.max(readInt(payload, 'timeout') ?? 0, 0), 50);
    if (offset > 0) while (pending.length > 0 && pending[0]!.update_id < offset) pending.shift();
    if (pending.length === 0 && timeoutSeconds > 0 && !closed) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          pollers.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, timeoutSeconds * 1000);
        pollers.add(wake);
      });
    }
    if (webhook.url !== '') throw new TelegramFailure(409, 'Conflict: terminated by setWebhook request');
    return pending.slice(0, limit);
  }

  // ---- flood limits ----

  const perChatPerMinute = options.perChatMessagesPerMinute ?? 20;
  const recentPosts = new Map<number, number[]>();

  /** The group or channel a message call posts into, when limits apply to it. */
  function floodLimitedChat(payload: Payload): number | undefined {
    if (perChatPerMinute === false) return undefined;
    const id = Number(payload.chat_id);
    const chat = Number.isSafeInteger(id) ? world.chats.get(id) : undefined;
    return chat && chat.type !== 'private' ? id : undefined;
  }

  function enforceFloodLimit(chatId: number): void {
    const now = clock.now().getTime();
    const posts = (recentPosts.get(chatId) ?? []).filter((at) => at > now - 60_000);
    recentPosts.set(chatId, posts);
    if (perChatPerMinute !== false && posts.length >= perChatPerMinute) {
      const retryAfter = Math.max(1, Math.ceil((posts[posts.length - perChatPerMinute]! + 60_000 - now) / 1000));
      throw new TelegramFailure(429, `Too Many Requests: retry after ${retryAfter}`, retryAfter);
    }
  }

  // ---- the HTTP server ----

  let simulator: TelegramSimulator | undefined;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (simulator && (await handleSandboxRequest(simulator, request, response, url.pathname))) return;
    const route = /^\/bot([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!route) return send(response, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (decodeURIComponent(route[1]!) !== token) return send(response, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = route[2]!;
    const key = method.toLowerCase();
    const call: SimulatedCall = { method, payload: {}, ok: false, at: clock.now() };
    calls.push(call);
    try {
      call.payload = await readPayload(request, url);
      const handler = key === 'getupdates' ? getUpdates : (updateMethods[key] ?? chatMethods[key]);
      if (!handler) throw new TelegramFailure(404, 'Not Found');
      const failure = injected.get(key)?.shift();
      if (failure) throw new TelegramFailure(failure.errorCode, failure.description, failure.retryAfter);
      const floodChat = FLOOD_LIMITED_METHODS.has(key) ? floodLimitedChat(call.payload) : undefined;
      if (floodChat !== undefined) enforceFloodLimit(floodChat);
      const outcome = await handler(call.payload);
      if (floodChat !== undefined) recentPosts.get(floodChat)!.push(clock.now().getTime());
      call.ok = true;
      save();
      const described = key === 'setwebhook' || key === 'deletewebhook';
      send(response, 200, described ? { ok: true, ...(outcome as object) } : { ok: true, result: outcome });
    } catch (error) {
      const failure = error instanceof TelegramFailure ? error : new TelegramFailure(500, 'Internal Server Error');
      call.errorCode = failure.errorCode;
      send(response, failure.errorCode, failureBody(failure));
      if (!(error instanceof TelegramFailure)) throw error;
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A simulator bug: answered with 500 above; surface it in the test output too.
      console.error('Telegram simulator failed on a request', error);
    });
  });
  // grammY reuses keep-alive sockets (node-fetch, no idle expiry on its side): if the server closed
  // idle sockets after Node's default 5 s, a call after a slow test step would die with ECONNRESET.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function flush(): Promise<void> {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  }

  simulator = {
    apiRoot,
    token,
    botInfo,
    calls,
    deliveries,
    flush,

    async close() {
      closed = true;
      for (const wake of pollers) wake();
      await flush();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },

    callsTo(method) {
      const key = method.toLowerCase();
      return calls.filter((call) => call.method.toLowerCase() === key).map(({ payload, ok }) => ({ payload, ok }));
    },

    messagesTo(chatId) {
      return world.botMessages(chatId).map((m) => ({
        messageId: m.messageId,
        text: m.text,
        ...(m.parseMode !== undefined && { parseMode: m.parseMode }),
        ...(m.replyMarkup !== undefined && { replyMarkup: m.replyMarkup }),
        ...(m.linkPreviewOptions !== undefined && { linkPreviewOptions: m.linkPreviewOptions }),
      }));
    },

    hasUser: (userId) => world.users.has(userId),
    hasChat: (chatId) => world.chats.has(chatId),
    addUser(user, addOptions) {
      world.addUser({ ...user, is_bot: user.is_bot ?? false }, addOptions);
      save();
    },
    addChat(chat) {
      world.addChat(chat);
      save();
    },
    setBotMembership(chatId, status, rights) {
      deliverLater(world.setBotMembership(chatId, status, rights));
      save();
    },
    addMember(chatId, userId, status = 'member') {
      world.addMember(chatId, userId, status);
      save();
    },
    memberStatus: (chatId, userId) => world.memberStatus(chatId, userId),

    inviteLinks(chatId) {
      return world.inviteLinks(chatId).map(({ link, currentMemberCount }) => ({
        ...link,
        joinedUserIds: [...link.joinedUserIds],
        usageCount: link.joinedUserIds.length,
        currentMemberCount,
      }));
    },

    blockBot(userId) {
      deliverLater(world.setBlocked(userId, true));
      save();
    },
    deactivateUser(userId) {
      world.deactivate(userId);
      save();
    },

    failNext(method, failure, times = 1) {
      const key = method.toLowerCase();
      const queue = injected.get(key) ?? [];
      for (let i = 0; i < times; i += 1) queue.push(failure);
      injected.set(key, queue);
    },

    async joinWithInviteLink(userId, inviteLink) {
      const { update, ...result } = world.join(userId, inviteLink);
      save();
      return { ...result, webhookStatus: update ? await deliver(update) : 0 };
    },

    async leaveChat(userId, chatId) {
      const update = world.leave(userId, chatId);
      save();
      return update ? deliver(update) : 0;
    },

    async sendText(fromUserId, text) {
      const unblocked = world.setBlocked(fromUserId, false);
      if (unblocked) await deliver(unblocked);
      const message = world.userMessage(fromUserId, text);
      return deliver({ message: world.messageJson(message) } as UpdateBody);
    },

    async clickButton(fromUserId, messageId, data) {
      const { id, message } = world.pressButton(fromUserId, messageId, data);
      const from = world.userRecord(fromUserId).user;
      return deliver({ callback_query: { id, from, message, chat_instance: String(fromUserId * 7919), data } } as UpdateBody);
    },

    deliverUpdate: (update) => deliver(update),
  };
  return simulator;
}
