import {
  acceptAddress,
  COPY_AGAIN,
  describeCharacterAt,
  isAllZero,
  refuseAddress,
  refuseForeignAddress,
  type AddressCheck,
} from './address-check.js';
import { decodeBase58Check, XRP_BASE58_ALPHABET } from './base58.js';

/** Classic addresses are version 0x00 + a 20-byte account id, which the XRP alphabet writes as a leading `r`. */
const ACCOUNT_VERSION = 0x00;
const ACCOUNT_PAYLOAD_BYTES = 21;
/** rrrrrrrrrrrrrrrrrrrrBZbvji: account id 1, a placeholder issuer that nobody controls. */
const ACCOUNT_ONE = Uint8Array.from([...new Array<number>(19).fill(0), 1]);

/**
 * An XRP Ledger classic address: Base58Check in the XRP alphabet of 0x00 + a 20-byte account id, 25–35 characters
 * starting with r. X-addresses (which fold the destination tag into the address) are refused, so the tag is always
 * entered, stored and shown on its own. ACCOUNT_ZERO and ACCOUNT_ONE are refused. Returned unchanged.
 */
export function parseXrpAddress(address: string): AddressCheck {
  if (isXAddress(address)) {
    return refuseAddress(
      'This is an XRP X-address. Enter your classic address (it starts with r) and, if your wallet or exchange gives one, the destination tag in its own field.',
    );
  }
  const shape = 'An XRP Ledger address starts with r and is 25 to 35 characters long.';
  if (!address.startsWith('r') || address.length < 25 || address.length > 35) {
    return refuseForeignAddress(`This is not an XRP Ledger address. ${shape}`);
  }
  const decoded = decodeBase58Check(address, XRP_BASE58_ALPHABET);
  if (!decoded.isValid) {
    if (decoded.problem === 'bad_character') {
      return refuseForeignAddress(
        `${describeCharacterAt(address, decoded.badCharacterIndex)} cannot appear in an XRP Ledger address (they never contain 0, O, I or l). ${COPY_AGAIN}`,
      );
    }
    return refuseAddress(`This XRP Ledger address fails its checksum, so a character is probably wrong. ${COPY_AGAIN}`);
  }
  const { payload } = decoded;
  if (payload.length !== ACCOUNT_PAYLOAD_BYTES || payload[0] !== ACCOUNT_VERSION) {
    return refuseForeignAddress(`This is not an XRP Ledger account address. ${shape}`);
  }
  const accountId = payload.subarray(1);
  if (isAllZero(accountId) || accountId.every((byte, i) => byte === ACCOUNT_ONE[i])) {
    return refuseAddress('This is a special XRP Ledger account that nobody controls; XRP sent there is lost. Enter your own wallet address.');
  }
  return acceptAddress(address);
}

/** X-address prefixes (XLS-5d): mainnet 0x05 0x44 ("X…"), testnet 0x04 0x93 ("T…"); then account id, flags, tag. */
const X_ADDRESS_PREFIXES = [
  [0x05, 0x44],
  [0x04, 0x93],
] as const;
const X_ADDRESS_PAYLOAD_BYTES = 31;

function isXAddress(address: string): boolean {
  if (!/^[XT]/.test(address)) return false;
  const decoded = decodeBase58Check(address, XRP_BASE58_ALPHABET);
  if (!decoded.isValid || decoded.payload.length !== X_ADDRESS_PAYLOAD_BYTES) return false;
  const { payload } = decoded;
  return X_ADDRESS_PREFIXES.some(([first, second]) => payload[0] === first && payload[1] === second);
}
