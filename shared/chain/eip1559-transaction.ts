import { keccak_256 } from '@noble/hashes/sha3';
import { chainError } from './errors.js';

/**
 * An EIP-1559 (type 2) transaction: the only kind the hot wallet signs. Encoded here rather than
 * through ethers because `send-transfer` signs every payout and ethers alone took 114–254 ms of its
 * cold start; the bytes are the same (RLP per the Yellow Paper, fields per EIP-1559), and
 * `eip1559-transaction.test.ts` checks them against ethers for random transactions.
 */
export interface Eip1559Fields {
  chainId: bigint;
  nonce: bigint;
  maxPriorityFeePerGas: bigint;
  maxFeePerGas: bigint;
  gasLimit: bigint;
  /** `0x` + 40 hex: a transfer always has a recipient (never a contract creation). */
  to: string;
  value: bigint;
  /** `0x` + hex calldata, `0x` for none. */
  data: string;
}

/** A secp256k1 signature of the transaction's signing hash; `yParity` is the recovery bit. */
export interface Eip1559Signature {
  yParity: 0 | 1;
  r: bigint;
  s: bigint;
}

export interface SignedEip1559Transaction extends Eip1559Fields {
  signature: Eip1559Signature;
  /** keccak256 of the signed bytes, lower-case `0x` hex: the hash the network knows it by. */
  hash: string;
}

const TYPE_EIP1559 = 0x02;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;
/** The largest value a field may hold: quantities are 256-bit words. */
const MAX_UINT256 = (1n << 256n) - 1n;

/** The digest the hot wallet signs: keccak256(0x02 ‖ rlp([chainId … accessList])). */
export function eip1559SigningHash(fields: Eip1559Fields): Uint8Array {
  // A node refuses such a transaction outright; refusing to sign it keeps it out of the database too.
  if (fields.maxPriorityFeePerGas > fields.maxFeePerGas) throw invalid('the priority fee is above the max fee');
  return keccak_256(typed(encodeRlp(unsignedItems(fields))));
}

/** The signed transaction as `eth_sendRawTransaction` takes it: lower-case `0x` hex. */
export function serializeSignedEip1559(fields: Eip1559Fields, signature: Eip1559Signature): string {
  if (signature.yParity !== 0 && signature.yParity !== 1) throw invalid('yParity must be 0 or 1');
  const items = [...unsignedItems(fields), quantity(BigInt(signature.yParity), 'yParity'), quantity(signature.r, 'r'), quantity(signature.s, 's')];
  return toHex(typed(encodeRlp(items)));
}

/** keccak256 of signed transaction bytes (any type): the transaction's hash. */
export function transactionHash(signedTx: string): string {
  return toHex(keccak_256(fromHex(signedTx, 'the signed transaction')));
}

/**
 * Reads signed type-2 bytes back (a replacement re-signs the stored one's nonce, recipient, value and
 * calldata). Strict: another type, a non-canonical encoding, a non-empty access list or trailing
 * bytes is `invalid_signed_transaction`, as a stored transaction we did not write would be.
 */
export function parseSignedEip1559(signedTx: string): SignedEip1559Transaction {
  const bytes = fromHex(signedTx, 'the signed transaction');
  if (bytes[0] !== TYPE_EIP1559) throw invalid(`type ${bytes[0] ?? 'none'} is not an EIP-1559 (type 2) transaction`);
  const { item, end } = decodeRlp(bytes, 1);
  if (end !== bytes.length) throw invalid('bytes follow the transaction');
  if (!Array.isArray(item) || item.length !== 12) throw invalid('a type-2 transaction is a list of 12 fields');
  const fieldAt = (index: number, name: string): Uint8Array => {
    const field = item[index];
    if (!(field instanceof Uint8Array)) throw invalid(`${name} is a list, not a value`);
    return field;
  };
  const accessList = item[8];
  if (!Array.isArray(accessList) || accessList.length > 0) throw invalid('the hot wallet never signs an access list');
  const to = fieldAt(5, 'to');
  if (to.length !== 20) throw invalid('to is not a 20-byte address');
  const yParity = readQuantity(fieldAt(9, 'yParity'), 'yParity');
  if (yParity > 1n) throw invalid('yParity must be 0 or 1');
  return {
    chainId: readQuantity(fieldAt(0, 'chainId'), 'chainId'),
    nonce: readQuantity(fieldAt(1, 'nonce'), 'nonce'),
    maxPriorityFeePerGas: readQuantity(fieldAt(2, 'maxPriorityFeePerGas'), 'maxPriorityFeePerGas'),
    maxFeePerGas: readQuantity(fieldAt(3, 'maxFeePerGas'), 'maxFeePerGas'),
    gasLimit: readQuantity(fieldAt(4, 'gasLimit'), 'gasLimit'),
    to: toHex(to),
    value: readQuantity(fieldAt(6, 'value'), 'value'),
    data: toHex(fieldAt(7, 'data')),
    signature: { yParity: Number(yParity) as 0 | 1, r: readQuantity(fieldAt(10, 'r'), 'r'), s: readQuantity(fieldAt(11, 's'), 's') },
    hash: toHex(keccak_256(bytes)),
  };
}

type RlpItem = Uint8Array | RlpItem[];

function unsignedItems(fields: Eip1559Fields): RlpItem[] {
  if (!ADDRESS.test(fields.to)) throw invalid('to must be 0x followed by 40 hex digits');
  return [
    quantity(fields.chainId, 'chainId'),
    quantity(fields.nonce, 'nonce'),
    quantity(fields.maxPriorityFeePerGas, 'maxPriorityFeePerGas'),
    quantity(fields.maxFeePerGas, 'maxFeePerGas'),
    quantity(fields.gasLimit, 'gasLimit'),
    fromHex(fields.to, 'to'),
    quantity(fields.value, 'value'),
    fromHex(fields.data, 'data'),
    [], // access list
  ];
}

const typed = (payload: Uint8Array): Uint8Array => concat([Uint8Array.of(TYPE_EIP1559), payload]);

/** A quantity in RLP: big-endian without leading zeros, zero as the empty string. */
function quantity(value: bigint, name: string): Uint8Array {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_UINT256) throw invalid(`${name} must be a bigint from 0 to 2^256 - 1`);
  if (value === 0n) return new Uint8Array(0);
  const hex = value.toString(16);
  return fromHex(`0x${hex.length % 2 === 0 ? hex : `0${hex}`}`, name);
}

function readQuantity(bytes: Uint8Array, name: string): bigint {
  if (bytes.length > 32) throw invalid(`${name} is longer than 32 bytes`);
  if (bytes[0] === 0) throw invalid(`${name} has a leading zero byte`);
  return bytes.length === 0 ? 0n : BigInt(toHex(bytes));
}

function encodeRlp(item: RlpItem): Uint8Array {
  if (item instanceof Uint8Array) {
    if (item.length === 1 && (item[0] as number) < 0x80) return item;
    return concat([lengthPrefix(item.length, 0x80), item]);
  }
  const payload = concat(item.map(encodeRlp));
  return concat([lengthPrefix(payload.length, 0xc0), payload]);
}

function lengthPrefix(length: number, offset: 0x80 | 0xc0): Uint8Array {
  if (length <= 55) return Uint8Array.of(offset + length);
  const lengthBytes = quantity(BigInt(length), 'length');
  return concat([Uint8Array.of(offset + 55 + lengthBytes.length), lengthBytes]);
}

/** Decodes one item at `start`, refusing every non-canonical form (so one transaction has one encoding). */
function decodeRlp(bytes: Uint8Array, start: number): { item: RlpItem; end: number } {
  const prefix = bytes[start];
  if (prefix === undefined) throw invalid('the encoding ends early');
  if (prefix < 0x80) return { item: bytes.subarray(start, start + 1), end: start + 1 };
  const isList = prefix >= 0xc0;
  const shortBase = isList ? 0xc0 : 0x80;
  let length: number;
  let payloadStart: number;
  if (prefix - shortBase <= 55) {
    length = prefix - shortBase;
    payloadStart = start + 1;
  } else {
    const lengthOfLength = prefix - shortBase - 55;
    const lengthBytes = bytes.subarray(start + 1, start + 1 + lengthOfLength);
    if (lengthBytes.length !== lengthOfLength || lengthBytes[0] === 0) throw invalid('a length is truncated or has a leading zero');
    length = Number(BigInt(toHex(lengthBytes)));
    if (length <= 55) throw invalid('a long length encodes a short item');
    payloadStart = start + 1 + lengthOfLength;
  }
  const end = payloadStart + length;
  if (end > bytes.length) throw invalid('the encoding ends early');
  if (!isList) {
    const value = bytes.subarray(payloadStart, end);
    if (length === 1 && (value[0] as number) < 0x80) throw invalid('a single byte below 0x80 is encoded as a string');
    return { item: value, end };
  }
  const items: RlpItem[] = [];
  let at = payloadStart;
  while (at < end) {
    const next = decodeRlp(bytes, at);
    if (next.end > end) throw invalid('an item runs past its list');
    items.push(next.item);
    at = next.end;
  }
  return { item: items, end };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function fromHex(hex: string, name: string): Uint8Array {
  if (typeof hex !== 'string' || !HEX_BYTES.test(hex)) throw invalid(`${name} must be 0x followed by an even number of hex digits`);
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));
}

const toHex = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString('hex')}`;

const invalid = (reason: string) => chainError('invalid_signed_transaction', `Not a transaction the hot wallet signs: ${reason}.`);
