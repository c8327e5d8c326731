import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_NOW, randomEvmAddress } from '../testing/fixtures.js';
import { type TestDatabase, createTestDatabase, hasPostgresServer } from '../testing/database.js';
import { allocateNonce } from './wallet-nonces.js';

describe('allocateNonce', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.dispose();
  });

  const take = (address: string, networkNonce: bigint, chainId = 31337n) =>
    database.db.transaction((tx) => allocateNonce(tx, { chainId, address, networkNonce, now: FIXTURE_NOW }));

  it('starts at the network pending nonce and then counts up from the table', async () => {
    const address = randomEvmAddress();
    expect(await take(address, 7n)).toBe(7n);
    expect(await take(address, 7n)).toBe(8n);
    expect(await take(address, 0n)).toBe(9n);
  });

  it('jumps to the network nonce when something outside spent from the wallet', async () => {
    const address = randomEvmAddress();
    expect(await take(address, 0n)).toBe(0n);
    expect(await take(address, 5n)).toBe(5n);
    expect(await take(address, 5n)).toBe(6n);
  });

  it('keys by chain and lower-case address', async () => {
    const address = randomEvmAddress();
    expect(await take(address, 3n, 1n)).toBe(3n);
    expect(await take(address.toUpperCase().replace('0X', '0x'), 0n, 1n)).toBe(4n);
    expect(await take(address, 0n, 5n)).toBe(0n);
  });

  it('gives the nonce back when the signing transaction rolls back', async () => {
    const address = randomEvmAddress();
    expect(await take(address, 0n)).toBe(0n);
    await expect(
      database.db.transaction(async (tx) => {
        await allocateNonce(tx, { chainId: 31337n, address, networkNonce: 0n, now: FIXTURE_NOW });
        throw new Error('crash after allocating');
      }),
    ).rejects.toThrow('crash after allocating');
    expect(await take(address, 0n)).toBe(1n);
  });

  describe.skipIf(!hasPostgresServer)('on PostgreSQL [skipped: needs DATABASE_URL]', () => {
    it('hands twenty concurrent signers distinct consecutive nonces', async () => {
      const address = randomEvmAddress();
      const nonces = await Promise.all(Array.from({ length: 20 }, () => take(address, 0n)));
      expect([...nonces].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
    });
  });
});
