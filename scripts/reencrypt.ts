/**
 * `npm run reencrypt [-- --batch-size 200]`: seals the emails, payout wallets and transfers still in clear and
 * re-wraps values under an older key id with the current FIELD_ENCRYPTION_KEYS key (the first).
 * Resumable and idempotent: run it again after an interruption, or any time. Uses DATABASE_URL,
 * FIELD_ENCRYPTION_KEYS and FIELD_BLIND_INDEX_KEY. Prints counts only, never a value.
 */
import { parseArgs } from 'node:util';
import { ConfigError, configVars, loadConfig } from '../shared/config/index.js';
import { openDatabase } from '../shared/db/index.js';
import { AppError } from '../shared/errors/index.js';
import { accountSealedTables } from '../shared/accounts/index.js';
import { chainTransferSealedTables } from '../shared/chain/index.js';
import { channelSealedTables } from '../shared/channels/index.js';
import { loadFieldCipher, reencryptFields } from '../shared/field-crypto/index.js';
import { payoutSealedTables } from '../shared/payouts/index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'batch-size': { type: 'string' } } });
  const batchSize = values['batch-size'] === undefined ? 200 : Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('usage: npm run reencrypt -- [--batch-size 1..10000]');
  const config = loadConfig({ DATABASE_URL: configVars.DATABASE_URL.unwrap() });
  const cipher = loadFieldCipher();
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL });
  try {
    for (const report of await reencryptFields(db, cipher, [...accountSealedTables, ...channelSealedTables, ...payoutSealedTables, ...chainTransferSealedTables], { batchSize })) {
      console.log(`${report.table.padEnd(28)} sealed ${report.sealed}, re-wrapped to ${cipher.currentKid}: ${report.rewrapped}`);
    }
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof AppError) console.error(error.message);
  else console.error(error instanceof Error && error.message.startsWith('usage') ? error.message : 'reencrypt: failed');
  process.exitCode = 1;
});
