import { keccak_256 } from '@noble/hashes/sha3';
import { acceptAddress, COPY_AGAIN, refuseAddress, refuseForeignAddress, describeCharacterAt, type AddressCheck } from './address-check.js';

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;
/** The conventional burn address: tokens sent here are destroyed on purpose. */
const DEAD_ADDRESS = '0x000000000000000000000000000000000000dEaD';

/**
 * An EVM account address (Ethereum, Base, BNB Smart Chain…): `0x` + 40 hex digits. A mixed-case address carries an
 * EIP-55 checksum and must match it; an all-lowercase or all-uppercase one has none and is accepted. Returns the
 * EIP-55 checksummed form. The zero address and the `…dEaD` burn address are refused.
 *
 * The same address is valid on every EVM chain, so the format cannot tell Ethereum from BNB Smart Chain: the owner's
 * choice of network is what decides where the coins go.
 */
export function parseEvmAddress(address: string, networkName: string): AddressCheck {
  if (!EVM_ADDRESS.test(address)) return describeShapeProblem(address, networkName);
  const body = address.slice(2);
  const checksummed = eip55Checksummed(body);
  const isMixedCase = body !== body.toLowerCase() && body !== body.toUpperCase();
  if (isMixedCase && checksummed !== address) {
    return refuseAddress(
      `This ${networkName} address fails its EIP-55 checksum (the pattern of capital letters), so a character is probably wrong. ${COPY_AGAIN}`,
    );
  }
  if (checksummed === ZERO_ADDRESS) {
    return refuseAddress(`This is the ${networkName} zero address, which nobody owns; coins sent there are lost. Enter your own wallet address.`);
  }
  if (checksummed === DEAD_ADDRESS) {
    return refuseAddress(`This is the ${networkName} burn address; coins sent there are destroyed. Enter your own wallet address.`);
  }
  return acceptAddress(checksummed);
}

/**
 * EIP-55: a hex digit is upper case where the same position of keccak256(lower-case hex) is 8 or
 * more. (With @noble/hashes, ethers' own hash: the dashboard and the payout checks need no chain
 * library, and load faster for it.)
 */
export function eip55Checksummed(hex40: string): string {
  const lower = hex40.toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(lower));
  let out = '0x';
  for (let index = 0; index < 40; index++) {
    const byte = hash[index >> 1] as number;
    const nibble = index % 2 === 0 ? byte >> 4 : byte & 0x0f;
    const character = lower[index] as string;
    out += nibble >= 8 ? character.toUpperCase() : character;
  }
  return out;
}

function describeShapeProblem(address: string, networkName: string): AddressCheck {
  const shape = `${networkName} addresses are 0x followed by 40 characters 0-9 and a-f.`;
  if (address.startsWith('0X')) return refuseAddress(`${shape} Write the prefix as a lowercase 0x.`);
  if (!address.startsWith('0x')) {
    return /^[0-9a-fA-F]{40}$/.test(address)
      ? refuseAddress(`${shape} This one lacks the 0x prefix; copy the full address from your wallet.`)
      : refuseForeignAddress(`This is not a valid ${networkName} address. ${shape}`);
  }
  const body = address.slice(2);
  const badIndex = body.search(/[^0-9a-fA-F]/);
  if (badIndex >= 0) {
    return refuseAddress(`${shape} ${describeCharacterAt(address, badIndex + 2)} is not one of them. ${COPY_AGAIN}`);
  }
  return refuseAddress(`${shape} This one has ${body.length}, so some are missing or extra. ${COPY_AGAIN}`);
}
