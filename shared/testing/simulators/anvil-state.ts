import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Logger } from '../../logging/index.js';
import { isProcessAlive } from '../sandbox/data-dir-lock.js';
import { writeFileAtomically } from '../sandbox/state-file.js';

/**
 * A local chain that survives its process: anvil's state in a file, saved before the chain
 * acknowledges anything that changed it.
 *
 * anvil can dump its state on exit (`--state`, `--dump-state`) and every N seconds
 * (`--state-interval`), but a kill -9 gets no exit dump, and an interval dump can lag a mined
 * transaction. A gateway that was told "accepted" for a transfer moves the payout to
 * `transfer_broadcast`, where nothing re-sends it; if the restarted chain then lacks that
 * transaction, the payout never confirms and the hot wallet's next nonce leaves a gap.
 *
 * So callers talk to a front on the runtime's side, not to anvil itself. Reads pass straight through.
 * A call that may change the chain (a sent transaction, `anvil_*`, `evm_*`) is forwarded; the front
 * waits until any transaction it sent is mined, saves the whole state with `anvil_dumpState` to the
 * state file (temporary file + rename), and only then answers. The guarantee: every transaction
 * whose sending was acknowledged is in the state file. A kill -9 can lose only transactions whose
 * sender never got an answer; for the gateway those are still `transfer_signed`, and track-payouts
 * re-broadcasts their stored bytes.
 */
export interface DurableRpcFront {
  /** `http://127.0.0.1:<port>`: what everything else uses as the chain's RPC URL. */
  url: string;
  port: number;
  /** Saves the state now (waits for a save in progress, then makes a new one). */
  save(): Promise<void>;
  /** Stops accepting calls; does not save (call `save` first). */
  close(): Promise<void>;
}

export interface DurableRpcFrontOptions {
  /** anvil's own RPC URL. */
  upstreamUrl: string;
  /** Where the state goes: anvil's uncompressed JSON state, what `anvil --load-state` reads. */
  stateFile: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Longest wait for a sent transaction to be mined before saving anyway. Default 2 s (automine mines at once). */
  mineTimeoutMs?: number;
  logger?: Logger;
}

/** Calls that cannot change the chain: answered without a save. Everything else is saved after. */
const READ_ONLY_METHODS = new Set([
  'eth_chainId',
  'net_version',
  'net_listening',
  'net_peerCount',
  'web3_clientVersion',
  'web3_sha3',
  'eth_blockNumber',
  'eth_call',
  'eth_estimateGas',
  'eth_createAccessList',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_blobBaseFee',
  'eth_feeHistory',
  'eth_syncing',
  'eth_accounts',
  'eth_coinbase',
  'eth_mining',
  'eth_hashrate',
  'eth_protocolVersion',
  'eth_newFilter',
  'eth_newBlockFilter',
  'eth_newPendingTransactionFilter',
  'eth_uninstallFilter',
  'txpool_status',
  'txpool_content',
  'txpool_inspect',
  'anvil_nodeInfo',
  'anvil_metadata',
]);
const SENDING_METHODS = new Set(['eth_sendRawTransaction', 'eth_sendTransaction']);
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const isReadOnly = (method: string): boolean => READ_ONLY_METHODS.has(method) || method.startsWith('eth_get');

interface RpcCall {
  method?: unknown;
}
interface RpcAnswer {
  result?: unknown;
  error?: { message?: string };
}

const gunzipAsync = promisify(gunzip);

async function upstreamCall(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await response.json()) as RpcAnswer;
  if (answer.error) throw new Error(`anvil answered ${method} with an error: ${answer.error.message ?? 'unknown'}`);
  return answer.result;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function rpcFailure(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message } }));
}

export async function startDurableRpcFront(options: DurableRpcFrontOptions): Promise<DurableRpcFront> {
  const mineTimeoutMs = options.mineTimeoutMs ?? 2_000;

  const saveNow = async (): Promise<void> => {
    const dump = await upstreamCall(options.upstreamUrl, 'anvil_dumpState', []);
    if (typeof dump !== 'string' || !dump.startsWith('0x')) throw new Error('anvil_dumpState returned no state');
    // anvil_dumpState answers gzip as hex; --load-state reads the plain JSON.
    const json = await gunzipAsync(Buffer.from(dump.slice(2), 'hex'));
    writeFileAtomically(options.stateFile, json.toString('utf8'));
  };

  // Saves are serialised; callers arriving while one is waiting to start share it (it will include
  // their change), callers arriving while one runs get the next.
  let tail: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | undefined;
  const save = (): Promise<void> => {
    if (waiting) return waiting;
    const run = tail.then(() => {
      waiting = undefined;
      return saveNow();
    });
    waiting = run;
    tail = run.catch(() => undefined);
    return run;
  };

  const waitUntilMined = async (hashes: string[]): Promise<void> => {
    const deadline = Date.now() + mineTimeoutMs;
    for (const hash of hashes) {
      // A transaction that cannot be mined yet (a nonce gap) is saved without its block after the wait.
      while ((await upstreamCall(options.upstreamUrl, 'eth_getTransactionReceipt', [hash])) === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    let calls: RpcCall[] = [];
    try {
      const parsed = JSON.parse(body) as RpcCall | RpcCall[];
      calls = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      calls = [{ method: 'unparseable' }]; // forwarded for anvil to refuse; saved after, to be safe
    }
    const methods = calls.map((call) => (typeof call?.method === 'string' ? call.method : ''));
    let upstream: Response;
    try {
      upstream = await fetch(options.upstreamUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    } catch {
      return rpcFailure(response, 502, 'The local chain (anvil) is not answering');
    }
    const text = await upstream.text();
    if (!methods.every(isReadOnly)) {
      try {
        const answers = (() => {
          try {
            const parsed = JSON.parse(text) as RpcAnswer | RpcAnswer[];
            return Array.isArray(parsed) ? parsed : [parsed];
          } catch {
            return [];
          }
        })();
        const sent = methods.flatMap((method, index) => {
          const result = answers[index]?.result;
          return SENDING_METHODS.has(method) && typeof result === 'string' ? [result] : [];
        });
        await waitUntilMined(sent);
        await save();
      } catch (error) {
        // Not saved means not durable: the caller must not believe it happened. A sender retries,
        // and the gateway re-sends the same signed bytes, which anvil then reports as known.
        options.logger?.error('anvil.state_save_failed', { stateFile: options.stateFile, error });
        return rpcFailure(response, 503, 'The local chain could not save its state; try again');
      }
    }
    response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    response.end(text);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) rpcFailure(response, 400, 'Could not read the request');
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    save,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22); undefined off Linux. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Remembers which process is the anvil of this state file, for `stopLeftoverAnvil` after a kill -9. */
export function recordAnvilProcess(pidFile: string, pid: number): void {
  writeFileAtomically(pidFile, JSON.stringify({ pid, startTime: processStartTime(pid) ?? null }));
}

/** Removes the PID file if it still names `pid` (a newer runtime's anvil may have replaced it). */
export function forgetAnvilProcess(pidFile: string, pid: number): void {
  try {
    if ((JSON.parse(readFileSync(pidFile, 'utf8')) as { pid?: unknown }).pid === pid) rmSync(pidFile, { force: true });
  } catch {
    // missing or unreadable: nothing of ours to remove
  }
}

/**
 * Stops an anvil that a killed runtime left behind (kill -9 of the runtime alone leaves its child
 * running), named by the PID file next to the state file. The process is killed only if it still is
 * the one recorded: same PID and same start time, so a PID reused by anything else is left alone.
 * Its chain needs no saving: everything it acknowledged is already in the state file.
 */
export function stopLeftoverAnvil(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  let recorded: { pid?: unknown; startTime?: unknown } = {};
  try {
    recorded = JSON.parse(readFileSync(pidFile, 'utf8')) as typeof recorded;
  } catch {
    // unreadable: nothing to verify, nothing to kill
  }
  rmSync(pidFile, { force: true });
  const { pid, startTime } = recorded;
  if (typeof pid !== 'number' || typeof startTime !== 'string' || !isProcessAlive(pid)) return;
  if (processStartTime(pid) !== startTime) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // exited meanwhile
  }
}
