import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSETS } from '../../shared/money/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';

describe('assets reference table', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  it('holds exactly the assets of shared/money with the same decimals and networks', async () => {
    const { rows } = await testDb.db.query<{ code: string; symbol: string; decimals: number; network: string | null }>(
      'SELECT code, symbol, decimals, network FROM assets ORDER BY code',
    );
    const fromCode = Object.entries(ASSETS)
      .map(([code, asset]) => ({ code, symbol: asset.symbol, decimals: asset.decimals, network: 'network' in asset ? (asset.network ?? null) : null }))
      .sort((a, b) => a.code.localeCompare(b.code));
    expect(rows).toEqual(fromCode);
  });
});
