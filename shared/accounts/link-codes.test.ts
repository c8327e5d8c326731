import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertAccount } from '../testing/fixtures.js';
import { hashLinkCode, issueLinkCode, LINK_CODE_PATTERN, redeemLinkCode } from './link-codes.js';

const MINUTE_MS = 60_000;

let testDb: TestDatabase;
let clock: FakeClock;
let nextUserId = 640_000_000;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
});
afterAll(() => testDb?.dispose());

const deps = () => ({ db: testDb.db, clock });
const user = (id = nextUserId++) => ({ id: BigInt(id), username: `owner_${id}`, firstName: 'Owner', languageCode: 'en' });

async function newCode(accountId?: string) {
  const account = accountId ?? (await insertAccount(testDb.db)).id;
  const issued = await testDb.db.transaction((tx) => issueLinkCode(tx, { accountId: account, now: clock.now() }));
  return { accountId: account, ...issued };
}

async function linkOf(accountId: string): Promise<{ telegram_user_id: bigint | null; telegram_linked_at: Date | null }> {
  const { rows } = await testDb.db.query<{ telegram_user_id: bigint | null; telegram_linked_at: Date | null }>(
    'SELECT telegram_user_id, telegram_linked_at FROM accounts WHERE id = $1',
    [accountId],
  );
  const row = rows[0]!;
  return { telegram_user_id: row.telegram_user_id === null ? null : BigInt(row.telegram_user_id), telegram_linked_at: row.telegram_linked_at };
}

describe('hashLinkCode', () => {
  it('is the 32-byte SHA-256 of the code text', () => {
    expect(hashLinkCode('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('issueLinkCode', () => {
  it('makes a code that fits a start parameter and stores only its hash', async () => {
    const issued = await newCode();
    expect(`link_${issued.code}`).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(issued.code).toMatch(LINK_CODE_PATTERN);
    const { rows } = await testDb.db.query<{ code_hash: Uint8Array }>('SELECT code_hash FROM telegram_link_codes WHERE id = $1', [issued.id]);
    expect(Buffer.from(rows[0]!.code_hash).equals(hashLinkCode(issued.code))).toBe(true);
  });

  it('revokes the live code of the account when a new one is issued', async () => {
    const first = await newCode();
    const second = await newCode(first.accountId);
    expect(await redeemLinkCode(deps(), { code: first.code, user: user() })).toEqual({ outcome: 'refused', reason: 'used' });
    expect(await redeemLinkCode(deps(), { code: second.code, user: user() })).toMatchObject({ outcome: 'linked', accountId: first.accountId });
  });
});

describe('redeemLinkCode', () => {
  it('links the account to the Telegram user and marks the code used by them', async () => {
    const issued = await newCode();
    const owner = user();
    expect(await redeemLinkCode(deps(), { code: issued.code, user: owner })).toMatchObject({ outcome: 'linked', accountId: issued.accountId });
    expect(await linkOf(issued.accountId)).toEqual({ telegram_user_id: owner.id, telegram_linked_at: clock.now() });
    const { rows } = await testDb.db.query<{ used_at: Date; used_by_telegram_user_id: bigint }>(
      'SELECT used_at, used_by_telegram_user_id FROM telegram_link_codes WHERE id = $1',
      [issued.id],
    );
    expect(rows.map((row) => [row.used_at, BigInt(row.used_by_telegram_user_id)])).toEqual([[clock.now(), owner.id]]);
  });

  it('refuses the same code a second time, even for the same user', async () => {
    const issued = await newCode();
    const owner = user();
    await redeemLinkCode(deps(), { code: issued.code, user: owner });
    expect(await redeemLinkCode(deps(), { code: issued.code, user: owner })).toEqual({ outcome: 'refused', reason: 'used' });
    expect(await redeemLinkCode(deps(), { code: issued.code, user: user() })).toEqual({ outcome: 'refused', reason: 'used' });
    expect((await linkOf(issued.accountId)).telegram_user_id).toBe(owner.id);
  });

  it('refuses an expired code and changes nothing', async () => {
    const issued = await newCode();
    clock.advance(16 * MINUTE_MS);
    const stranger = user();
    expect(await redeemLinkCode(deps(), { code: issued.code, user: stranger })).toEqual({ outcome: 'refused', reason: 'expired' });
    expect((await linkOf(issued.accountId)).telegram_user_id).toBeNull();
    const { rows } = await testDb.db.query('SELECT 1 FROM telegram_users WHERE id = $1', [stranger.id]);
    expect(rows).toEqual([]);
  });

  it.each([
    ['a well-formed code nobody issued', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a malformed code', 'not a code!'],
    ['an empty code', ''],
  ])('refuses %s as unknown', async (_, code) => {
    expect(await redeemLinkCode(deps(), { code, user: user() })).toEqual({ outcome: 'refused', reason: 'unknown' });
  });

  it('refuses a code of a disabled account', async () => {
    const issued = await newCode();
    await testDb.db.query(`UPDATE accounts SET status = 'disabled', disabled_at = $2 WHERE id = $1`, [issued.accountId, clock.now()]);
    expect(await redeemLinkCode(deps(), { code: issued.code, user: user() })).toEqual({ outcome: 'refused', reason: 'account_inactive' });
  });

  it('refuses a Telegram user already linked to another account, leaving the code usable', async () => {
    const owner = user();
    await redeemLinkCode(deps(), { code: (await newCode()).code, user: owner });
    const other = await newCode();
    expect(await redeemLinkCode(deps(), { code: other.code, user: owner })).toEqual({ outcome: 'refused', reason: 'telegram_taken' });
    expect(await redeemLinkCode(deps(), { code: other.code, user: user() })).toMatchObject({ outcome: 'linked' });
  });

  it('moves an account to a new Telegram user with a fresh code', async () => {
    const first = await newCode();
    await redeemLinkCode(deps(), { code: first.code, user: user() });
    const replacement = user();
    const second = await newCode(first.accountId);
    expect(await redeemLinkCode(deps(), { code: second.code, user: replacement })).toMatchObject({ outcome: 'linked' });
    expect((await linkOf(first.accountId)).telegram_user_id).toBe(replacement.id);
  });

  it('lets exactly one of two concurrent redemptions of one code win', async () => {
    const issued = await newCode();
    const [a, b] = [user(), user()];
    const outcomes = await Promise.all([redeemLinkCode(deps(), { code: issued.code, user: a }), redeemLinkCode(deps(), { code: issued.code, user: b })]);
    expect(outcomes.filter((outcome) => outcome.outcome === 'linked')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.outcome === 'refused')).toEqual([{ outcome: 'refused', reason: 'used' }]);
    expect([a.id, b.id]).toContain((await linkOf(issued.accountId)).telegram_user_id);
  });
});
