import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import type { TelegramSimulator } from './telegram-simulator.js';

/**
 * The simulator's control API, for a person (or the sandbox CLI) playing a Telegram user:
 *   POST /sandbox/users                       {"id":1001,"first_name":"Ann","language_code":"en"}
 *   POST /sandbox/users/<id>/messages         {"text":"/start c_…"}
 *   POST /sandbox/users/<id>/clicks           {"messageId":3,"data":"t1:…"}
 *   POST /sandbox/users/<id>/joins            {"inviteLink":"https://t.me/+…"}
 *   GET  /sandbox/chats/<id>/messages         the bot's messages in that chat, with their buttons
 *   POST /sandbox/chats                       {"id":-1001234567890,"type":"channel","title":"News"}
 *   POST /sandbox/chats/<id>/members          {"userId":1001,"status":"creator"}    (an owner registering a channel)
 *   POST /sandbox/chats/<id>/bot              {"status":"administrator","rights":{"can_invite_users":false}}
 */
const UserSchema = z.object({ id: z.number().int().positive(), first_name: z.string().min(1), username: z.string().optional(), language_code: z.string().optional() });
const TextSchema = z.object({ text: z.string().min(1).max(4096) });
const ClickSchema = z.object({ messageId: z.number().int().positive(), data: z.string().min(1).max(64) });
const JoinSchema = z.object({ inviteLink: z.string().min(1) });
const ChatSchema = z.object({ id: z.number().int().negative(), type: z.enum(['group', 'supergroup', 'channel']), title: z.string().min(1).max(255).optional() });
const MemberSchema = z.object({ userId: z.number().int().positive(), status: z.enum(['member', 'administrator', 'creator']) });
const BotMembershipSchema = z.object({ status: z.enum(['administrator', 'member', 'left', 'kicked']), rights: z.record(z.string().regex(/^(is|can)_[a-z_]+$/), z.boolean()).optional() });

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Handles `/sandbox/…`; returns false for any other path. */
export async function handleSandboxRequest(simulator: TelegramSimulator, request: IncomingMessage, response: ServerResponse, pathname: string): Promise<boolean> {
  if (!pathname.startsWith('/sandbox/')) return false;
  try {
    const parts = pathname.split('/').filter(Boolean); // ['sandbox', 'users', '1001', 'messages']
    const id = Number.parseInt(parts[2] ?? '', 10);
    if (request.method === 'POST' && parts[1] === 'users' && parts.length === 2) {
      simulator.addUser(UserSchema.parse(await readJson(request)));
      send(response, 200, { ok: true });
    } else if (request.method === 'POST' && parts[1] === 'users' && parts[3] === 'messages') {
      const { text } = TextSchema.parse(await readJson(request));
      send(response, 200, { ok: true, webhookStatus: await simulator.sendText(id, text) });
    } else if (request.method === 'POST' && parts[1] === 'users' && parts[3] === 'clicks') {
      const { messageId, data } = ClickSchema.parse(await readJson(request));
      send(response, 200, { ok: true, webhookStatus: await simulator.clickButton(id, messageId, data) });
    } else if (request.method === 'POST' && parts[1] === 'users' && parts[3] === 'joins') {
      const { inviteLink } = JoinSchema.parse(await readJson(request));
      send(response, 200, { ok: true, ...(await simulator.joinWithInviteLink(id, inviteLink)) });
    } else if (request.method === 'POST' && parts[1] === 'chats' && parts.length === 2) {
      simulator.addChat(ChatSchema.parse(await readJson(request)));
      send(response, 200, { ok: true });
    } else if (request.method === 'POST' && parts[1] === 'chats' && parts[3] === 'members') {
      const { userId, status } = MemberSchema.parse(await readJson(request));
      simulator.addMember(id, userId, status);
      send(response, 200, { ok: true });
    } else if (request.method === 'POST' && parts[1] === 'chats' && parts[3] === 'bot') {
      const { status, rights } = BotMembershipSchema.parse(await readJson(request));
      simulator.setBotMembership(id, status, rights);
      send(response, 200, { ok: true });
    } else if (request.method === 'GET' && parts[1] === 'chats' && parts[3] === 'messages') {
      await simulator.flush();
      send(response, 200, { ok: true, messages: simulator.messagesTo(id) });
    } else {
      send(response, 404, { ok: false, description: 'Unknown sandbox route' });
    }
  } catch (error) {
    send(response, 400, { ok: false, description: error instanceof Error ? error.message.slice(0, 500) : 'Bad request' });
  }
  return true;
}
