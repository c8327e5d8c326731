/**
 * What the chain adapters need from an Ethereum node: one JSON-RPC call. `createJsonRpc` is the
 * production transport (fetch, a timeout, no cache, no retries of its own); an ethers
 * `JsonRpcProvider` has the same `send` and serves tests that also want its helpers.
 */
export interface JsonRpc {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/**
 * A failed call, shaped for `toChainError`: `code` uses ethers' names for the same conditions
 * (`NETWORK_ERROR`, `TIMEOUT`, `SERVER_ERROR`, `CALL_EXCEPTION`, `INSUFFICIENT_FUNDS`,
 * `NONCE_EXPIRED`, `REPLACEMENT_UNDERPRICED`, `UNKNOWN_ERROR`) so both transports classify alike;
 * `error` is the node's JSON-RPC error object when there was one. Never holds the URL.
 */
export class JsonRpcFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly error?: { code?: unknown; message?: unknown; data?: unknown },
  ) {
    super(message);
    this.name = 'JsonRpcFailure';
  }
}

/** How ethers names a node's refusal, by its message (ethers' `getRpcError` does the same). */
function refusalCode(method: string, message: string): string {
  if (/insufficient funds/i.test(message)) return 'INSUFFICIENT_FUNDS';
  if (/nonce (too low|has already been used|is too low)/i.test(message)) return 'NONCE_EXPIRED';
  if (/replacement (transaction )?underpriced|replacement fee too low/i.test(message)) return 'REPLACEMENT_UNDERPRICED';
  if ((method === 'eth_call' || method === 'eth_estimateGas') && /revert/i.test(message)) return 'CALL_EXCEPTION';
  return 'UNKNOWN_ERROR';
}

/**
 * JSON-RPC 2.0 over HTTP POST to `url`, each call bounded by `timeoutMs` (default 15 s). An
 * unreachable node is `NETWORK_ERROR`, a slow one `TIMEOUT`, an HTTP error or a body that is not a
 * JSON-RPC answer `SERVER_ERROR`; a node's error answer keeps its message and gets ethers' code.
 * Nothing is cached: a nonce read twice is read twice (H-tech-notes §5).
 */
export function createJsonRpc(url: string, options: { timeoutMs?: number } = {}): JsonRpc {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let nextId = 1;
  return {
    async send(method, params) {
      const id = nextId++;
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const isTimeout = (error as { name?: unknown } | null)?.name === 'TimeoutError';
        throw new JsonRpcFailure(isTimeout ? 'TIMEOUT' : 'NETWORK_ERROR', isTimeout ? `${method}: timeout after ${timeoutMs} ms` : `${method}: network error (${describeCause(error)})`);
      }
      const text = await response.text().catch(() => '');
      let answer: { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } } | undefined;
      try {
        answer = JSON.parse(text) as typeof answer;
      } catch {
        answer = undefined;
      }
      if (answer?.error && typeof answer.error === 'object') {
        const message = typeof answer.error.message === 'string' ? answer.error.message : 'the node refused the call';
        throw new JsonRpcFailure(refusalCode(method, message), `${method}: ${message}`, answer.error);
      }
      if (!response.ok || answer === undefined || !('result' in answer)) {
        throw new JsonRpcFailure('SERVER_ERROR', `${method}: server response ${response.status}`);
      }
      return answer.result;
    },
  };
}

/** The system error code of a failed fetch (ECONNREFUSED…), never the URL. */
function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'fetch failed';
}
