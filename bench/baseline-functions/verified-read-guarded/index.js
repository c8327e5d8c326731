// Third baseline for bench/ipn-ingest.ts, for duplicate IPNs: the least possible duplicate
// (verified-read: NowPayments' signature check and one read) plus the two things every answer of
// ours must carry whatever it costs, written as plainly as they can be:
//   - a record of the receipt: one structured JSON line on stdout (severity, event, time, request
//     id, payment id, status, client address), which is all that remains of a repeat that is not
//     stored (docs/performance.md);
//   - the six security headers every public answer carries (shared/http-entry/security-headers.ts,
//     copied here because a baseline imports nothing of ours).
// No redaction of the line, no exact-decimal parse, no error envelope, no body limit: still a floor,
// the one our guarantees set.
//   node …/functions-framework/build/src/main.js --source=bench/baseline-functions/verified-read-guarded --target=verified-read-guarded
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import * as ff from '@google-cloud/functions-framework';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX) });
pool.on('error', () => undefined);
const secret = process.env.NOWPAYMENTS_IPN_SECRET ?? '';

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
};

/** NowPayments' documented Node.js `sortObject`: keys sorted at every level. */
const sorted = (value) =>
  value !== null && typeof value === 'object'
    ? Object.keys(value)
        .sort()
        .reduce((out, key) => ({ ...out, [key]: sorted(value[key]) }), {})
    : value;

ff.http('verified-read-guarded', async (req, res) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  const header = Buffer.from(String(req.get('x-nowpayments-sig') ?? ''), 'utf8');
  const expected = Buffer.from(createHmac('sha512', secret).update(JSON.stringify(sorted(req.body ?? {}))).digest('hex'), 'utf8');
  if (header.length !== expected.length || !timingSafeEqual(header, expected)) {
    res.status(401).json({ status: 'error' });
    return;
  }
  try {
    const result = await pool.query('SELECT 1 FROM bench_raw_ipns WHERE provider_payment_id = $1', [String(req.body.payment_id)]);
    const line = {
      severity: 'INFO',
      message: 'ipn.repeated',
      time: new Date().toISOString(),
      requestId: randomUUID(),
      providerPaymentId: String(req.body.payment_id),
      status: String(req.body.payment_status),
      clientIp: req.socket.remoteAddress,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    res.status(200).json({ status: 'ok', known: result.rowCount === 1 });
  } catch {
    res.status(503).json({ status: 'error' });
  }
});
