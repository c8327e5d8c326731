import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, Wallet, parseEther } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from './anvil.js';
import { USDT_LIKE_TOKEN_ABI, deployUsdtLikeToken } from './usdt-token.js';

describe('startAnvil', () => {
  let anvil: Anvil;
  let provider: JsonRpcProvider;

  beforeAll(async () => {
    anvil = await startAnvil();
    provider = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
  });
  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('answers chain id 31337 on 127.0.0.1', async () => {
    expect(anvil.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(anvil.chainId).toBe(31337);
    expect((await provider.getNetwork()).chainId).toBe(31337n);
  });

  it('lists the default mnemonic’s first ten funded accounts with their keys', async () => {
    expect(anvil.accounts).toHaveLength(10);
    expect(anvil.accounts[0]?.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    for (const account of anvil.accounts) {
      expect(new Wallet(account.privateKey).address).toBe(account.address);
    }
    expect(await provider.getBalance(anvil.accounts[9]!.address)).toBe(parseEther('10000'));
  });

  it('deploys a 6-decimal USDT-like token that only the deployer can mint', async () => {
    const deployer = new Wallet(anvil.accounts[0]!.privateKey, provider);
    const other = new Wallet(anvil.accounts[1]!.privateKey, provider);
    const { address } = await deployUsdtLikeToken(anvil.rpcUrl, deployer.privateKey);
    const token = new Contract(address, USDT_LIKE_TOKEN_ABI, deployer);
    expect(await token.getFunction('decimals')()).toBe(6n);

    await (await token.getFunction('mint')(other.address, 12_500_000n)).wait();
    expect(await token.getFunction('balanceOf')(other.address)).toBe(12_500_000n);

    const asOther = new Contract(address, USDT_LIKE_TOKEN_ABI, other);
    await expect(asOther.getFunction('mint')(other.address, 1n)).rejects.toThrow();
  });

  it('stops the node so the port no longer answers', async () => {
    const second = await startAnvil({ blockTimeSeconds: 1 });
    await second.stop();
    await second.stop();
    const probe = await fetch(second.rpcUrl, { method: 'POST', body: '{}' }).then(
      () => 'answered',
      () => 'refused',
    );
    expect(probe).toBe('refused');
  });
});

describe('startAnvil with a state file', () => {
  let folder = '';
  const started: Anvil[] = [];
  const stateFile = () => path.join(folder, 'anvil-state.json');
  const anvilPid = () => (JSON.parse(readFileSync(`${stateFile()}.pid`, 'utf8')) as { pid: number }).pid;
  const start = async () => {
    const anvil = await startAnvil({ stateFile: stateFile() });
    started.push(anvil);
    return anvil;
  };

  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'pgp-anvil-state-'));
  });
  afterAll(async () => {
    for (const anvil of started) await anvil.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('keeps an acknowledged transaction when its anvil is killed with SIGKILL', async () => {
    const first = await start();
    expect(first.isResumed).toBe(false);
    const provider = new JsonRpcProvider(first.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
    const hotWallet = new Wallet(first.accounts[0]!.privateKey, provider);
    const sent = await hotWallet.sendTransaction({ to: first.accounts[1]!.address, value: parseEther('1') });
    provider.destroy();
    // No exit dump, no last save: only what was saved when the transaction was acknowledged.
    process.kill(anvilPid(), 'SIGKILL');
    await first.stop();

    const second = await start();
    expect(second.isResumed).toBe(true);
    const after = new JsonRpcProvider(second.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
    expect((await after.getTransactionReceipt(sent.hash))?.status).toBe(1);
    expect(await after.getTransactionCount(first.accounts[0]!.address, 'latest')).toBe(1);
    expect(await after.getBalance(first.accounts[1]!.address)).toBe(parseEther('10001'));
    // The next transaction takes the next nonce: no gap, no reuse.
    const next = await new Wallet(second.accounts[0]!.privateKey, after).sendTransaction({ to: second.accounts[2]!.address, value: 1n });
    expect((await next.wait())?.status).toBe(1);
    expect(next.nonce).toBe(1);
    after.destroy();
    await second.stop();
  });

  it('stops the anvil a killed runtime left running before starting its own', async () => {
    const leftover = await start();
    const leftoverPid = anvilPid();
    const next = await start();
    expect(() => process.kill(leftoverPid, 0)).toThrow();
    const provider = new JsonRpcProvider(next.rpcUrl, undefined, { cacheTimeout: -1 });
    expect(await provider.getBlockNumber()).toBe(2);
    provider.destroy();
    await leftover.stop();
    expect(anvilPid()).not.toBe(leftoverPid); // stopping the old one left the new one's record alone
    await next.stop();
  });

  it('refuses interval mining, which would acknowledge a transaction before it is saved', async () => {
    await expect(startAnvil({ stateFile: stateFile(), blockTimeSeconds: 1 })).rejects.toThrow(/automine/);
  });
});
