import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Interface } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTransfer, createChain, createJsonRpc, toChainError } from './index.js';

/**
 * The functions' JSON-RPC transport against a node that misbehaves in each way a real one does: its
 * failures must classify exactly as the ethers provider's did (`toChainError`), since retries,
 * alerts and "we already sent this" decisions hang on them.
 */
describe('createJsonRpc', () => {
  let server: Server;
  let url = '';
  /** What the fake node does for a method: a JSON-RPC error message, an HTTP status with a body, or silence. */
  const behaviour = new Map<string, { error?: string; status?: number; body?: string; hang?: boolean; result?: unknown }>();

  beforeAll(async () => {
    server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      request.on('end', () => {
        const call = JSON.parse(text) as { id: number; method: string };
        const planned = behaviour.get(call.method) ?? {};
        if (planned.hang) return; // never answers
        if (planned.status) {
          response.writeHead(planned.status, { 'content-type': 'text/html' }).end(planned.body ?? '<html>bad gateway</html>');
          return;
        }
        const answer = planned.error ? { jsonrpc: '2.0', id: call.id, error: { code: -32000, message: planned.error } } : { jsonrpc: '2.0', id: call.id, result: planned.result ?? '0x1' };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

  it('returns the result of a call', async () => {
    behaviour.set('eth_chainId', { result: '0x7a69' });
    expect(await createChain(createJsonRpc(url)).getChainId()).toBe(31337n);
  });

  it.each([
    ['a node that is not there', 'NETWORK_ERROR', 'chain_unavailable', true],
    ['a node that never answers', 'TIMEOUT', 'chain_unavailable', true],
    ['a 502 page from a proxy', 'SERVER_ERROR', 'chain_unavailable', true],
    ['execution reverted on eth_estimateGas', 'CALL_EXCEPTION', 'transfer_would_revert', false],
    ['insufficient funds', 'INSUFFICIENT_FUNDS', 'hot_wallet_insufficient_funds', true],
    ['an unexpected refusal', 'UNKNOWN_ERROR', 'chain_request_failed', true],
  ])('classifies %s as %s → %s', async (name, rawCode, code, isRetryable) => {
    behaviour.clear();
    let target = url;
    if (name === 'a node that is not there') target = 'http://127.0.0.1:9';
    if (name === 'a node that never answers') behaviour.set('eth_estimateGas', { hang: true });
    if (name === 'a 502 page from a proxy') behaviour.set('eth_estimateGas', { status: 502 });
    if (name === 'execution reverted on eth_estimateGas') behaviour.set('eth_estimateGas', { error: 'execution reverted: blocklisted' });
    if (name === 'insufficient funds') behaviour.set('eth_estimateGas', { error: 'insufficient funds for gas * price + value' });
    if (name === 'an unexpected refusal') behaviour.set('eth_estimateGas', { error: 'something odd' });
    const rpc = createJsonRpc(target, { timeoutMs: 300 });
    const raw = await failureOf(rpc.send('eth_estimateGas', [{}]));
    expect(raw).toMatchObject({ code: rawCode });
    expect(String((raw as Error).message)).not.toContain(target);
    expect(toChainError(raw, 'test')).toMatchObject({ code, isRetryable });
    const estimate = createChain(rpc).estimateGas({ from: '0x' + '1'.repeat(40), to: '0x' + '2'.repeat(40), data: '0x', value: 1n });
    expect(await failureOf(estimate)).toMatchObject({ code, isRetryable });
  });

  it.each([
    ['already known', 'already_known'],
    ['nonce too low: next nonce 5, tx nonce 4', 'nonce_too_low'],
    ['replacement transaction underpriced', 'replacement_underpriced'],
    ['max fee per gas less than block base fee: address 0x…, maxFeePerGas: 1 baseFee: 2', 'fee_too_low'],
  ])('reads the node’s answer “%s” to a raw transaction as %s', async (message, outcome) => {
    behaviour.clear();
    behaviour.set('eth_sendRawTransaction', { error: message });
    expect(await createChain(createJsonRpc(url)).sendRawTransaction('0x02ff')).toBe(outcome);
  });
});

describe('ERC-20 transfer calldata', () => {
  it('is what ethers encodes for transfer(address,uint256)', () => {
    const erc20 = new Interface(['function transfer(address to, uint256 amount) returns (bool)']);
    const recipient = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
    for (const amountUnits of [1n, 12_500_001n, (1n << 256n) - 1n]) {
      const call = buildTransfer({ asset: 'USDT_ERC20', to: recipient, amountUnits, tokenAddress: '0xdAC17F958D2ee523a2206206994597C13D831ec7' });
      expect(call.data).toBe(erc20.encodeFunctionData('transfer', [recipient, amountUnits]));
    }
  });
});
