import { Signature, Transaction, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../testing/seeded-random.js';
import { type Eip1559Fields, createHotWallet, parseSignedEip1559, transactionHash } from './index.js';

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_UINT256 = (1n << 256n) - 1n;
const RECIPIENT = '0x2222222222222222222222222222222222222222';

/**
 * The hot wallet signs without ethers (send-transfer's cold start); ethers, the library it replaced,
 * is the reference: for any transaction both must produce the same bytes, or a payout signed by one
 * could not be recognised, re-broadcast or replaced by the other's rules.
 */
describe('EIP-1559 transactions signed by the hot wallet', () => {
  const random = createSeededRandom(1559n);
  const hex = (byteCount: number) => `0x${Array.from({ length: byteCount }, () => random.below(256n).toString(16).padStart(2, '0')).join('')}`;
  const randomKey = () => `0x${(1n + random.below(SECP256K1_ORDER - 1n)).toString(16).padStart(64, '0')}`;
  const randomFields = (): Eip1559Fields => {
    const maxPriorityFeePerGas = random.bigintUpToBits(80);
    return {
      chainId: random.pick([1n, 5n, 137n, 31_337n, 11_155_111n, random.bigintUpToBits(64)]),
      nonce: random.pick([0n, 1n, 127n, 128n, 255n, 256n, random.bigintUpToBits(52)]), // ethers takes a nonce as a JS number
      maxPriorityFeePerGas,
      maxFeePerGas: maxPriorityFeePerGas + random.bigintUpToBits(96),
      gasLimit: random.pick([21_000n, 65_000n, random.bigintUpToBits(40)]),
      to: random.pick([RECIPIENT, hex(20), `0x${'00'.repeat(20)}`]),
      value: random.pick([0n, 1n, 127n, 128n, MAX_UINT256, random.bigintUpToBits(256)]),
      // 0 bytes, one byte (< 0x80 encodes as itself), the short/long length boundary (55/56) and a long length of length 2
      data: random.pick(['0x', '0x00', '0x7f', '0x80', hex(55), hex(56), hex(68), hex(300)]),
    };
  };

  it('signs every transaction to the bytes, hash and address ethers makes, and reads them back', async () => {
    for (let round = 0; round < 300; round++) {
      const key = randomKey();
      const fields = randomFields();
      const wallet = createHotWallet(key);
      const reference = new Wallet(key);
      expect(wallet.address).toBe(reference.address);

      const signed = await wallet.signTransaction(fields);
      const expected = (await reference.signTransaction({ type: 2, ...fields, nonce: Number(fields.nonce) })).toLowerCase();
      expect(signed, `round ${round}`).toBe(expected);
      const parsedByEthers = Transaction.from(signed);
      expect(transactionHash(signed)).toBe(parsedByEthers.hash);
      expect(parsedByEthers.from).toBe(reference.address);

      const parsed = parseSignedEip1559(signed);
      expect(parsed).toEqual({
        ...fields,
        to: fields.to.toLowerCase(),
        signature: { yParity: parsedByEthers.signature?.yParity, r: BigInt(parsedByEthers.signature?.r ?? 0), s: BigInt(parsedByEthers.signature?.s ?? 0) },
        hash: parsedByEthers.hash,
      });
    }
  });

  it('always signs with a low s, and one transaction always to the same bytes (RFC 6979)', async () => {
    const wallet = createHotWallet(randomKey());
    const fields = randomFields();
    const first = await wallet.signTransaction(fields);
    expect(await wallet.signTransaction(fields)).toBe(first);
    for (let round = 0; round < 50; round++) {
      const { signature } = parseSignedEip1559(await wallet.signTransaction({ ...fields, nonce: BigInt(round) }));
      expect(signature.s <= SECP256K1_ORDER / 2n).toBe(true);
    }
  });

  it('keeps the key out of the wallet object, its JSON and its string', () => {
    const key = randomKey();
    const wallet = createHotWallet(key);
    const shown = `${JSON.stringify(wallet)} ${String(wallet)} ${Object.values(wallet).join(' ')}`;
    expect(shown.toLowerCase()).not.toContain(key.slice(2).toLowerCase());
    expect(JSON.parse(JSON.stringify(wallet))).toEqual({ address: wallet.address });
  });

  it.each([
    ['no 0x', '42'.repeat(32)],
    ['63 hex digits', `0x${'4'.repeat(63)}`],
    ['not hex', `0x${'g'.repeat(64)}`],
    ['zero', `0x${'0'.repeat(64)}`],
    ['the curve order', `0x${SECP256K1_ORDER.toString(16)}`],
    ['above the curve order', `0x${'f'.repeat(64)}`],
  ])('refuses a private key with %s as invalid_hot_wallet_key, without echoing it', (_case, key) => {
    let caught: unknown;
    try {
      createHotWallet(key);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'invalid_hot_wallet_key' });
    expect(String((caught as Error).message)).not.toContain(key);
  });

  it.each<[string, Partial<Eip1559Fields>]>([
    ['a negative value', { value: -1n }],
    ['a value above 2^256 - 1', { value: MAX_UINT256 + 1n }],
    ['a recipient that is not 20 bytes', { to: '0x1234' }],
    ['calldata with an odd number of digits', { data: '0xabc' }],
    ['calldata without 0x', { data: 'abcd' }],
    ['a priority fee above the max fee', { maxFeePerGas: 10n, maxPriorityFeePerGas: 11n }],
  ])('refuses to sign %s', async (_case, change) => {
    const wallet = createHotWallet(randomKey());
    await expect(wallet.signTransaction({ ...randomFields(), ...change })).rejects.toMatchObject({ code: 'invalid_signed_transaction' });
  });

  describe('reading stored bytes back refuses what the hot wallet never signs', () => {
    const key = `0x${'42'.repeat(32)}`;
    const reference = new Wallet(key);
    const base = { chainId: 31_337n, nonce: 7n, to: RECIPIENT, value: 5n, data: '0x', gasLimit: 21_000n };
    const ethersBase = { ...base, nonce: 7 };

    it.each<[string, () => Promise<string>]>([
      ['a legacy transaction', () => reference.signTransaction({ ...ethersBase, type: 0, gasPrice: 10n })],
      ['an EIP-2930 (type 1) transaction', () => reference.signTransaction({ ...ethersBase, type: 1, gasPrice: 10n, accessList: [] })],
      [
        'an access list',
        () => reference.signTransaction({ ...ethersBase, type: 2, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, accessList: [{ address: RECIPIENT, storageKeys: [] }] }),
      ],
      ['a trailing byte', async () => `${await createHotWallet(key).signTransaction({ ...base, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n })}00`],
      ['truncated bytes', async () => (await createHotWallet(key).signTransaction({ ...base, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n })).slice(0, -2)],
      ['a nonce with a leading zero byte', async () => withNonceBytes(await createHotWallet(key).signTransaction({ ...base, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n }), '820007')],
      ['a single byte below 0x80 written as a string', async () => withNonceBytes(await createHotWallet(key).signTransaction({ ...base, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n }), '8107')],
      ['an odd number of hex digits', async () => '0x2'],
      ['nothing', async () => '0x'],
    ])('%s', async (_case, make) => {
      const signed = await make();
      expect(() => parseSignedEip1559(signed)).toThrow(expect.objectContaining({ code: 'invalid_signed_transaction' }));
    });

    /** Re-encodes the nonce (field 2, the single byte 0x07) non-canonically, fixing the list's length. */
    function withNonceBytes(signed: string, nonceRlp: string): string {
      const body = signed.slice(4); // after 0x02
      expect(body.slice(0, 2)).toBe('f8'); // a list with a one-byte long length
      const length = Number.parseInt(body.slice(2, 4), 16);
      const rest = body.slice(4);
      expect(rest.slice(0, 6)).toBe('827a69'); // chain id 31337
      expect(rest.slice(6, 8)).toBe('07'); // nonce 7
      const changed = `${rest.slice(0, 6)}${nonceRlp}${rest.slice(8)}`;
      const newLength = length - 1 + nonceRlp.length / 2;
      return `0x02f8${newLength.toString(16).padStart(2, '0')}${changed}`;
    }
  });

  it('gives a signature ethers recovers to the wallet, as a node would', async () => {
    // Recovery hashes the fields as the node reads them: a wrong field order or encoding names another sender.
    const wallet = createHotWallet(`0x${'01'.repeat(32)}`);
    const signed = await wallet.signTransaction({ chainId: 1n, nonce: 0n, maxPriorityFeePerGas: 1n, maxFeePerGas: 2n, gasLimit: 21_000n, to: RECIPIENT, value: 1n, data: '0x' });
    const parsed = Transaction.from(signed);
    expect(parsed.type).toBe(2);
    expect(parsed.from).toBe(wallet.address);
    expect(Signature.from(parsed.signature ?? '').yParity).toBe(parseSignedEip1559(signed).signature.yParity);
  });
});
