/** `npm run migrate`: applies sql/ to DATABASE_URL (idempotent; refuses edited applied migrations). */
import { ConfigError, configVars, loadConfig } from '../shared/config/index.js';
import { MigrationError, migrateToLatest, openDatabase } from '../shared/db/index.js';

async function main(): Promise<void> {
  const config = loadConfig({ DATABASE_URL: configVars.DATABASE_URL.unwrap() });
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL });
  try {
    const report = await migrateToLatest(db);
    for (const name of report.applied) console.log(`applied ${name}`);
    console.log(`${report.applied.length} applied, ${report.alreadyApplied} already applied`);
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  // Configuration and migration errors are written for operators; anything else may carry a
  // connection detail, so only its code is shown.
  if (error instanceof ConfigError || error instanceof MigrationError) console.error(error.message);
  else console.error(`migration failed: ${(error as { code?: string }).code ?? (error as Error).name ?? 'unknown error'}`);
  process.exitCode = 1;
});
