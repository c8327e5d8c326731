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
