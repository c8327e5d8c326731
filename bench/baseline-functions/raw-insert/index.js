// Baseline for bench/ipn-ingest.ts: the least an IPN endpoint can do behind functions-framework,
// one raw INSERT … ON CONFLICT DO NOTHING with pg per request (no signature check, no transaction,
// no payment logic), on a pool as large as the subject's. Served the same way as the subject:
//   node …/functions-framework/build/src/main.js --source=bench/baseline-functions/raw-insert --target=raw-insert
// bench/ipn-ingest.ts creates the table in its throw-away database.
import * as ff from '@google-cloud/functions-framework';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX) });
pool.on('error', () => undefined);

ff.http('raw-insert', async (req, res) => {
  try {
    const result = await pool.query(
      'INSERT INTO bench_raw_ipns (provider_payment_id, body, received_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING',
      [String(req.body?.payment_id ?? ''), req.rawBody?.toString('utf8') ?? ''],
    );
    res.status(200).json({ status: 'ok', inserted: result.rowCount === 1 });
  } catch {
    res.status(503).json({ status: 'error' });
  }
});
