import { acceptAddress, COPY_AGAIN, describeCharacterAt, isAllZero, refuseAddress, refuseForeignAddress, type AddressCheck } from './address-check.js';
import { decodeBase58 } from './base58.js';

const PUBLIC_KEY_BYTES = 32;

/**
 * A Solana account address: base58 of exactly 32 bytes (32–44 characters). Solana addresses carry no checksum, so a
 * mistyped character that still decodes to 32 bytes cannot be caught here; owners must paste, not type. The all-zero
 * key (`111…1`, the System Program) is refused: it is the "no account" value, and coins sent there are lost.
 * Returned unchanged.
 */
export function parseSolanaAddress(address: string): AddressCheck {
  const shape = 'A Solana address is 32 to 44 letters and digits.';
  if (address.length < 32 || address.length > 44) return refuseForeignAddress(`This is not a Solana address. ${shape}`);
  const decoded = decodeBase58(address);
  if (!decoded.isValid) {
    return refuseForeignAddress(
      `${describeCharacterAt(address, decoded.badCharacterIndex)} cannot appear in a Solana address (they never contain 0, O, I or l). ${COPY_AGAIN}`,
    );
  }
  if (decoded.bytes.length !== PUBLIC_KEY_BYTES) {
    return refuseForeignAddress(`This is not a Solana address: it does not encode a 32-byte key, so characters are missing or extra. ${COPY_AGAIN}`);
  }
  if (isAllZero(decoded.bytes)) {
    return refuseAddress('This is the Solana System Program address, not a wallet; coins sent there are lost. Enter your own wallet address.');
  }
  return acceptAddress(address);
}
