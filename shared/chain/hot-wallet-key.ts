import { Wallet, type TransactionRequest } from 'ethers';
import { chainError } from './errors.js';

/** What a hot wallet can do: say its address and sign a fully populated transaction offline. */
export interface HotWallet {
  /** Checksummed address. */
  readonly address: string;
  /** Serialized signed transaction (0x…). Makes no network call: every field must be given. */
  signTransaction(request: TransactionRequest): Promise<string>;
}

/**
 * The hot wallet from its private key (`0x` + 64 hex). The key stays in a closure: the returned object
 * has no property holding it, so logging or serializing the wallet cannot leak it. The wallet is not
 * connected to a provider on purpose: a connected ethers wallet fills in the nonce from the network
 * when asked to send, which is exactly the double-pay path we avoid; we only ever sign.
 */
export function createHotWallet(privateKeyHex: string): HotWallet {
  let signer: Wallet;
  try {
    signer = new Wallet(privateKeyHex);
  } catch {
    throw chainError('invalid_hot_wallet_key', 'HOST_WALLET_PRIVATE_KEY is not a valid secp256k1 private key.');
  }
  const address = signer.address;
  return Object.freeze({
    address,
    signTransaction: (request: TransactionRequest) => signer.signTransaction(request),
    toJSON: () => ({ address }),
  });
}

/**
 * Refuses a hot wallet whose key is not the configured `HOT_WALLET_ADDRESS`: that address is where
 * ChangeNow refunds failed swaps, so a mismatch would send refunds to a wallet we may not control.
 * @throws PermanentError `hot_wallet_mismatch`.
 */
export function assertHotWalletAddress(wallet: HotWallet, configuredAddress: string): void {
  if (wallet.address.toLowerCase() !== configuredAddress.toLowerCase()) {
    throw chainError(
      'hot_wallet_mismatch',
      `HOT_WALLET_ADDRESS ${configuredAddress} is not the address of HOST_WALLET_PRIVATE_KEY (${wallet.address}); swap refunds would go to the wrong wallet.`,
    );
  }
}
