import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import type { Chain } from './chain-provider.js';
import type { HotWallet } from './hot-wallet-key.js';

export interface ChainSettings {
  /** EIP-155 chain id the wallet signs for (`ETH_CHAIN_ID`); the node must report the same. */
  chainId: bigint;
  /** Highest maxFeePerGas we sign, in wei per gas. Above it payouts are deferred (`gas_price_above_cap`). */
  maxFeePerGasCapWei: bigint;
  /** ERC-20 contract per token asset; a USDT_ERC20 transfer without one is refused. */
  tokenContracts: { USDT_ERC20?: string };
  /** Gas limit = estimate × (1 + margin). Basis points, default 2000 (20 %). */
  gasLimitMarginBps?: number;
}

/** What the transfer functions need to broadcast, watch and confirm a stored transfer. */
export interface TransferDeps {
  db: Db;
  chain: Chain;
  clock: Clock;
  logger: Logger;
}

/** Signing (and same-nonce replacement) also needs the key and the chain settings it signs under. */
export interface SigningDeps extends TransferDeps {
  wallet: HotWallet;
  settings: ChainSettings;
}
