import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HDNodeWallet, type JsonRpcProvider, Mnemonic, Wallet, parseEther } from 'ethers';
import { createHotWallet, type HotWallet } from '../../chain/index.js';
import type { Logger } from '../../logging/index.js';
import { type DurableRpcFront, forgetAnvilProcess, recordAnvilProcess, startDurableRpcFront, stopLeftoverAnvil } from './anvil-state.js';
import { findFreePort } from '../free-port.js';

/**
 * A local Ethereum node for tests and the sandbox: anvil from the npm package `@foundry-rs/anvil`,
 * run offline on 127.0.0.1 with the default `test test … junk` mnemonic (chain id 31337, ten
 * accounts with 10 000 ETH each).
 */
export interface Anvil {
  /** `http://127.0.0.1:<port>`; with `stateFile`, the durable front's (see `anvil-state.ts`). */
  rpcUrl: string;
  chainId: 31337;
  /** True when the chain was loaded from `stateFile` (a restart), false for a fresh chain. */
  isResumed: boolean;
  /** The default mnemonic's first ten accounts (`m/44'/60'/0'/0/i`), checksummed addresses. */
  accounts: ReadonlyArray<{ address: string; privateKey: string }>;
  /** Kills the node (after a last save, with `stateFile`); safe to call twice. */
  stop(): Promise<void>;
}

export interface StartAnvilOptions {
  /** Port to listen on; a free port is picked when omitted or 0. */
  port?: number;
  /** Mine a block every N seconds instead of one per transaction (automine, the default). */
  blockTimeSeconds?: number;
  /** How long to wait for `eth_chainId` to answer. Default 20 s. */
  startTimeoutMs?: number;
  /**
   * Keep the chain in this file (anvil's JSON state): loaded at start when it exists, and saved
   * before any call that changed the chain is answered, so the chain survives a kill -9 of its
   * runtime (see `anvil-state.ts`). `port` is then the durable front's. Needs automine (no
   * `blockTimeSeconds`). Default: a chain in memory only.
   */
  stateFile?: string;
  /** Receives `anvil.*` events (failed saves). */
  logger?: Logger;
}

export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
export const ANVIL_CHAIN_ID = 31337;

const require = createRequire(import.meta.url);

/** The platform binary itself, so `stop()` kills anvil and not only the npm `bin.mjs` wrapper. */
function anvilCommand(): { command: string; prefixArgs: string[] } {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    const packageDir = dirname(require.resolve(`${platformPackage}/package.json`));
    const binary = join(packageDir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    if (existsSync(binary)) return { command: binary, prefixArgs: [] };
  } catch {
    // fall through to the wrapper
  }
  const wrapper = join(dirname(require.resolve('@foundry-rs/anvil/package.json')), 'bin.mjs');
  return { command: process.execPath, prefixArgs: [wrapper] };
}

async function answersChainId(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await response.json()) as { result?: string };
    return body.result !== undefined && Number.parseInt(body.result, 16) === ANVIL_CHAIN_ID;
  } catch {
    return false;
  }
}

const running = new Set<ChildProcess>();
let isExitHookInstalled = false;

function installExitHook(): void {
  if (isExitHookInstalled) return;
  isExitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

let cachedAccounts: ReadonlyArray<{ address: string; privateKey: string }> | undefined;

function defaultAccounts(): ReadonlyArray<{ address: string; privateKey: string }> {
  if (!cachedAccounts) {
    const mnemonic = Mnemonic.fromPhrase(ANVIL_MNEMONIC);
    cachedAccounts = Array.from({ length: 10 }, (_, index) => {
      const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${index}`);
      return { address: wallet.address, privateKey: wallet.privateKey };
    });
  }
  return cachedAccounts;
}

/**
 * Spawns anvil on 127.0.0.1 and resolves once `eth_chainId` answers 31337.
 *
 * @throws Error when anvil exits early or does not answer within `startTimeoutMs` (stderr attached).
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const { stateFile } = options;
  if (stateFile !== undefined && options.blockTimeSeconds !== undefined) {
    throw new Error('startAnvil: a stateFile needs automine; with blockTimeSeconds a sent transaction would be acknowledged before it is mined and saved');
  }
  const pidFile = stateFile === undefined ? undefined : `${stateFile}.pid`;
  if (pidFile) stopLeftoverAnvil(pidFile);
  const isResumed = stateFile !== undefined && existsSync(stateFile);
  // With a state file, anvil itself listens on a private port behind the durable front.
  const port = stateFile === undefined && options.port ? options.port : await findFreePort();
  const nodeUrl = `http://127.0.0.1:${port}`;
  const { command, prefixArgs } = anvilCommand();
  const args = [
    ...prefixArgs,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--chain-id', String(ANVIL_CHAIN_ID),
    '--mnemonic', ANVIL_MNEMONIC,
    '--accounts', '10',
    '--silent',
  ];
  if (options.blockTimeSeconds !== undefined) args.push('--block-time', String(options.blockTimeSeconds));
  if (isResumed) args.push('--load-state', stateFile);

  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  installExitHook();
  if (pidFile && child.pid !== undefined) recordAnvilProcess(pidFile, child.pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      running.delete(child);
      resolve();
    });
  });

  const killNode = async (): Promise<void> => {
    if (pidFile && child.pid !== undefined) forgetAnvilProcess(pidFile, child.pid);
    if (exitCode !== undefined) return;
    // With a state file the last save has been made: SIGKILL, since anvil's own exit handling adds nothing.
    child.kill(stateFile === undefined ? 'SIGTERM' : 'SIGKILL');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  while (!(await answersChainId(nodeUrl))) {
    if (exitCode !== undefined) {
      const hint = isResumed ? ` (loading the chain from ${stateFile} failed; \`npm start -- --reset\` starts over)` : '';
      throw new Error(`anvil exited with code ${exitCode} before answering${hint}: ${stderr.trim()}`);
    }
    if (Date.now() > deadline) {
      await killNode();
      throw new Error(`anvil did not answer eth_chainId on ${nodeUrl} in time: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let front: DurableRpcFront | undefined;
  if (stateFile !== undefined) {
    try {
      front = await startDurableRpcFront({ upstreamUrl: nodeUrl, stateFile, port: options.port ?? 0, logger: options.logger });
      // A fresh chain is saved at once, so the file exists from the first start on.
      if (!isResumed) await front.save();
    } catch (error) {
      await front?.close();
      await killNode();
      throw error;
    }
  }

  let isStopped = false;
  const stop = async (): Promise<void> => {
    if (isStopped) return;
    isStopped = true;
    if (front) {
      // Every change was saved when it was acknowledged; this last save only catches calls that were
      // still in flight. Ctrl-C reaches anvil too, so it may be gone already: then there is nothing to add.
      await front.save().catch(() => undefined);
      await front.close();
    }
    await killNode();
  };

  return { rpcUrl: front?.url ?? nodeUrl, chainId: ANVIL_CHAIN_ID, isResumed, accounts: defaultAccounts(), stop };
}

/**
 * A new hot wallet holding `ether` on anvil, of one test alone (so one test's unsent nonce cannot
 * stall another's), that counts what it signs. `key` is there to check it never reaches a log.
 */
export async function fundedHotWallet(provider: JsonRpcProvider, ether = '100'): Promise<{ key: string; wallet: HotWallet; signatures: () => number }> {
  const account = Wallet.createRandom();
  await provider.send('anvil_setBalance', [account.address, `0x${parseEther(ether).toString(16)}`]);
  const wallet = createHotWallet(account.privateKey);
  let count = 0;
  const counting: HotWallet = {
    address: wallet.address,
    signTransaction: (request) => {
      count += 1;
      return wallet.signTransaction(request);
    },
  };
  return { key: account.privateKey, wallet: counting, signatures: () => count };
}
