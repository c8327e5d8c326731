import {
  acceptAddress,
  COPY_AGAIN,
  describeCharacterAt,
  isAllZero,
  refuseAddress,
  refuseForeignAddress,
  type AddressCheck,
} from './address-check.js';
import { decodeBase58, decodeBase58Check } from './base58.js';
import { decodeSegwitAddress } from './segwit-address.js';

/** The address rules of a Bitcoin-like chain, main network only. */
export type UtxoChain = {
  /** 'Bitcoin', as owners know it. */
  name: string;
  /** Base58Check version bytes of payable addresses (P2PKH, P2SH), followed by a 20-byte hash. */
  base58Versions: readonly number[];
  /** Version bytes of the chain's test networks: refused with a reason of their own. */
  testnetBase58Versions: readonly number[];
  /** Versions the chain still parses but we refuse, with the reason why. */
  refusedBase58Versions: ReadonlyMap<number, string>;
  /** Human-readable part of its segwit addresses (`bc`), or null when the chain has no segwit. */
  segwitHrp: string | null;
  /** Segwit prefixes of test networks and regtest (`tb`, `bcrt`). */
  testnetSegwitHrps: readonly string[];
  /** Prefixes of address kinds that are not plain segwit (Litecoin MWEB), refused with the reason given. */
  refusedPrefixes: ReadonlyMap<string, string>;
  /** How a main-network address starts: "1, 3 or bc1". */
  hint: string;
};

const HASH_PAYLOAD_BYTES = 21;
/** Taproot (BIP-341) outputs are witness version 1 with a 32-byte key. */
const TAPROOT_PROGRAM_BYTES = 32;

export const BITCOIN: UtxoChain = {
  name: 'Bitcoin',
  base58Versions: [0x00, 0x05],
  testnetBase58Versions: [0x6f, 0xc4],
  refusedBase58Versions: new Map(),
  segwitHrp: 'bc',
  testnetSegwitHrps: ['tb', 'bcrt'],
  refusedPrefixes: new Map(),
  hint: '1, 3 or bc1',
};

export const LITECOIN: UtxoChain = {
  name: 'Litecoin',
  base58Versions: [0x30, 0x32],
  testnetBase58Versions: [0x6f, 0x3a, 0xc4],
  refusedBase58Versions: new Map([
    [
      0x05,
      'Litecoin addresses starting with 3 use an old format that Bitcoin shares, so a Bitcoin address can pass for one and the coins would be lost. Ask your Litecoin wallet for its address starting with M or ltc1.',
    ],
  ]),
  segwitHrp: 'ltc',
  testnetSegwitHrps: ['tltc', 'rltc'],
  refusedPrefixes: new Map([
    ['ltcmweb1', 'Litecoin MWEB (private) addresses cannot receive exchange payouts. Use an address starting with L, M or ltc1.'],
  ]),
  hint: 'L, M or ltc1',
};

export const DOGECOIN: UtxoChain = {
  name: 'Dogecoin',
  base58Versions: [0x1e, 0x16],
  testnetBase58Versions: [0x71, 0xc4],
  refusedBase58Versions: new Map(),
  segwitHrp: null,
  testnetSegwitHrps: [],
  refusedPrefixes: new Map(),
  hint: 'D, A or 9',
};

/**
 * A main-network address of a Bitcoin-like chain: Base58Check P2PKH/P2SH (a version byte, a 20-byte hash and a
 * double-SHA-256 checksum), or native segwit: version 0 (20- or 32-byte program, bech32) or Taproot (version 1,
 * 32 bytes, bech32m). Later witness versions are valid on chain but refused: nothing spends them yet. Segwit
 * addresses come back lowercase; base58 ones unchanged.
 */
export function parseUtxoAddress(address: string, chain: UtxoChain): AddressCheck {
  const lower = address.toLowerCase();
  for (const [prefix, reason] of chain.refusedPrefixes) if (lower.startsWith(prefix)) return refuseAddress(reason);
  if (chain.segwitHrp !== null && lower.startsWith(`${chain.segwitHrp}1`)) return parseSegwit(address, chain);
  if (chain.testnetSegwitHrps.some((hrp) => lower.startsWith(`${hrp}1`))) return refuseTestnet(chain);
  return parseBase58(address, chain);
}

function parseBase58(address: string, chain: UtxoChain): AddressCheck {
  const shape = `A ${chain.name} address starts with ${chain.hint}.`;
  if (address.length < 26 || address.length > 35) return refuseForeignAddress(`This is not a ${chain.name} address. ${shape}`);
  const raw = decodeBase58(address);
  if (!raw.isValid) {
    return refuseForeignAddress(
      `${describeCharacterAt(address, raw.badCharacterIndex)} cannot appear in a ${chain.name} address (they never contain 0, O, I or l). ${COPY_AGAIN}`,
    );
  }
  if (raw.bytes.length !== HASH_PAYLOAD_BYTES + 4) {
    return refuseForeignAddress(`This is not a complete ${chain.name} address: characters are missing or extra. ${COPY_AGAIN}`);
  }
  const decoded = decodeBase58Check(address);
  if (!decoded.isValid) {
    return refuseAddress(`This ${chain.name} address fails its checksum, so a character is probably wrong. ${COPY_AGAIN}`);
  }
  const { payload } = decoded;
  const version = payload[0] ?? -1;
  if (chain.testnetBase58Versions.includes(version)) return refuseTestnet(chain);
  const refusal = chain.refusedBase58Versions.get(version);
  if (refusal !== undefined) return refuseAddress(refusal);
  if (!chain.base58Versions.includes(version)) return refuseForeignAddress(`This is not a ${chain.name} address. ${shape}`);
  if (isAllZero(payload.subarray(1))) return refuseAddress(burnReason(chain));
  return acceptAddress(address);
}

function parseSegwit(address: string, chain: UtxoChain): AddressCheck {
  const decoded = decodeSegwitAddress(address);
  if (!decoded.isValid) {
    switch (decoded.problem) {
      case 'mixed_case':
        return refuseAddress(`This ${chain.name} address mixes capital and small letters, which its format forbids. ${COPY_AGAIN}`);
      case 'bad_character':
        return refuseAddress(
          `${describeCharacterAt(address, decoded.badCharacterIndex ?? 0)} cannot appear in a ${chain.name} ${chain.segwitHrp}1 address (they never contain 1, b, i or o after the prefix). ${COPY_AGAIN}`,
        );
      case 'too_long':
        return refuseAddress(`This ${chain.name} address is longer than any ${chain.segwitHrp}1 address can be. ${COPY_AGAIN}`);
      case 'bad_version':
      case 'bad_program_length':
        return refuseAddress(`This is not a valid ${chain.name} address: its length does not match its type. ${COPY_AGAIN}`);
      case 'bad_checksum':
      case 'wrong_checksum_variant':
        return refuseAddress(`This ${chain.name} address fails its checksum, so a character is probably wrong. ${COPY_AGAIN}`);
    }
  }
  const isV0 = decoded.version === 0;
  const isTaproot = decoded.version === 1 && decoded.program.length === TAPROOT_PROGRAM_BYTES;
  if (!isV0 && !isTaproot) {
    return refuseAddress(
      `This ${chain.name} address uses a segwit version that wallets cannot spend from yet. Use an address starting with ${chain.segwitHrp}1q or ${chain.segwitHrp}1p.`,
    );
  }
  if (isAllZero(decoded.program)) return refuseAddress(burnReason(chain));
  return acceptAddress(decoded.address);
}

function refuseTestnet(chain: UtxoChain): AddressCheck {
  return refuseAddress(
    `This is a ${chain.name} test-network address; payouts are sent on the ${chain.name} main network. Use a main-network address (it starts with ${chain.hint}).`,
  );
}

function burnReason(chain: UtxoChain): string {
  return `This ${chain.name} address belongs to an all-zero key that nobody holds; coins sent there are lost. Enter your own wallet address.`;
}
