/**
 * Rows a load needs, in bulk. Channels and tiers come from the fixtures (a few, with their parents);
 * checkouts are inserted by the thousand in one statement each, every one with its own Telegram
 * user, because a user may hold only one open checkout per channel and tier.
 */
import type { Db } from '../../shared/db/index.js';
import { formatPublicId } from '../../shared/ids/index.js';
import { TEST_FIELD_KEY_ENV } from '../../shared/testing/field-keys.js';
import { insertChannel, insertTier } from '../../shared/testing/fixtures.js';

// The fixtures seal owners' emails and wallets; a bench run without field keys of its own uses the tests'.
for (const [name, value] of Object.entries(TEST_FIELD_KEY_ENV)) process.env[name] ??= value;

export interface SeededTier {
  channelId: string;
  tierId: string;
}

/** `count` live channels (instant ETH payouts), each with one 30-day tier at $19.99. */
export async function seedChannels(db: Db, count: number): Promise<SeededTier[]> {
  const tiers: SeededTier[] = [];
  for (let index = 0; index < count; index += 1) {
    const channel = await insertChannel(db);
    const tier = await insertTier(db, { channelId: channel.id, priceCents: 1999n, durationDays: 30 });
    tiers.push({ channelId: channel.id, tierId: tier.id });
  }
  return tiers;
}

/** Telegram user ids for seeded checkouts: above any fixture's random ids' usual range, increasing. */
let nextTelegramUserId = 900_000_000_000;

const BATCH = 5_000;

/**
 * `count` open subscription checkouts spread over `tiers`, each with a new Telegram user; returns
 * their public ids (the NowPayments `order_id` of each).
 */
export async function seedOpenCheckouts(db: Db, tiers: readonly SeededTier[], count: number): Promise<string[]> {
  if (tiers.length === 0) throw new Error('seedOpenCheckouts needs at least one tier');
  const ids: string[] = [];
  for (let done = 0; done < count; done += BATCH) {
    const size = Math.min(BATCH, count - done);
    const firstUser = nextTelegramUserId;
    nextTelegramUserId += size;
    const { rows } = await db.query<{ id: string }>(
      `WITH users AS (
         INSERT INTO telegram_users (id, first_name, language_code, created_at, updated_at)
         SELECT $1::bigint + g, 'Bench', 'en', now(), now() FROM generate_series(0, $2::int - 1) AS g
         RETURNING id)
       INSERT INTO checkouts (kind, telegram_user_id, channel_id, tier_id, price_cents, duration_days, status, created_at, expires_at, updated_at)
       SELECT 'subscription', u.id, ($3::uuid[])[1 + (u.id % $5)::int], ($4::uuid[])[1 + (u.id % $5)::int], 1999, 30, 'open',
              now(), now() + interval '1 day', now()
       FROM users AS u
       RETURNING id`,
      [String(firstUser), size, tiers.map((tier) => tier.channelId), tiers.map((tier) => tier.tierId), tiers.length],
    );
    for (const row of rows) ids.push(formatPublicId('checkout', row.id));
  }
  return ids;
}
