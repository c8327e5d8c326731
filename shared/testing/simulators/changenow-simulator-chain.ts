import { Contract, JsonRpcProvider, Wallet, formatUnits, getAddress, id as topicOf, parseUnits } from 'ethers';

/** A payment into a watched deposit address, read from the chain. */
export interface ObservedDeposit {
  /** The deposit address, checksummed. */
  address: string;
  currency: string;
  /** Whole units as decimal text (`'0.01'` ETH). */
  amount: string;
  hash: string;
}

/** The simulator's view of the local chain: find deposits, send payouts and refunds from the operator account. */
export interface SimulatorChain {
  /**
   * Deposits into `watched` (checksummed address → currency, `eth` or a configured token) in blocks not scanned
   * yet. Native ETH is found by scanning each block's transactions (successful ones only), tokens by `Transfer` logs.
   */
  scanDeposits(watched: ReadonlyMap<string, string>): Promise<ObservedDeposit[]>;
  /** Sends `amount` (decimal text) of `currency` to `to` from the operator account; returns the tx hash at once. */
  send(currency: string, to: string, amount: string): Promise<string>;
  /**
   * `'mined'` (status 1), `'reverted'`, `'pending'`, or `'dropped'`: the node knows the transaction
   * no more (anvil evicts one whose max fee falls below the base fee).
   */
  receiptOf(hash: string): Promise<'mined' | 'reverted' | 'pending' | 'dropped'>;
  isSupported(currency: string): boolean;
  /** The first block `scanDeposits` has not read yet: what a restart passes back as `fromBlock`. */
  nextBlockToScan(): number;
  close(): void;
}

export interface SimulatorChainOptions {
  rpcUrl: string;
  /** Private key of the account that pays the simulated payouts; must hold ETH (and tokens for token payouts). */
  operatorKey: string;
  /** ERC-20 contracts by ticker, e.g. `{ usdt: '0x…' }` (6 decimals assumed for usdt/usdc, else read on-chain). */
  tokens?: Record<string, string>;
  /**
   * First block to scan (a restart's `nextBlockToScan`). Capped at the chain's next block: a chain that
   * lost blocks must have them scanned again when they are mined anew. Default: the next block.
   */
  fromBlock?: number;
}

const TRANSFER_TOPIC = topicOf('Transfer(address,address,uint256)');
const ERC20_ABI = ['function transfer(address to, uint256 value) returns (bool)', 'function decimals() view returns (uint8)'];

export async function createSimulatorChain(options: SimulatorChainOptions): Promise<SimulatorChain> {
  // cacheTimeout -1: every call reads the node; a cached nonce or block number would go stale between rounds.
  const provider = new JsonRpcProvider(options.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
  const operator = new Wallet(options.operatorKey, provider);
  const tokens = new Map<string, { address: string; decimals: number }>();
  for (const [currency, address] of Object.entries(options.tokens ?? {})) {
    const contract = new Contract(address, ERC20_ABI, provider);
    const decimals = Number(await contract.getFunction('decimals')());
    tokens.set(currency, { address: getAddress(address), decimals });
  }
  const latestAtStart = await provider.getBlockNumber();
  let nextBlock = Math.min(options.fromBlock ?? latestAtStart + 1, latestAtStart + 1);

  return {
    isSupported: (currency) => currency === 'eth' || tokens.has(currency),
    nextBlockToScan: () => nextBlock,

    async scanDeposits(watched) {
      const latest = await provider.getBlockNumber();
      if (latest < nextBlock) return [];
      const from = nextBlock;
      nextBlock = latest + 1;
      const deposits: ObservedDeposit[] = [];
      for (let number = from; number <= latest; number += 1) {
        const block = await provider.getBlock(number, true);
        for (const tx of block?.prefetchedTransactions ?? []) {
          if (tx.to === null || tx.value === 0n) continue;
          const to = getAddress(tx.to);
          if (watched.get(to) !== 'eth') continue;
          const receipt = await provider.getTransactionReceipt(tx.hash);
          if (receipt?.status !== 1) continue;
          deposits.push({ address: to, currency: 'eth', amount: formatUnits(tx.value, 18), hash: tx.hash });
        }
      }
      for (const [currency, token] of tokens) {
        const logs = await provider.getLogs({ address: token.address, fromBlock: from, toBlock: latest, topics: [TRANSFER_TOPIC] });
        for (const log of logs) {
          const toTopic = log.topics[2];
          if (toTopic === undefined) continue;
          const to = getAddress(`0x${toTopic.slice(26)}`);
          if (watched.get(to) !== currency) continue;
          deposits.push({ address: to, currency, amount: formatUnits(BigInt(log.data), token.decimals), hash: log.transactionHash });
        }
      }
      return deposits;
    },

    async send(currency, to, amount) {
      if (currency === 'eth') {
        const tx = await operator.sendTransaction({ to, value: parseUnits(amount, 18) });
        return tx.hash;
      }
      const token = tokens.get(currency);
      if (token === undefined) throw new Error(`changenow simulator: no token contract configured for ${currency}`);
      const contract = new Contract(token.address, ERC20_ABI, operator);
      const tx = (await contract.getFunction('transfer')(to, parseUnits(amount, token.decimals))) as { hash: string };
      return tx.hash;
    },

    async receiptOf(hash) {
      const receipt = await provider.getTransactionReceipt(hash);
      if (receipt === null) return (await provider.getTransaction(hash)) === null ? 'dropped' : 'pending';
      return receipt.status === 1 ? 'mined' : 'reverted';
    },

    close: () => provider.destroy(),
  };
}

