// Second baseline for bench/ipn-ingest.ts, for duplicate IPNs: the least an endpoint can do before it
// may answer "already have it" to an IPN, namely check NowPayments' signature (hex HMAC-SHA512 over
// the body re-serialised with sorted keys, constant-time compare) and read one row by payment id.
// The raw insert does neither check nor read; a duplicate cannot be recognised more cheaply than
// this without trusting an unauthenticated body. No exact-decimal parse, no log line, no envelope:
// a floor, not a product. Reads the raw insert's table (the conflict rounds fill it).
//   node …/functions-framework/build/src/main.js --source=bench/baseline-functions/verified-read --target=verified-read
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as ff from '@google-cloud/functions-framework';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX) });
pool.on('error', () => undefined);
const secret = process.env.NOWPAYMENTS_IPN_SECRET ?? '';

/** NowPayments' documented Node.js `sortObject`: keys sorted at every level. */
const sorted = (value) =>
  value !== null && typeof value === 'object'
    ? Object.keys(value)
        .sort()
        .reduce((out, key) => ({ ...out, [key]: sorted(value[key]) }), {})
    : value;

ff.http('verified-read', async (req, res) => {
  const header = Buffer.from(String(req.get('x-nowpayments-sig') ?? ''), 'utf8');
  const expected = Buffer.from(createHmac('sha512', secret).update(JSON.stringify(sorted(req.body ?? {}))).digest('hex'), 'utf8');
  if (header.length !== expected.length || !timingSafeEqual(header, expected)) {
    res.status(401).json({ status: 'error' });
    return;
  }
  try {
    const result = await pool.query('SELECT 1 FROM bench_raw_ipns WHERE provider_payment_id = $1', [String(req.body.payment_id)]);
    res.status(200).json({ status: 'ok', known: result.rowCount === 1 });
  } catch {
    res.status(503).json({ status: 'error' });
  }
});
