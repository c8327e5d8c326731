import * as z from 'zod';
import { recordAuditEvent } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Queryable, Tx } from '../db/index.js';
import { formatPublicId, parsePublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import { formatUsdCents, parseUsdCents } from '../money/index.js';
import { subscribeLink } from '../telegram/deep-links.js';
import { userText } from '../user-text/index.js';
import { promoCodeError } from './errors.js';
import { PROMO_CODE_PATTERN } from './pricing.js';

/** What the dashboard's promo code functions need. */
export interface PromoCodeDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** The bot's username, for each code's link; without it `link` is null. */
  botUsername?: string | undefined;
}

/** Who asks: the authenticated account, and the request's id and client IP for the audit trail. */
export interface PromoCodeActor {
  accountId: string;
  requestId?: string;
  ip?: string | undefined;
}

const TIMESTAMP_MESSAGE = 'must be an ISO-8601 date-time with a zone, e.g. 2026-03-01T00:00:00Z';
const Timestamp = z.iso.datetime({ offset: true, message: TIMESTAMP_MESSAGE }).refine((text) => !text.startsWith('0000'), TIMESTAMP_MESSAGE);
const AMOUNT_MESSAGE = 'must be a USD amount from 0.01 to 100000.00, e.g. "5.00"';
const UsdAmount = userText(z.string().max(12, AMOUNT_MESSAGE)).refine((text) => /^\d{1,6}(\.\d{1,2})?$/.test(text) && parseUsdCents(text) > 0n && parseUsdCents(text) <= 10_000_000n, AMOUNT_MESSAGE);

const Terms = {
  percentOffBps: z.number().int('must be a whole number of basis points').min(1).max(10_000).nullable().optional()
    .meta({ description: 'Percent off in basis points (1500 = 15 %); set this or amountOff' }),
  amountOff: UsdAmount.nullable().optional().meta({ description: 'USD taken off, a decimal string ("5.00"); set this or percentOffBps' }),
  validFrom: Timestamp.nullable().optional().meta({ description: 'First moment the code works (inclusive); null: at once' }),
  validUntil: Timestamp.nullable().optional().meta({ description: 'The code stops working at this moment (exclusive); null: never' }),
  maxUses: z.number().int().min(1).max(1_000_000).nullable().optional().meta({ description: 'Paid uses in total (null: no limit)' }),
  maxUsesPerUser: z.number().int().min(1).max(1_000).nullable().optional().meta({ description: 'Paid uses per Telegram user (null: no limit)' }),
  tierNumbers: z.array(z.number().int().min(1).max(3)).max(3).optional().meta({ description: 'Only these tiers; empty: every tier' }),
};

function checkTerms(input: { percentOffBps?: number | null; amountOff?: string | null; validFrom?: string | null; validUntil?: string | null }, ctx: z.RefinementCtx, isCreate: boolean): void {
  const hasPercent = input.percentOffBps !== undefined && input.percentOffBps !== null;
  const hasAmount = input.amountOff !== undefined && input.amountOff !== null;
  if (hasPercent && hasAmount) ctx.addIssue({ code: 'custom', path: ['amountOff'], message: 'set either percentOffBps or amountOff, not both' });
  if (isCreate && !hasPercent && !hasAmount) ctx.addIssue({ code: 'custom', path: ['percentOffBps'], message: 'set percentOffBps or amountOff' });
  if (input.validFrom && input.validUntil && new Date(input.validUntil) <= new Date(input.validFrom)) {
    ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'must be after validFrom' });
  }
}

export const PromoCodeCreateSchema = z
  .object({
    code: userText(z.string().max(32, 'must be 3 to 32 characters'))
      .refine((text) => PROMO_CODE_PATTERN.test(text.toUpperCase()), 'must be 3 to 32 letters, digits, _ or -')
      .meta({ description: 'What subscribers type, case-insensitive (stored upper-case)', example: 'SPRING25' }),
    ...Terms,
  })
  .superRefine((input, ctx) => checkTerms(input, ctx, true));
export type PromoCodeCreate = z.infer<typeof PromoCodeCreateSchema>;

/** Fields given replace the stored ones; the code itself cannot change (links carry it). */
export const PromoCodeUpdateSchema = z.object(Terms).superRefine((input, ctx) => checkTerms(input, ctx, false));
export type PromoCodeUpdate = z.infer<typeof PromoCodeUpdateSchema>;

const Money = z.string().meta({ description: 'USD, decimal string', example: '12.50' });

export const PromoCodeResourceSchema = z.object({
  id: z.string().meta({ example: 'pc_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
  channelId: z.string(),
  code: z.string(),
  status: z.enum(['active', 'archived']),
  percentOffBps: z.number().int().nullable(),
  amountOff: Money.nullable(),
  validFrom: z.string().nullable(),
  validUntil: z.string().nullable(),
  maxUses: z.number().int().nullable(),
  maxUsesPerUser: z.number().int().nullable(),
  tierNumbers: z.array(z.number().int()),
  link: z.string().nullable().meta({
    description: 'The channel’s subscribe link carrying the code (applied to the tier the subscriber picks); null when the bot’s username is unknown',
    example: 'https://t.me/PayGatePrimeBot?start=c_ch_Ehz5dX8hQSeMc0Q8m0Q2Xw_pSPRING25',
  }),
  createdAt: z.string(),
  figures: z.object({
    checkouts: z.number().int().meta({ description: 'Checkouts opened with the code' }),
    heldUses: z.number().int().meta({ description: 'Uses held by open checkouts (released if they expire unpaid)' }),
    redemptions: z.number().int().meta({ description: 'Paid payments at the discounted price' }),
    revenue: Money.meta({ description: 'What those payments charged (before fees)' }),
    discountGiven: Money.meta({ description: 'List price minus charged price, summed over redemptions' }),
  }),
});
export type PromoCodeResource = z.infer<typeof PromoCodeResourceSchema>;
export const PromoCodeListResourceSchema = z.object({ promoCodes: z.array(PromoCodeResourceSchema) });

interface ResourceRow {
  id: string;
  channel_id: string;
  code: string;
  status: 'active' | 'archived';
  percent_off_bps: number | null;
  amount_off_cents: bigint | null;
  valid_from: Date | null;
  valid_until: Date | null;
  max_uses: number | null;
  max_uses_per_user: number | null;
  tier_numbers: number[];
  created_at: Date;
  checkouts: bigint;
  held_uses: bigint;
  redemptions: bigint;
  revenue_cents: bigint;
  discount_cents: bigint;
}

const RESOURCE_SELECT = `
  SELECT p.id, p.channel_id, p.code, p.status, p.percent_off_bps, p.amount_off_cents, p.valid_from, p.valid_until, p.max_uses,
         p.max_uses_per_user, p.created_at,
         ARRAY(SELECT t.tier_number FROM promo_code_tiers pt JOIN channel_tiers t ON t.id = pt.tier_id
               WHERE pt.promo_code_id = p.id ORDER BY t.tier_number) AS tier_numbers,
         (SELECT count(*) FROM checkouts k WHERE k.promo_code_id = p.id) AS checkouts,
         (SELECT count(*) FROM promo_code_reservations r WHERE r.promo_code_id = p.id AND r.status = 'reserved') AS held_uses,
         x.redemptions, x.revenue_cents, x.discount_cents
  FROM promo_codes p
  CROSS JOIN LATERAL (SELECT count(*) AS redemptions, COALESCE(sum(d.price_cents), 0)::bigint AS revenue_cents,
                             COALESCE(sum(d.list_price_cents - d.price_cents), 0)::bigint AS discount_cents
                      FROM promo_redemptions d WHERE d.promo_code_id = p.id) x`;

function toResource(row: ResourceRow, botUsername: string | undefined): PromoCodeResource {
  return {
    id: formatPublicId('promoCode', row.id),
    channelId: formatPublicId('channel', row.channel_id),
    code: row.code,
    status: row.status,
    percentOffBps: row.percent_off_bps,
    amountOff: row.amount_off_cents === null ? null : formatUsdCents(BigInt(row.amount_off_cents)),
    validFrom: row.valid_from?.toISOString() ?? null,
    validUntil: row.valid_until?.toISOString() ?? null,
    maxUses: row.max_uses,
    maxUsesPerUser: row.max_uses_per_user,
    tierNumbers: row.tier_numbers.map(Number),
    link: botUsername === undefined ? null : subscribeLink(botUsername, row.channel_id, undefined, row.code),
    createdAt: row.created_at.toISOString(),
    figures: {
      checkouts: Number(row.checkouts),
      heldUses: Number(row.held_uses),
      redemptions: Number(row.redemptions),
      revenue: formatUsdCents(BigInt(row.revenue_cents)),
      discountGiven: formatUsdCents(BigInt(row.discount_cents)),
    },
  };
}

function channelNotFound() {
  return promoCodeError('channel_not_found', 'No channel with this id exists in your account.');
}

/** The account's live channel (uuid), locked against concurrent edits when `lock`. 404 for another account's. */
async function ownedChannelId(q: Queryable, accountId: string, channelPublicId: string): Promise<string> {
  let channelId: string;
  try {
    channelId = parsePublicId('channel', channelPublicId);
  } catch {
    throw channelNotFound();
  }
  const { rows } = await q.query<{ id: string }>('SELECT id FROM channels WHERE id = $1 AND owner_account_id = $2 AND deleted_at IS NULL', [channelId, accountId]);
  if (!rows[0]) throw channelNotFound();
  return channelId;
}

async function ownedCode(q: Queryable, channelId: string, promoCodePublicId: string, lock: boolean): Promise<{ id: string; status: string }> {
  let id: string;
  try {
    id = parsePublicId('promoCode', promoCodePublicId);
  } catch {
    throw promoCodeError('promo_code_not_found', 'No promo code with this id exists in this channel.');
  }
  const { rows } = await q.query<{ id: string; status: string }>(
    `SELECT id, status FROM promo_codes WHERE id = $1 AND channel_id = $2${lock ? ' FOR NO KEY UPDATE' : ''}`,
    [id, channelId],
  );
  if (!rows[0]) throw promoCodeError('promo_code_not_found', 'No promo code with this id exists in this channel.');
  return rows[0];
}

async function readCode(deps: PromoCodeDeps, id: string): Promise<PromoCodeResource> {
  const { rows } = await deps.db.query<ResourceRow>(`${RESOURCE_SELECT} WHERE p.id = $1`, [id]);
  return toResource(rows[0] as ResourceRow, deps.botUsername);
}

/** Tier numbers → the channel's tier ids. @throws `validation_failed` naming `tierNumbers` for a tier the channel lacks. */
async function tierIdsOf(tx: Tx, channelId: string, tierNumbers: readonly number[]): Promise<string[]> {
  const unique = [...new Set(tierNumbers)];
  if (unique.length === 0) return [];
  const { rows } = await tx.query<{ id: string; tier_number: number }>(
    'SELECT id, tier_number FROM channel_tiers WHERE channel_id = $1 AND tier_number = ANY($2::int[])',
    [channelId, unique],
  );
  const missing = unique.filter((number) => !rows.some((row) => Number(row.tier_number) === number));
  if (missing.length > 0) {
    throw promoCodeError('validation_failed', 'The request is not valid', { fields: { tierNumbers: `this channel has no tier ${missing.join(', ')}` } });
  }
  return rows.map((row) => row.id);
}

async function replaceTiers(tx: Tx, promoCodeId: string, channelId: string, tierIds: readonly string[]): Promise<void> {
  await tx.query('DELETE FROM promo_code_tiers WHERE promo_code_id = $1', [promoCodeId]);
  if (tierIds.length === 0) return;
  await tx.query(
    'INSERT INTO promo_code_tiers (promo_code_id, channel_id, tier_id) SELECT $1, $2, unnest($3::uuid[])',
    [promoCodeId, channelId, tierIds],
  );
}

const cents = (amount: string | null | undefined) => (amount === undefined ? undefined : amount === null ? null : parseUsdCents(amount));

/** The channel's codes, newest first, with their figures. */
export async function listPromoCodes(deps: PromoCodeDeps, actor: PromoCodeActor, channelPublicId: string): Promise<{ promoCodes: PromoCodeResource[] }> {
  const channelId = await ownedChannelId(deps.db, actor.accountId, channelPublicId);
  const { rows } = await deps.db.query<ResourceRow>(`${RESOURCE_SELECT} WHERE p.channel_id = $1 ORDER BY p.created_at DESC, p.id`, [channelId]);
  return { promoCodes: rows.map((row) => toResource(row, deps.botUsername)) };
}

/** One of the channel's codes with its figures. */
export async function retrievePromoCode(deps: PromoCodeDeps, actor: PromoCodeActor, channelPublicId: string, promoCodePublicId: string): Promise<PromoCodeResource> {
  const channelId = await ownedChannelId(deps.db, actor.accountId, channelPublicId);
  const code = await ownedCode(deps.db, channelId, promoCodePublicId, false);
  return readCode(deps, code.id);
}

/** @throws `promo_code_taken` (409) when the channel already has the code (archived ones included). */
export async function createPromoCode(deps: PromoCodeDeps, actor: PromoCodeActor, channelPublicId: string, input: PromoCodeCreate): Promise<PromoCodeResource> {
  const now = deps.clock.now();
  const code = input.code.toUpperCase();
  const id = await deps.db.transaction(async (tx) => {
    const channelId = await ownedChannelId(tx, actor.accountId, channelPublicId);
    const tierIds = await tierIdsOf(tx, channelId, input.tierNumbers ?? []);
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO promo_codes (channel_id, code, percent_off_bps, amount_off_cents, valid_from, valid_until, max_uses, max_uses_per_user, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (channel_id, code) DO NOTHING RETURNING id`,
      [channelId, code, input.percentOffBps ?? null, cents(input.amountOff)?.toString() ?? null, input.validFrom ?? null, input.validUntil ?? null,
        input.maxUses ?? null, input.maxUsesPerUser ?? null, now],
    );
    const created = rows[0];
    if (!created) throw promoCodeError('promo_code_taken', 'This channel already has this promo code (perhaps archived); choose another', { fields: { code: 'already used in this channel' } });
    await replaceTiers(tx, created.id, channelId, tierIds);
    await recordAuditEvent(tx, {
      occurredAt: now,
      actor: { type: 'account', id: actor.accountId },
      action: 'promo_code.created',
      subject: { type: 'promo_code', id: created.id },
      details: { channelId, code, percentOffBps: input.percentOffBps ?? null, amountOff: input.amountOff ?? null },
      requestId: actor.requestId,
      ip: actor.ip,
    });
    return created.id;
  });
  deps.logger.info('promo_code.created', { promoCodeId: id, accountId: actor.accountId });
  return readCode(deps, id);
}

/**
 * Changes a code's terms. They apply to checkouts opened from now on; checkouts already open keep
 * the price they were given. @throws `promo_code_archived` (409) for an archived code.
 */
export async function updatePromoCode(
  deps: PromoCodeDeps,
  actor: PromoCodeActor,
  channelPublicId: string,
  promoCodePublicId: string,
  input: PromoCodeUpdate,
): Promise<PromoCodeResource> {
  const now = deps.clock.now();
  const id = await deps.db.transaction(async (tx) => {
    const channelId = await ownedChannelId(tx, actor.accountId, channelPublicId);
    const code = await ownedCode(tx, channelId, promoCodePublicId, true);
    if (code.status !== 'active') throw promoCodeError('promo_code_archived', 'An archived promo code cannot be changed');
    // The merged window must still be a window (the table's CHECK would otherwise answer a 500).
    const { rows: current } = await tx.query<{ valid_from: Date | null; valid_until: Date | null }>('SELECT valid_from, valid_until FROM promo_codes WHERE id = $1', [code.id]);
    const from = input.validFrom === undefined ? current[0]?.valid_from ?? null : input.validFrom === null ? null : new Date(input.validFrom);
    const until = input.validUntil === undefined ? current[0]?.valid_until ?? null : input.validUntil === null ? null : new Date(input.validUntil);
    if (from !== null && until !== null && until <= from) {
      throw promoCodeError('validation_failed', 'The request is not valid', { fields: { validUntil: 'must be after validFrom' } });
    }
    // Choosing one kind of discount clears the other.
    const percent = input.percentOffBps ?? (input.amountOff ? null : undefined);
    const amount = cents(input.amountOff) ?? (input.percentOffBps ? null : undefined);
    const candidates: [string, string | number | null | undefined][] = [
      ['percent_off_bps', percent],
      ['amount_off_cents', amount === undefined || amount === null ? amount : amount.toString()],
      ['valid_from', input.validFrom],
      ['valid_until', input.validUntil],
      ['max_uses', input.maxUses],
      ['max_uses_per_user', input.maxUsesPerUser],
    ];
    const sets = candidates.filter((entry) => entry[1] !== undefined);
    const assignments = sets.map(([column], index) => `${column} = $${index + 3}`);
    await tx.query(`UPDATE promo_codes SET ${[...assignments, 'updated_at = $2'].join(', ')} WHERE id = $1`, [code.id, now, ...sets.map(([, value]) => value)]);
    if (input.tierNumbers !== undefined) await replaceTiers(tx, code.id, channelId, await tierIdsOf(tx, channelId, input.tierNumbers));
    await recordAuditEvent(tx, {
      occurredAt: now,
      actor: { type: 'account', id: actor.accountId },
      action: 'promo_code.updated',
      subject: { type: 'promo_code', id: code.id },
      details: { channelId, fields: Object.keys(input).sort() },
      requestId: actor.requestId,
      ip: actor.ip,
    });
    return code.id;
  });
  return readCode(deps, id);
}

/** Archives a code for good: never offered again; its figures stay. Archiving twice answers the archived code. */
export async function archivePromoCode(deps: PromoCodeDeps, actor: PromoCodeActor, channelPublicId: string, promoCodePublicId: string): Promise<PromoCodeResource> {
  const now = deps.clock.now();
  const id = await deps.db.transaction(async (tx) => {
    const channelId = await ownedChannelId(tx, actor.accountId, channelPublicId);
    const code = await ownedCode(tx, channelId, promoCodePublicId, true);
    if (code.status === 'active') {
      await tx.query(`UPDATE promo_codes SET status = 'archived', archived_at = $2, updated_at = $2 WHERE id = $1 AND status = 'active'`, [code.id, now]);
      await recordAuditEvent(tx, {
        occurredAt: now,
        actor: { type: 'account', id: actor.accountId },
        action: 'promo_code.archived',
        subject: { type: 'promo_code', id: code.id },
        details: { channelId },
        requestId: actor.requestId,
        ip: actor.ip,
      });
    }
    return code.id;
  });
  return readCode(deps, id);
}

/** Whether the channel has an active code that may apply to the tier now (the bot then offers the promo step). */
export async function hasPromoCodesFor(q: Queryable, channelId: string, tierNumber: number, now: Date): Promise<boolean> {
  const { rows } = await q.query<{ found: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM promo_codes p
       WHERE p.channel_id = $1 AND p.status = 'active' AND (p.valid_until IS NULL OR p.valid_until > $3)
         AND (NOT EXISTS (SELECT 1 FROM promo_code_tiers pt WHERE pt.promo_code_id = p.id)
              OR EXISTS (SELECT 1 FROM promo_code_tiers pt JOIN channel_tiers t ON t.id = pt.tier_id
                         WHERE pt.promo_code_id = p.id AND t.tier_number = $2))) AS found`,
    [channelId, tierNumber, now],
  );
  return rows[0]?.found === true;
}
