import { acceptAddress, COPY_AGAIN, isAllZero, refuseAddress, refuseForeignAddress, type AddressCheck } from './address-check.js';

/** User-friendly address flags (first byte): bounceable 0x11, non-bounceable 0x51, plus 0x80 on test networks. */
const TAG_BOUNCEABLE = 0x11;
const TAG_NON_BOUNCEABLE = 0x51;
const TAG_TESTNET_FLAG = 0x80;
/** Workchain ids payouts may target: 0 (basechain, every ordinary wallet) and -1 (masterchain). */
const BASECHAIN = 0x00;
const MASTERCHAIN = 0xff;
const FRIENDLY_LENGTH = 48;
const FRIENDLY_BYTES = 36;

const URL_SAFE_FRIENDLY = /^[A-Za-z0-9_-]{48}$/;
const STANDARD_FRIENDLY = /^[A-Za-z0-9+/]{48}$/;
const RAW = /^(0|-1):[0-9a-fA-F]{64}$/;

/**
 * A TON account address, in either of its forms:
 * - user-friendly: 48 characters of base64url (or standard base64) encoding 36 bytes: a flags byte (bounceable 0x11
 *   or non-bounceable 0x51; the test-network flag 0x80 is refused), the workchain (0 or -1), the 32-byte account id
 *   and a CRC16-XMODEM of the 34 bytes before it. Returned unchanged: its flags are the owner's wallet's choice.
 * - raw: `0:` or `-1:` followed by 64 hex digits, returned with lowercase hex.
 * The all-zero account id is refused.
 */
export function parseTonAddress(address: string): AddressCheck {
  if (address.includes(':')) return parseRaw(address);
  const shape = 'A TON address is 48 characters, usually starting with UQ or EQ.';
  if (!URL_SAFE_FRIENDLY.test(address) && !STANDARD_FRIENDLY.test(address)) {
    if (address.length !== FRIENDLY_LENGTH || !/^[A-Za-z0-9_+/-]+$/.test(address)) {
      return refuseForeignAddress(`This is not a TON address. ${shape}`);
    }
    return refuseAddress(`This TON address mixes two encodings (- or _ together with + or /). ${COPY_AGAIN}`);
  }
  const bytes = new Uint8Array(Buffer.from(address, 'base64'));
  if (bytes.length !== FRIENDLY_BYTES) return refuseForeignAddress(`This is not a TON address. ${shape}`);
  const body = bytes.subarray(0, FRIENDLY_BYTES - 2);
  const checksum = ((bytes[34] ?? 0) << 8) | (bytes[35] ?? 0);
  if (crc16Xmodem(body) !== checksum) {
    return refuseAddress(`This TON address fails its checksum, so a character is probably wrong. ${COPY_AGAIN}`);
  }
  const tag = bytes[0] ?? 0;
  if ((tag & ~TAG_TESTNET_FLAG) === TAG_BOUNCEABLE || (tag & ~TAG_TESTNET_FLAG) === TAG_NON_BOUNCEABLE) {
    if ((tag & TAG_TESTNET_FLAG) !== 0) {
      return refuseAddress('This is a TON testnet address; payouts are sent on the TON main network. Use your wallet\'s mainnet address.');
    }
  } else {
    return refuseAddress(`This is not a valid TON address: its type byte is unknown. ${COPY_AGAIN}`);
  }
  const workchain = bytes[1];
  if (workchain !== BASECHAIN && workchain !== MASTERCHAIN) {
    return refuseAddress('This TON address belongs to a workchain that cannot receive payouts. Use your wallet\'s ordinary address.');
  }
  if (isAllZero(bytes.subarray(2, 34))) return refuseAddress(zeroReason());
  return acceptAddress(address);
}

function parseRaw(address: string): AddressCheck {
  if (!RAW.test(address)) {
    return refuseAddress(`A raw TON address is 0: followed by 64 characters 0-9 and a-f. ${COPY_AGAIN}`);
  }
  const [workchain = '', hash = ''] = address.split(':');
  if (/^0+$/.test(hash)) return refuseAddress(zeroReason());
  return acceptAddress(`${workchain}:${hash.toLowerCase()}`);
}

function zeroReason(): string {
  return 'This is the TON zero address, which nobody owns; coins sent there are lost. Enter your own wallet address.';
}

/** CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection), as TON user-friendly addresses use. */
export function crc16Xmodem(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) {
      crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}
