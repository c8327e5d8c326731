/**
 * `npm run payouts -- list | approve <payout id> --operator <name> | reject <payout id> --operator <name> --reason <text>`
 * The operator's tool for payouts held by the outflow limits. Uses DATABASE_URL; every decision is
 * written to the audit log.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../shared/clock/index.js';
import { ConfigError, configVars, loadConfig } from '../shared/config/index.js';
import { openDatabase } from '../shared/db/index.js';
import { AppError } from '../shared/errors/index.js';
import { formatUnits, formatUsdCents, getAsset, isAssetCode } from '../shared/money/index.js';
import { approvePayout, rejectPayout } from '../shared/payouts/index.js';

const USAGE = 'usage: npm run payouts -- list | approve <payout id> --operator <name> | reject <payout id> --operator <name> --reason <text>';

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { operator: { type: 'string' }, reason: { type: 'string' } } });
  const [command, payoutId] = positionals;
  const config = loadConfig({ DATABASE_URL: configVars.DATABASE_URL.unwrap() });
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL });
  try {
    if (command === 'list') {
      const { rows } = await db.query<{ id: string; state: string; asset: string; amount_units: string; amount_usd_cents: bigint | null; held_reason: string | null; destination_wallet: string; requested_at: Date }>(
        `SELECT id, state, asset, amount_units::text, amount_usd_cents, held_reason, coalesce(destination_wallet_hint, destination_wallet) AS destination_wallet, requested_at FROM payouts
         WHERE state NOT IN ('completed', 'failed', 'refunded', 'cancelled') ORDER BY (state = 'held') DESC, requested_at`,
      );
      if (rows.length === 0) console.log('No open payouts.');
      for (const row of rows) {
        const amount = isAssetCode(row.asset) ? `${formatUnits(BigInt(row.amount_units), getAsset(row.asset).decimals)} ${getAsset(row.asset).symbol}` : `${row.amount_units} ${row.asset}`;
        const usd = row.amount_usd_cents === null ? '' : ` ($${formatUsdCents(row.amount_usd_cents)})`;
        console.log(`${row.id}  ${row.state.padEnd(18)} ${amount}${usd} → ${row.destination_wallet}${row.held_reason ? `  held: ${row.held_reason}` : ''}`);
      }
    } else if ((command === 'approve' || command === 'reject') && payoutId && values.operator) {
      if (command === 'approve') {
        await approvePayout(db, { payoutId, operator: values.operator, at: systemClock.now() });
        console.log(`Approved ${payoutId}: it re-enters the payout pipeline.`);
      } else {
        if (!values.reason) throw new Error(USAGE);
        await rejectPayout(db, { payoutId, operator: values.operator, reason: values.reason, at: systemClock.now() });
        console.log(`Rejected ${payoutId}: the amount is back on the owner's balance.`);
      }
    } else {
      console.error(USAGE);
      process.exitCode = 2;
    }
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof AppError) console.error(error.message);
  else console.error(error instanceof Error && error.message.startsWith('usage') ? error.message : 'payouts: failed');
  process.exitCode = 1;
});
