/** The assets the hot wallet holds: native ETH, and USDT as an ERC-20 token on the same chain. */
export const HOT_WALLET_ASSETS = ['ETH', 'USDT_ERC20'] as const;
export type HotWalletAsset = (typeof HOT_WALLET_ASSETS)[number];

/** The wallet being compared: its chain, address and the token contracts of its ERC-20 assets. */
export interface HotWalletTarget {
  chainId: bigint;
  /** Any checksum spelling. */
  address: string;
  /** A token asset without a contract (`USDT_ERC20_CONTRACT` unset) is not compared. */
  tokenContracts: { USDT_ERC20?: string };
}

/** The assets compared for `target`: ETH always, each token whose contract is configured. */
export function comparedAssets(target: HotWalletTarget): HotWalletAsset[] {
  return HOT_WALLET_ASSETS.filter((asset) => asset === 'ETH' || target.tokenContracts[asset] !== undefined);
}

export function isHotWalletAsset(value: string): value is HotWalletAsset {
  return (HOT_WALLET_ASSETS as readonly string[]).includes(value);
}
