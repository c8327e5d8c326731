import { Contract, Interface, JsonRpcProvider, Transaction, Wallet, getAddress, parseUnits } from 'ethers';

/**
 * Where the simulated NowPayments sends each payment's outcome on the local chain. NowPayments is
 * non-custodial: the merchant's outcome wallet (set in its dashboard; for us, the hot wallet) gets the
 * outcome as soon as the payment is processed, and `finished` means "the funds have reached your
 * personal address" (nowpayments.io/help, "Where are my funds stored?"; the payment-status list).
 */
export interface NowPaymentsChainSettlement {
  rpcUrl: string;
  /** Pays every outcome: an account nothing else sends from (the sandbox and chaos runs use anvil account 8). */
  payerPrivateKey: string;
  /** The merchant's outcome wallet: our hot wallet. */
  outcomeWallet: string;
  /** The USDT ERC-20 contract; outcomes in `usdterc20` are paid in it (the payer must hold it). Without it they stay off chain. */
  usdtContract?: string;
}

/** One outcome transfer, signed once and kept in the state file before it is broadcast. */
export interface SignedOutcome {
  nonce: number;
  signedTx: string;
  txHash: string;
}

export interface OutcomePayer {
  /** The outcome in the currency's on-chain base units (rounded down: a token cannot carry NowPayments' 8 decimals beyond its own), or undefined when it is not paid on chain. */
  unitsOf(currency: string, amount: string): bigint | undefined;
  /** Signs the transfer with the payer's next nonce: the chain's, or `storedNext` when stored transfers are ahead of it. */
  sign(currency: string, units: bigint, storedNext: number): Promise<SignedOutcome>;
  /** Broadcasts the stored bytes until they are mined (again when the node forgot them); throws when they revert. */
  deliver(outcome: SignedOutcome, isStopped: () => boolean): Promise<void>;
  close(): void;
}

const GWEI = 1_000_000_000n;
const ERC20 = new Interface(['function transfer(address to, uint256 value) returns (bool)', 'function decimals() view returns (uint8)']);
/** A delivery gives up after this long (the local chain mines within a second; a fee spike passes in a few blocks). */
const DELIVERY_TIMEOUT_MS = 10 * 60_000;

export async function createOutcomePayer(options: NowPaymentsChainSettlement): Promise<OutcomePayer> {
  const provider = new JsonRpcProvider(options.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
  const payer = new Wallet(options.payerPrivateKey);
  const outcomeWallet = getAddress(options.outcomeWallet);
  const chainId = BigInt((await provider.send('eth_chainId', [])) as string);
  const token = options.usdtContract ? getAddress(options.usdtContract) : undefined;
  const tokenDecimals = token ? Number(await new Contract(token, ERC20, provider).getFunction('decimals')()) : 0;
  const decimalsOf = (currency: string) => (currency === 'eth' ? 18 : currency === 'usdterc20' && token ? tokenDecimals : undefined);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  return {
    unitsOf(currency, amount) {
      const decimals = decimalsOf(currency);
      if (decimals === undefined) return undefined;
      // ethers' parseUnits refuses extra decimals; cut them (rounding down) first.
      const [whole = '0', fraction = ''] = amount.split('.');
      return parseUnits(`${whole}.${fraction.slice(0, decimals) || '0'}`, decimals);
    },

    async sign(currency, units, storedNext) {
      const [pending, block] = await Promise.all([provider.getTransactionCount(payer.address, 'pending'), provider.getBlock('latest')]);
      const baseFee = block?.baseFeePerGas ?? GWEI;
      const isEth = currency === 'eth';
      const signedTx = await payer.signTransaction({
        type: 2,
        chainId,
        nonce: Math.max(pending, storedNext),
        // Generous: the payer's gas is nobody's money here, and a fee spike must not strand an outcome.
        maxPriorityFeePerGas: GWEI,
        maxFeePerGas: baseFee * 4n + 100n * GWEI,
        gasLimit: isEth ? 21_000n : 100_000n,
        to: isEth ? outcomeWallet : token,
        value: isEth ? units : 0n,
        data: isEth ? '0x' : ERC20.encodeFunctionData('transfer', [outcomeWallet, units]),
      });
      const parsed = Transaction.from(signedTx);
      return { nonce: parsed.nonce, signedTx, txHash: parsed.hash ?? '' };
    },

    async deliver(outcome, isStopped) {
      const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
      while (!isStopped()) {
        let receipt: Awaited<ReturnType<typeof provider.getTransactionReceipt>>;
        try {
          receipt = await provider.getTransactionReceipt(outcome.txHash);
          if (!receipt && (await provider.getTransaction(outcome.txHash)) === null) {
            // Not known (first send, or dropped): the same bytes again. "Already known" or a fee below
            // the base fee just means: wait and look again.
            await provider.send('eth_sendRawTransaction', [outcome.signedTx]).catch(() => undefined);
          }
        } catch (error) {
          if (isStopped()) return; // closed under a call
          throw error;
        }
        if (receipt) {
          if (receipt.status !== 1) throw new Error(`nowpayments simulator: outcome transfer ${outcome.txHash} reverted`);
          return;
        }
        if (Date.now() > deadline) throw new Error(`nowpayments simulator: outcome transfer ${outcome.txHash} not mined after ${DELIVERY_TIMEOUT_MS / 1000} s`);
        await sleep(100);
      }
    },

    close: () => provider.destroy(),
  };
}
