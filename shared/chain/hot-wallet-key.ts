import { createECDH } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { eip55Checksummed } from '../wallets/evm-address.js';
import { type Eip1559Fields, eip1559SigningHash, serializeSignedEip1559 } from './eip1559-transaction.js';
import { chainError } from './errors.js';

/** What a hot wallet can do: say its address and sign a fully populated transaction offline. */
export interface HotWallet {
  /** Checksummed address. */
  readonly address: string;
  /** Serialized signed EIP-1559 transaction (lower-case `0x` hex). Makes no network call: every field is given. */
  signTransaction(fields: Eip1559Fields): Promise<string>;
}

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

/**
 * The hot wallet from its private key (`0x` + 64 hex). The key stays in a closure: the returned object
 * has no property holding it, so logging or serializing the wallet cannot leak it. It only signs: it
 * has no network and so never fills in a nonce from a node, which is exactly the double-pay path we
 * avoid. Signatures are RFC 6979 deterministic with low `s` (as ethers and geth make them), so one
 * transaction always signs to the same bytes and hash.
 */
export function createHotWallet(privateKeyHex: string): HotWallet {
  if (!PRIVATE_KEY.test(privateKeyHex) || !secp256k1.utils.isValidPrivateKey(privateKeyHex.slice(2))) {
    throw chainError('invalid_hot_wallet_key', 'HOST_WALLET_PRIVATE_KEY is not a valid secp256k1 private key.');
  }
  const privateKey = Uint8Array.from(Buffer.from(privateKeyHex.slice(2), 'hex'));
  // OpenSSL derives the public key in under a millisecond; noble's first point multiplication builds a
  // 40 ms table, which the first signature pays instead of every cold start.
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(privateKey);
  const address = addressOfPublicKey(ecdh.getPublicKey());
  return Object.freeze({
    address,
    signTransaction: async (fields: Eip1559Fields) => {
      const signature = secp256k1.sign(eip1559SigningHash(fields), privateKey, { lowS: true });
      return serializeSignedEip1559(fields, { yParity: signature.recovery as 0 | 1, r: signature.r, s: signature.s });
    },
    toJSON: () => ({ address }),
  });
}

/** An account's address: the last 20 bytes of keccak256 of its uncompressed public key without the 0x04 prefix, EIP-55. */
function addressOfPublicKey(uncompressed: Uint8Array): string {
  return eip55Checksummed(Buffer.from(keccak_256(uncompressed.subarray(1)).subarray(12)).toString('hex'));
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
