import { describe, expect, it } from 'vitest';
import { createCountingWallet, createMemoryChain } from './memory-chain.js';

const GWEI = 1_000_000_000n;
const RECIPIENT = '0x2222222222222222222222222222222222222222';

/** The twin answers as geth and anvil answer, so the payout code sees the cases it must handle. */
describe('memory chain', () => {
  const wallet = createCountingWallet();
  const sign = (nonce: number, fees: { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint; chainId?: bigint } = {}) =>
    wallet.signTransaction({
      chainId: fees.chainId ?? 31_337n,
      nonce: BigInt(nonce),
      to: RECIPIENT,
      value: 5n,
      data: '0x',
      gasLimit: 21_000n,
      maxFeePerGas: fees.maxFeePerGas ?? 21n * GWEI,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas ?? GWEI,
    });
  const funded = () => createMemoryChain({ balances: { [wallet.address]: 10n ** 18n } });

  it('takes a transaction once, then knows it; a mined one is "nonce too low"', async () => {
    const chain = funded();
    const raw = await sign(0);
    expect(await chain.sendRawTransaction(raw)).toBe('accepted');
    expect(await chain.sendRawTransaction(raw)).toBe('already_known');
    expect(await chain.readAccount(wallet.address)).toMatchObject({ pendingNonce: 1n });
    const [tx] = chain.transactions();
    chain.mine(tx?.hash ?? '');
    expect(await chain.sendRawTransaction(raw)).toBe('nonce_too_low');
    expect(chain.sent).toEqual([raw.toLowerCase(), raw.toLowerCase(), raw.toLowerCase()]);
  });

  it('reports receipts as the test decides them, with confirmations counted from the head', async () => {
    const chain = funded();
    const raws = [await sign(0), await sign(1), await sign(2)];
    for (const raw of raws) await chain.sendRawTransaction(raw);
    const [mined, reverted, dropped] = chain.transactions().map((tx) => tx.hash);
    chain.mine(mined ?? '');
    chain.mine(reverted ?? '', { isSuccess: false });
    chain.drop(dropped ?? '');
    chain.advanceBlocks(3);
    expect(await chain.lookupTransaction(mined ?? '')).toMatchObject({ state: 'mined', isSuccess: true, confirmations: 5n, gasUsed: 21_000n, effectiveGasPrice: 11n * GWEI });
    expect(await chain.lookupTransaction(reverted ?? '')).toMatchObject({ state: 'mined', isSuccess: false, confirmations: 4n });
    expect(await chain.lookupTransaction(dropped ?? '')).toEqual({ state: 'unknown' });
    // The recipient got the mined value only; the sender paid it and the gas of both mined transactions.
    expect((await chain.readAccount(RECIPIENT)).balanceWei).toBe(5n);
    expect((await chain.readAccount(wallet.address)).balanceWei).toBe(10n ** 18n - 5n - 2n * 21_000n * 11n * GWEI);
    // The dropped transaction's nonce is free again, and its bytes are taken again.
    expect(await chain.readAccount(wallet.address)).toMatchObject({ pendingNonce: 2n });
    expect(await chain.sendRawTransaction(raws[2] ?? '')).toBe('accepted');
    expect(await chain.lookupTransaction(dropped ?? '')).toEqual({ state: 'pending' });
  });

  it.each([
    ['a replacement paying less than 10 % more', { maxFeePerGas: 22n * GWEI, maxPriorityFeePerGas: 2n * GWEI }, 'replacement_underpriced'],
    ['a replacement paying 10 % more on both fees', { maxFeePerGas: 24n * GWEI, maxPriorityFeePerGas: 2n * GWEI }, 'accepted'],
  ] as const)('answers %s at a pending nonce', async (_name, fees, answer) => {
    const chain = funded();
    await chain.sendRawTransaction(await sign(0));
    expect(await chain.sendRawTransaction(await sign(0, fees))).toBe(answer);
    expect(chain.transactions().filter((tx) => tx.state === 'pending')).toHaveLength(1);
  });

  it('refuses a max fee below the base fee, a transaction the sender cannot pay for, and another chain', async () => {
    const chain = funded();
    chain.setFees({ baseFeePerGas: 30n * GWEI });
    expect(await chain.sendRawTransaction(await sign(0))).toBe('fee_too_low');
    await expect(createMemoryChain().sendRawTransaction(await sign(0))).rejects.toMatchObject({ code: 'hot_wallet_insufficient_funds' });
    await expect(chain.sendRawTransaction(await sign(0, { chainId: 1n, maxFeePerGas: 61n * GWEI }))).rejects.toMatchObject({ code: 'chain_id_mismatch' });
    expect(chain.transactions()).toEqual([]);
  });

  it('fails the next send before the node sees the bytes, or after it took them', async () => {
    const chain = funded();
    chain.failNextSend(new Error('killed'), 'before');
    await expect(chain.sendRawTransaction(await sign(0))).rejects.toThrow('killed');
    expect(chain.transactions()).toEqual([]);
    chain.failNextSend(new Error('answer lost'), 'after');
    await expect(chain.sendRawTransaction(await sign(0))).rejects.toThrow('answer lost');
    expect(chain.transactions().map((tx) => tx.state)).toEqual(['pending']);
  });
});
