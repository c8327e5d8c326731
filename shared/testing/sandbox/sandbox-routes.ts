import { readFile } from 'node:fs/promises';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Publisher } from '../../bus/index.js';
import type { Topology } from '../../bus/topology.js';
import { createJsonRpc } from '../../chain/index.js';
import type { Db } from '../../db/index.js';
import { createHotWalletChain, readHotWalletPosition } from '../../hot-wallet/index.js';
import { formatUnits } from '../../money/index.js';
import type { Simulators } from './local-runtime.js';
import { listPaymentViews, listPayoutViews, retrievePaymentView } from './sandbox-payment-views.js';
import { hotWalletView, listChainTransferViews, listChannelViews, listOwnerNotificationViews } from './sandbox-views.js';
import { handleSandboxRequest } from '../simulators/telegram-simulator-sandbox.js';

export interface SandboxRoutesOptions {
  db: Db;
  publisher: Publisher;
  topology: Topology;
  simulators: Simulators;
  /** The runtime's own base URL (`http://127.0.0.1:8080`). */
  runtimeUrl: string;
  /** The local chain, for wallet balances and the hot wallet against the ledger; absent when a real RPC is configured and not simulated. */
  chain?: { rpcUrl: string; chainId: string; usdtContract?: string; hotWallet?: string };
}

/** What `GET /sandbox/api/runtime` answers and `npm start` writes to `<data-dir>/runtime.json`. */
export interface SandboxRuntimeInfo {
  url: string;
  sandboxUrl: string;
  sandboxApiUrl: string;
  nowpayments: { url: string; apiUrl: string } | null;
  telegram: { apiRoot: string; botUsername: string } | null;
  /** The local chain; `usdtContract` is the USDT-like token, deployed once per data folder. */
  chain: { rpcUrl: string; chainId: string; usdtContract: string | null } | null;
  scheduledJobs: string[];
}

const PAGE_FILES: Record<string, string> = {
  '': 'index.html',
  'app.js': 'app.js',
  'style.css': 'style.css',
};
const CONTENT_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
// The invoice page is the NowPayments simulator's, on another port: it may be framed, nothing else loads.
const PAGE_POLICY = "default-src 'self'; frame-src http://127.0.0.1:* http://localhost:* https:; img-src 'self' data:; base-uri 'none'; form-action 'self'";
const MAX_BODY_BYTES = 64 * 1024;

class SandboxRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(json);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SandboxRefusal(413, 'payload_too_large', 'The request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function rpc(rpcUrl: string, method: string, params: unknown[]): Promise<string> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await response.json()) as { result?: string; error?: { message?: string } };
  if (typeof body.result !== 'string') throw new SandboxRefusal(502, 'chain_unavailable', `The local chain did not answer ${method}`);
  return body.result;
}

/** ETH and (when deployed) USDT held by an address on the local chain, as decimal text. */
async function readWalletBalance(chain: NonNullable<SandboxRoutesOptions['chain']>, address: string) {
  const eth = BigInt(await rpc(chain.rpcUrl, 'eth_getBalance', [address, 'latest']));
  let usdt: bigint | null = null;
  if (chain.usdtContract) {
    // balanceOf(address): selector 0x70a08231 and the address left-padded to 32 bytes.
    const data = `0x70a08231${address.slice(2).toLowerCase().padStart(64, '0')}`;
    usdt = BigInt(await rpc(chain.rpcUrl, 'eth_call', [{ to: chain.usdtContract, data }, 'latest']));
  }
  return { address, eth: formatUnits(eth, 18), usdt: usdt === null ? null : formatUnits(usdt, 6) };
}

/**
 * The runtime's `/sandbox` route, for a person or the sandbox CLI playing a subscriber against
 * `npm start` (never deployed):
 *
 *   GET  /sandbox                                   the sandbox page (sandbox-page/)
 *   GET  /sandbox/api/runtime                       URLs of the runtime and its simulators
 *   GET  /sandbox/api/channels                      channels, tiers, deep-link payloads, owner balances
 *   GET  /sandbox/api/payments/<pay_… | NowPayments id>  a payment and all it caused
 *   GET  /sandbox/api/overview?user=1001            the page's system view for one subscriber
 *   GET  /sandbox/api/wallets/<address>             balances on the local chain
 *   GET  /sandbox/api/hot-wallet                    the hot wallet against the ledger, per asset (what reconcile-hot-wallet compares)
 *   POST /sandbox/api/jobs/<scheduler job>/run      publishes the job's message now (`gcloud scheduler jobs run`)
 *   …    /sandbox/api/telegram/…                    the Telegram simulator's control API (users, chats)
 *   POST /sandbox/api/nowpayments/invoices/<id>/pay|expire   the NowPayments simulator's control API
 */
export function createSandboxRoutes(options: SandboxRoutesOptions): RequestListener {
  const { simulators } = options;
  const info: SandboxRuntimeInfo = {
    url: options.runtimeUrl,
    sandboxUrl: `${options.runtimeUrl}/sandbox`,
    sandboxApiUrl: `${options.runtimeUrl}/sandbox/api`,
    nowpayments: simulators.nowpayments ? { url: simulators.nowpayments.url, apiUrl: simulators.nowpayments.apiUrl } : null,
    telegram: simulators.telegram ? { apiRoot: simulators.telegram.apiRoot, botUsername: simulators.telegram.botInfo.username } : null,
    chain: options.chain ? { rpcUrl: options.chain.rpcUrl, chainId: options.chain.chainId, usdtContract: options.chain.usdtContract ?? null } : null,
    scheduledJobs: options.topology.schedulerJobs.map((job) => job.name),
  };

  const hotWalletChain = options.chain?.hotWallet ? createHotWalletChain(createJsonRpc(options.chain.rpcUrl)) : undefined;
  const hotWallet = async () => {
    const chain = options.chain;
    if (!hotWalletChain || !chain?.hotWallet) throw new SandboxRefusal(404, 'not_simulated', 'No local chain is running');
    const target = { chainId: BigInt(chain.chainId), address: chain.hotWallet, tokenContracts: chain.usdtContract ? { USDT_ERC20: chain.usdtContract } : {} };
    return hotWalletView(await readHotWalletPosition({ db: options.db, chain: hotWalletChain }, target));
  };

  const ownerMessages = (ownerIds: string[]) => {
    const telegram = simulators.telegram;
    if (!telegram) return [];
    return [...new Set(ownerIds)].flatMap((ownerId) => {
      try {
        return telegram.messagesTo(Number(ownerId)).map((message) => ({ chatId: ownerId, messageId: message.messageId, text: message.text, parseMode: message.parseMode ?? null }));
      } catch {
        return []; // an owner the simulator does not know
      }
    });
  };

  const overview = async (userId: number) => {
    const channels = await listChannelViews(options.db);
    const chain = options.chain;
    const wallets = chain
      ? await Promise.all(channels.map((channel) => (/^0x[0-9a-fA-F]{40}$/.test(channel.payoutWallet) ? readWalletBalance(chain, channel.payoutWallet).catch(() => null) : null)))
      : [];
    return {
      userId: String(userId),
      channels: channels.map((channel, index) => ({ ...channel, wallet: wallets[index] ?? null })),
      payments: await listPaymentViews(options.db, userId),
      payouts: await listPayoutViews(options.db),
      chainTransfers: await listChainTransferViews(options.db),
      ownerNotifications: await listOwnerNotificationViews(options.db),
      ownerMessages: ownerMessages(channels.map((channel) => channel.ownerTelegramId).filter((id): id is string => id !== null)).reverse().slice(0, 20),
      hotWallet: hotWalletChain ? await hotWallet().catch(() => null) : null,
    };
  };

  const forwardToNowPayments = async (request: IncomingMessage, response: ServerResponse, rest: string) => {
    const nowpayments = simulators.nowpayments;
    if (!nowpayments) throw new SandboxRefusal(404, 'not_simulated', 'NowPayments is a configured provider here, not the simulator');
    const body = request.method === 'POST' ? await readBody(request) : undefined;
    const answer = await fetch(`${nowpayments.url}/sandbox/${rest}`, {
      method: request.method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined && { body }),
    });
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    response.end(Buffer.from(await answer.arrayBuffer()));
  };

  const route = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const method = request.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean); // ['sandbox', 'api', …]
    if (parts[1] !== 'api') {
      const file = PAGE_FILES[parts.slice(1).join('/')];
      if (method !== 'GET' || !file) throw new SandboxRefusal(404, 'not_found', 'No such sandbox page');
      const body = await readFile(new URL(`./sandbox-page/${file}`, import.meta.url));
      response.writeHead(200, {
        'content-type': CONTENT_TYPES[file.split('.').at(-1) ?? ''] ?? 'application/octet-stream',
        'content-security-policy': PAGE_POLICY,
        'cache-control': 'no-store',
      });
      response.end(body);
      return;
    }
    const [resource, id, action] = parts.slice(2);
    if (resource === 'telegram') {
      if (!simulators.telegram) throw new SandboxRefusal(404, 'not_simulated', 'Telegram is a configured bot here, not the simulator');
      await handleSandboxRequest(simulators.telegram, request, response, `/sandbox/${parts.slice(3).join('/')}`);
      return;
    }
    if (resource === 'nowpayments') return forwardToNowPayments(request, response, parts.slice(3).join('/'));
    if (method === 'GET' && resource === 'runtime') return sendJson(response, 200, info);
    if (method === 'GET' && resource === 'channels' && !id) return sendJson(response, 200, { channels: await listChannelViews(options.db) });
    if (method === 'GET' && resource === 'payments' && id) {
      const payment = await retrievePaymentView(options.db, id);
      if (!payment) throw new SandboxRefusal(404, 'unknown_payment', `No payment has the id ${id.slice(0, 40)} (yet)`);
      return sendJson(response, 200, { payment });
    }
    if (method === 'GET' && resource === 'overview') {
      const user = Number.parseInt(url.searchParams.get('user') ?? '1001', 10);
      if (!Number.isSafeInteger(user) || user <= 0) throw new SandboxRefusal(400, 'invalid_user', 'user must be a positive Telegram user id');
      return sendJson(response, 200, await overview(user));
    }
    if (method === 'GET' && resource === 'wallets' && id) {
      if (!options.chain) throw new SandboxRefusal(404, 'not_simulated', 'No local chain is running');
      if (!/^0x[0-9a-fA-F]{40}$/.test(id)) throw new SandboxRefusal(400, 'invalid_address', 'Give an 0x-prefixed 20-byte address');
      return sendJson(response, 200, await readWalletBalance(options.chain, id));
    }
    if (method === 'GET' && resource === 'hot-wallet' && !id) return sendJson(response, 200, { hotWallet: await hotWallet() });
    if (method === 'POST' && resource === 'jobs' && id && action === 'run') {
      const job = options.topology.schedulerJobs.find((candidate) => candidate.name === id);
      if (!job) throw new SandboxRefusal(404, 'unknown_job', `No scheduler job is named ${id.slice(0, 60)}; see /sandbox/api/runtime`);
      const pubsubMessageId = await options.publisher.publish(job.topic, job.body);
      return sendJson(response, 200, { job: job.name, topic: job.topic, pubsubMessageId });
    }
    throw new SandboxRefusal(404, 'not_found', `No sandbox route ${method} ${url.pathname.slice(0, 100)}`);
  };

  return (request, response) => {
    route(request, response).catch((error: unknown) => {
      const refusal = error instanceof SandboxRefusal ? error : new SandboxRefusal(500, 'sandbox_failed', 'The sandbox could not answer; see the runtime log');
      if (response.headersSent) return void response.end();
      sendJson(response, refusal.status, { error: { code: refusal.code, message: refusal.message } });
    });
  };
}
