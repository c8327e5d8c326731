import {
  acceptAddress,
  COPY_AGAIN,
  describeCharacterAt,
  isAllZero,
  refuseAddress,
  refuseForeignAddress,
  type AddressCheck,
} from './address-check.js';
import { decodeBase58Check } from './base58.js';

/** Every TRON account address is 0x41 followed by a 20-byte hash. */
const TRON_VERSION = 0x41;
const TRON_PAYLOAD_BYTES = 21;
const TRON_LENGTH = 34;
const SHAPE = 'A TRON address starts with T and is 34 characters long.';

/**
 * A TRON account address in its usual form: Base58Check of 0x41 + 20 bytes, 34 characters starting with T. The hex
 * form (`41…`) is refused rather than converted, so what the owner sees in the wallet is what we store. Returned
 * unchanged.
 */
export function parseTronAddress(address: string): AddressCheck {
  if (/^(0x)?41[0-9a-fA-F]{40}$/.test(address)) {
    return refuseAddress(`This is a TRON address in hex form. Use the form your wallet shows, which starts with T.`);
  }
  if (!address.startsWith('T')) return refuseForeignAddress(`This is not a TRON address. ${SHAPE}`);
  const decoded = decodeBase58Check(address);
  if (!decoded.isValid && decoded.problem === 'bad_character') {
    return refuseForeignAddress(
      `${describeCharacterAt(address, decoded.badCharacterIndex)} cannot appear in a TRON address (they never contain 0, O, I or l). ${COPY_AGAIN}`,
    );
  }
  if (address.length !== TRON_LENGTH) {
    return refuseAddress(`${SHAPE} This one has ${address.length} characters. ${COPY_AGAIN}`);
  }
  if (!decoded.isValid) return refuseAddress(`This TRON address fails its checksum, so a character is probably wrong. ${COPY_AGAIN}`);
  const { payload } = decoded;
  if (payload.length !== TRON_PAYLOAD_BYTES || payload[0] !== TRON_VERSION) {
    return refuseForeignAddress(`This is not a TRON address. ${SHAPE}`);
  }
  if (isAllZero(payload.subarray(1))) {
    return refuseAddress('This is the TRON zero address, which nobody owns; coins sent there are lost. Enter your own wallet address.');
  }
  return acceptAddress(address);
}
