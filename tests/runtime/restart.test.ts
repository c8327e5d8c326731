import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxClient, type SandboxClient } from '../../shared/testing/sandbox/sandbox-client.js';
import { type RuntimeProcess as Run, spawnRuntime, stopRuntime as stop, waitUntilRuntimeUp } from '../../shared/testing/sandbox/runtime-process.js';
import { playPurchase, requestInvoice } from '../../shared/testing/sandbox/sandbox-purchase.js';

/**
 * `npm start` again on the same data folder, without `--reset`: after Ctrl-C and after kill -9, the
 * chain, the token, the payments and the simulators' invoices are still there, and work the last run
 * left half-done finishes. One data folder, runs one after another; each `it` continues the story.
 */
const STARTUP_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 120_000;

async function rpc(rpcUrl: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return ((await response.json()) as { result?: unknown }).result;
}

describe('npm start after a restart', () => {
  let dataDir = '';
  let run: Run | undefined;
  let client: SandboxClient;
  let runtimeUrl = '';
  let tokenAddress = '';
  let firstPayment = { id: '', txHash: '' };
  let openInvoiceId = '';
  const lines: string[] = [];
  const report = (line: string) => lines.push(line);
  const lockFile = () => path.join(dataDir, 'runtime.lock');

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-restart-'));
  });
  afterAll(async () => {
    if (run) await stop(run, 'SIGKILL').catch(() => undefined);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('first run: an instant payout completes and a second checkout is left open', async () => {
    run = spawnRuntime(dataDir, { args: ['--reset'] });
    runtimeUrl = await waitUntilRuntimeUp(run, STARTUP_TIMEOUT_MS);
    client = createSandboxClient(runtimeUrl);
    const paid = await playPurchase(client, { channel: 'premium', tier: 1, stepTimeoutMs: STEP_TIMEOUT_MS }, report);
    expect(paid.outcome, lines.join('\n')).toBe('payout_completed');
    firstPayment = { id: paid.payment.id, txHash: paid.payment.payout?.transfer?.txHash ?? '' };
    tokenAddress = (await client.runtime()).chain?.usdtContract ?? '';
    expect(tokenAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    openInvoiceId = (await requestInvoice(client, { channel: 'premium', tier: 2, stepTimeoutMs: STEP_TIMEOUT_MS }, report)).invoiceId;
    expect(openInvoiceId).not.toBe('');
  }, STARTUP_TIMEOUT_MS + 2 * STEP_TIMEOUT_MS);

  it('a second npm start on the same folder refuses at once, naming the PID that holds it, and the first keeps running', async () => {
    const holder = (JSON.parse(readFileSync(lockFile(), 'utf8')) as { pid: number }).pid;
    const startedAt = Date.now();
    const second = spawnRuntime(dataDir);
    const { code } = await second.exited;
    expect(code, second.output()).not.toBe(0);
    expect(second.output()).toContain(`PID ${holder}`);
    expect(second.output()).toContain(dataDir);
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect((await fetch(`${runtimeUrl}/healthz`)).status).toBe(200);
  }, 60_000);

  it('after Ctrl-C: same chain, token and records; the open checkout is reused and paid; its payout completes', async () => {
    await stop(run as Run, 'SIGINT');
    expect(existsSync(lockFile())).toBe(false);
    run = spawnRuntime(dataDir);
    expect(await waitUntilRuntimeUp(run, STARTUP_TIMEOUT_MS)).toBe(runtimeUrl); // the same URLs, so links and callbacks made before still work
    const runtime = await client.runtime();
    expect(runtime.chain?.usdtContract).toBe(tokenAddress);
    expect(await rpc(runtime.chain?.rpcUrl ?? '', 'eth_getCode', [tokenAddress, 'latest'])).not.toBe('0x');
    const before = await client.payment(firstPayment.id);
    expect(before?.payout).toMatchObject({ state: 'completed', transfer: { txHash: firstPayment.txHash } });
    expect(await rpc(runtime.chain?.rpcUrl ?? '', 'eth_getTransactionReceipt', [firstPayment.txHash])).toMatchObject({ status: '0x1' });

    const paid = await playPurchase(client, { channel: 'premium', tier: 2, stepTimeoutMs: STEP_TIMEOUT_MS }, report);
    expect(paid.invoiceId).toBe(openInvoiceId);
    expect(paid.outcome, lines.join('\n')).toBe('payout_completed');
  }, STARTUP_TIMEOUT_MS + STEP_TIMEOUT_MS);

  it('after kill -9 with a payout on chain but not yet tracked: the stale lock is taken over and both that payout and the next complete', async () => {
    const { invoiceId } = await requestInvoice(client, { channel: 'premium', tier: 1, stepTimeoutMs: STEP_TIMEOUT_MS }, report);
    const { payment } = await client.pay(invoiceId, { fraction: '1' });
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    let inFlight = await client.payment(payment.paymentId);
    while (!inFlight?.payout?.transfer || inFlight.payout.state === 'transfer_signed') {
      if (Date.now() > deadline) throw new Error(`the payout was not broadcast: ${JSON.stringify(inFlight?.payout)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      inFlight = await client.payment(payment.paymentId);
    }
    const txHash = inFlight.payout.transfer.txHash;
    await stop(run as Run, 'SIGKILL');
    expect(existsSync(lockFile())).toBe(true); // nobody removed it: the next start finds it stale

    run = spawnRuntime(dataDir);
    expect(await waitUntilRuntimeUp(run, STARTUP_TIMEOUT_MS)).toBe(runtimeUrl);
    expect((await client.runtime()).chain?.usdtContract).toBe(tokenAddress);
    const next = await playPurchase(client, { channel: 'premium', tier: 1, stepTimeoutMs: STEP_TIMEOUT_MS }, report);
    expect(next.outcome, lines.join('\n')).toBe('payout_completed');
    // playPurchase ran track-payouts until its own payout completed; the one in flight at the kill went first.
    expect((await client.payment(payment.paymentId))?.payout).toMatchObject({ state: 'completed', transfer: { txHash } });
  }, STARTUP_TIMEOUT_MS + 2 * STEP_TIMEOUT_MS);
});
