/**
 * What a per-network address parser returns: the normalized address, or a reason written for the channel owner
 * (it reaches the dashboard and the owner's notifications). A reason never repeats the address itself.
 *
 * `isForeign` marks a refusal where the text does not even have this network's shape (wrong prefix, alphabet,
 * length or version), as opposed to one that has the shape but fails a checksum or names a test network. Only a
 * foreign refusal is worth checking against the other networks' formats ("this is a TRON address").
 */
export type AddressCheck =
  | { isValid: true; address: string }
  | { isValid: false; reason: string; isForeign: boolean };

export function acceptAddress(address: string): AddressCheck {
  return { isValid: true, address };
}

/** The text has this network's shape but is wrong (checksum, test network, unusable account). */
export function refuseAddress(reason: string): AddressCheck {
  return { isValid: false, reason, isForeign: false };
}

/** The text does not have this network's shape at all; it may be another network's address. */
export function refuseForeignAddress(reason: string): AddressCheck {
  return { isValid: false, reason, isForeign: true };
}

/** The advice that ends every "you probably mistyped it" reason. */
export const COPY_AGAIN = 'Copy the address again from your wallet instead of typing it.';

/** "Character 7 ('O')", to start a sentence; positions count from 1, as people do. */
export function describeCharacterAt(text: string, index: number): string {
  return `Character ${index + 1} ('${text.charAt(index)}')`;
}

/** True when every byte is zero: the "empty" account of a network, whose key nobody holds. */
export function isAllZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}
