import { FetchRequest, JsonRpcProvider, Network } from 'ethers';

/**
 * An ethers provider for an EVM JSON-RPC URL, for tests that also want ethers' helpers (balances,
 * receipts, anvil's methods). It has `send`, so the chain adapters take it like `createJsonRpc`,
 * which is what the functions use (no ethers to load at cold start).
 *
 * `cacheTimeout: -1` turns off ethers' short request cache: with it, a second `eth_getTransactionCount`
 * within 250 ms returns the stale answer, which is how the wrong nonce gets used (H-tech-notes §5,
 * ethers-io/ethers.js#4549). With `chainId` the network is static: no detection loop that retries
 * forever against a dead URL, and a failing node fails the request instead.
 */
export function createChainProvider(rpcUrl: string, options: { chainId?: bigint | number; timeoutMs?: number } = {}): JsonRpcProvider {
  const request = new FetchRequest(rpcUrl);
  request.timeout = options.timeoutMs ?? 15_000;
  const network = options.chainId === undefined ? undefined : Network.from(BigInt(options.chainId));
  return new JsonRpcProvider(request, network, {
    cacheTimeout: -1,
    pollingInterval: 100,
    staticNetwork: network ?? false,
  });
}
