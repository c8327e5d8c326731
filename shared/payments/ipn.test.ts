import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSecretsCommand } from '../../scripts/secrets.js';
import { formatPublicId } from '../ids/index.js';
import { signIpnPayload } from '../nowpayments/index.js';
import { createSecretManagerStore, loadSecretReader } from '../secrets/index.js';
import { type FakeSecretManager, secretManagerClientOptions, startFakeSecretManager } from '../testing/fakes/secret-manager-server.js';
import { insertCheckout } from '../testing/fixtures.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { countStatements } from '../testing/statement-counter.js';
import { trackQueuedMessages } from '../bus/index.js';
import { lookForRepeatedIpn, receiveIpn } from './ipn.js';
import { rotatingSecret } from '../secrets/index.js';

const SECRET = 'ipn-secret-for-tests';

/** A `finished` IPN paying a $19.99 checkout, signed with `secret` as NowPayments signs. */
function signedIpn(checkoutId: string, paymentId: string, secret: string, fields: Record<string, unknown> = {}) {
  const payload = {
    payment_id: paymentId,
    payment_status: 'finished',
    order_id: formatPublicId('checkout', checkoutId),
    price_amount: '19.99',
    price_currency: 'usd',
    pay_amount: '0.00666334',
    actually_paid: '0.00666334',
    pay_currency: 'eth',
    outcome_amount: '0.00663002',
    outcome_currency: 'eth',
    ...fields,
  };
  return { rawBody: JSON.stringify(payload), signature: signIpnPayload(payload, secret), clientIp: '127.0.0.1', headers: {} };
}

/** The same IPN signed with the tests' secret. */
const ipnFor = (checkoutId: string, paymentId: string, fields: Record<string, unknown> = {}) => signedIpn(checkoutId, paymentId, SECRET, fields);

describe('receiveIpn: exact repeats', () => {
  let h: StageHarness;

  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-12-01T12:00:00Z' });
  });
  afterAll(() => h?.close());


  const receive = (db = h.db, request: ReturnType<typeof ipnFor>) =>
    receiveIpn({ db, clock: h.clock, logger: h.logger, ipnSecret: SECRET, isAllowedIp: () => true }, request);
  const eventsOf = async (paymentId: string) =>
    (await h.db.query<{ hasDigest: boolean }>(`SELECT body_digest IS NOT NULL AS "hasDigest" FROM payment_events WHERE provider_payment_id = $1 ORDER BY id`, [paymentId])).rows;

  it('answers a body already applied from one read, without storing it again, and applies a changed body in full', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const first = ipnFor(checkout.id, '7000000001');
    expect(await receive(h.db, first)).toMatchObject({ status: 200, body: { outcome: 'updated' } });

    const counter = countStatements(h.db);
    expect(await receive(counter.db, first)).toEqual({ status: 200, body: { status: 'ok', outcome: 'unchanged' } });
    expect(counter.counts()).toMatchObject({ statements: 1, transactions: 0 });
    expect(await eventsOf('7000000001')).toEqual([{ hasDigest: true }]);

    // Same payment, another body (a later report): not a repeat, so it goes through the checks.
    counter.reset();
    const later = ipnFor(checkout.id, '7000000001', { updated_at: 1764590400000 });
    expect(await receive(counter.db, later)).toMatchObject({ status: 200, body: { outcome: 'unchanged' } });
    expect(counter.counts().transactions).toBe(1);
  });

  it('records a payment on its way (waiting … sending) in one statement, and never lets such a report touch a settled payment', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const counter = countStatements(h.db);
    for (const status of ['waiting', 'confirming', 'confirmed', 'sending']) {
      counter.reset();
      expect(await receive(counter.db, ipnFor(checkout.id, '7000000003', { payment_status: status }))).toMatchObject({ status: 200, body: { outcome: 'updated' } });
      expect(counter.counts()).toMatchObject({ statements: 1, transactions: 0 });
    }
    const stored = async () =>
      (await h.db.query<{ status: string; settled: boolean }>(`SELECT status, settled_at IS NOT NULL AS settled FROM payments WHERE provider_payment_id = '7000000003'`)).rows;
    expect(await stored()).toEqual([{ status: 'sending', settled: false }]);

    // An older status arriving late changes nothing.
    expect(await receive(h.db, ipnFor(checkout.id, '7000000003', { payment_status: 'confirming', updated_at: 1 }))).toMatchObject({ body: { outcome: 'unchanged' } });
    expect(await receive(h.db, ipnFor(checkout.id, '7000000003'))).toMatchObject({ body: { outcome: 'updated' } });
    expect(await stored()).toEqual([{ status: 'finished', settled: true }]);
    // After settlement a progress report takes the full path (its changes may need booking) and is ignored.
    counter.reset();
    expect(await receive(counter.db, ipnFor(checkout.id, '7000000003', { payment_status: 'sending', updated_at: 2 }))).toMatchObject({ body: { outcome: 'unchanged' } });
    expect(counter.counts().transactions).toBe(1);
    expect(await stored()).toEqual([{ status: 'finished', settled: true }]);
    expect((await eventsOf('7000000003')).length).toBe(7); // every distinct report kept
  });

  it('settles once and ends finished when progress reports, the settling report and their repeats all arrive at the same moment', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const statuses = ['waiting', 'confirming', 'confirmed', 'sending', 'finished'];
    const requests = statuses.flatMap((status, index) =>
      Array.from({ length: 4 }, () => ipnFor(checkout.id, '7000000005', { payment_status: status, updated_at: 1764590400000 + index })),
    );
    const answers = await Promise.all(requests.map((request) => receive(h.db, request)));
    expect(answers.map((answer) => answer.status)).toEqual(requests.map(() => 200));
    const { rows } = await h.db.query<{ status: string; settled: boolean; settledMessages: string }>(
      `SELECT p.status, p.settled_at IS NOT NULL AS settled,
              (SELECT count(*) FROM outbox WHERE dedupe_key = 'payment-settled:' || p.id)::text AS "settledMessages"
         FROM payments p WHERE provider_payment_id = '7000000005'`,
    );
    expect(rows).toEqual([{ status: 'finished', settled: true, settledMessages: '1' }]);
  });

  it('sends a progress report for an unknown checkout to the full path, which keeps it as an orphan for an operator', async () => {
    const unknownCheckout = '0b6f3a0e-8d7c-4c0e-9a57-2f0e1f9b7c11';
    expect(await receive(h.db, ipnFor(unknownCheckout, '7000000004', { payment_status: 'waiting' }))).toMatchObject({ status: 200, body: { outcome: 'orphan' } });
    expect(await eventsOf('7000000004')).toHaveLength(1);
    const { rows } = await h.db.query(`SELECT reason_code FROM dead_letters WHERE message_id = 'nowpayments:7000000004:waiting'`);
    expect(rows).toEqual([{ reason_code: 'orphan_payment' }]);
  });

  it('checks a refused body again when it is resent: its evidence is not marked applied', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const refused = ipnFor(checkout.id, '7000000002', { pay_address: '0x\u0000' });
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await receive(h.db, refused)).toMatchObject({ status: 400, body: { error: { code: 'invalid_ipn' } } });
    }
    expect(await eventsOf('7000000002')).toEqual([{ hasDigest: false }, { hasDigest: false }]);
    const { rows } = await h.db.query('SELECT 1 FROM payments WHERE checkout_id = $1', [checkout.id]);
    expect(rows).toEqual([]);
  });

  describe('a report whose price is not its checkout\'s', () => {
    const paymentRows = async (checkoutId: string) =>
      (await h.db.query<{ status: string; settled: boolean }>('SELECT status, settled_at IS NOT NULL AS settled FROM payments WHERE checkout_id = $1', [checkoutId])).rows;
    const alertsFor = async (checkoutId: string) =>
      (
        await h.db.query<{ alert: string; episode: string; details: Record<string, unknown> }>(
          `SELECT alert, episode, details FROM operator_alerts WHERE subject_type = 'checkout' AND subject_id = $1`,
          [checkoutId],
        )
      ).rows;
    const criticalLines = (paymentId: string) =>
      h.logLines.filter((line) => line.includes('"CRITICAL"') && line.includes('"payment.price_mismatch"') && line.includes(`"providerPaymentId":"${paymentId}"`));

    it.each([
      ['a $0.01 finished report for a $19.99 checkout', '7100000001', { price_amount: '0.01' }],
      ['the right number in another currency', '7100000002', { price_currency: 'eur' }],
      ['a fraction of a cent more', '7100000003', { price_amount: '19.991' }],
      ['a $0.01 report on its way (waiting), which the one-statement path must not record', '7100000004', { price_amount: '0.01', payment_status: 'waiting' }],
      ['a $0.01 partial payment far above tolerance of its own price', '7100000005', { price_amount: '0.01', payment_status: 'partially_paid' }],
    ])('holds %s: 200, the event kept, no payment, one operator alert', async (_name, paymentId, fields) => {
      const checkout = await insertCheckout(h.db, { priceCents: 1999n });
      const request = ipnFor(checkout.id, paymentId, fields);
      expect(await receive(h.db, request)).toEqual({ status: 200, body: { status: 'ok', outcome: 'held' } });

      expect(await eventsOf(paymentId)).toHaveLength(1);
      expect(await paymentRows(checkout.id)).toEqual([]);
      const { rows: checkouts } = await h.db.query('SELECT status FROM checkouts WHERE id = $1', [checkout.id]);
      expect(checkouts).toEqual([{ status: 'open' }]);
      const alerts = await alertsFor(checkout.id);
      expect(alerts).toEqual([
        expect.objectContaining({ alert: 'payment.price_mismatch', episode: `nowpayments:${paymentId}`, details: expect.objectContaining({ providerPaymentId: paymentId, expectedPriceCents: '1999' }) }),
      ]);
      expect(criticalLines(paymentId)).toHaveLength(1);
      const { rows: settled } = await h.db.query(`SELECT 1 FROM outbox WHERE topic = 'payment-settled' AND payload->>'paymentId' IN (SELECT id::text FROM payments WHERE checkout_id = $1)`, [checkout.id]);
      expect(settled).toEqual([]);
    });

    it('alerts once per provider payment, however often it is reported, and still settles the right price afterwards', async () => {
      const checkout = await insertCheckout(h.db, { priceCents: 1999n });
      const forged = ipnFor(checkout.id, '7100000010', { price_amount: '0.01' });
      expect(await receive(h.db, forged)).toMatchObject({ status: 200, body: { outcome: 'held' } });
      // An exact resend is a repeat (its body is stored); a changed one is held again without a second alert.
      expect(await receive(h.db, forged)).toMatchObject({ status: 200, body: { outcome: 'unchanged' } });
      expect(await receive(h.db, ipnFor(checkout.id, '7100000010', { price_amount: '0.01', updated_at: 1764590400000 }))).toMatchObject({ body: { outcome: 'held' } });
      expect(await alertsFor(checkout.id)).toHaveLength(1);
      expect(criticalLines('7100000010')).toHaveLength(1);
      expect(h.logLines.filter((line) => line.includes('"payment.held"') && line.includes('"7100000010"'))).toHaveLength(1);
      expect(await paymentRows(checkout.id)).toEqual([]);

      // The subscriber then pays the real price: settled as usual.
      expect(await receive(h.db, ipnFor(checkout.id, '7100000011'))).toMatchObject({ status: 200, body: { outcome: 'updated' } });
      expect(await paymentRows(checkout.id)).toEqual([{ status: 'finished', settled: true }]);
    });

    it('takes as many statements for a correct report as before: one for a payment on its way', async () => {
      const checkout = await insertCheckout(h.db, { priceCents: 1999n });
      const counter = countStatements(h.db);
      expect(await receive(counter.db, ipnFor(checkout.id, '7100000020', { payment_status: 'waiting', price_amount: '19.990' }))).toMatchObject({ body: { outcome: 'updated' } });
      expect(counter.counts()).toMatchObject({ statements: 1, transactions: 0 });
    });
  });
});

describe('lookForRepeatedIpn: the first look, before the relay scope', () => {
  let h: StageHarness;

  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-12-01T12:00:00Z' });
  });
  afterAll(() => h?.close());

  const look = (db: typeof h.db, request: ReturnType<typeof ipnFor>, isAllowedIp = () => true) =>
    lookForRepeatedIpn({ db, clock: h.clock, logger: h.logger, ipnSecret: rotatingSecret(SECRET), isAllowedIp }, { ...request, requestId: 'first-look-test' });
  const receive = (db: typeof h.db, request: Parameters<typeof receiveIpn>[1]) =>
    receiveIpn({ db, clock: h.clock, logger: h.logger, ipnSecret: SECRET, isAllowedIp: () => true }, request);

  it('answers an authentic repeat from one read, logged, and hands a new body to receiveIpn, which does not read again', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const ipn = ipnFor(checkout.id, '7100000001');
    const counter = countStatements(h.db);

    const firstLook = await look(counter.db, ipn);
    expect(firstLook).toEqual({ key: { role: 'current', kid: expect.any(String) }, digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(counter.counts()).toMatchObject({ statements: 1, transactions: 0 });
    counter.reset();
    expect(await receive(counter.db, { ...ipn, firstLook: firstLook as Exclude<typeof firstLook, undefined | { status: number }> })).toMatchObject({
      status: 200,
      body: { outcome: 'updated' },
    });
    const applied = counter.counts();
    // A `finished` IPN of a checkout at its price: stored, settled and queued in one statement.
    expect(applied).toMatchObject({ statements: 1, transactions: 0 });
    const repeatReads = [...applied.byLabel.keys()].filter((label) => applied.sqlByLabel.get(label)?.includes('body_digest = decode'));
    expect(repeatReads).toEqual([]); // not read again

    counter.reset();
    expect(await look(counter.db, ipn)).toEqual({ status: 200, body: { status: 'ok', outcome: 'unchanged' } });
    expect(counter.counts()).toMatchObject({ statements: 1, transactions: 0 });
    const repeats = h.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === 'ipn.repeated');
    expect(repeats.at(-1)).toMatchObject({ requestId: 'first-look-test', providerPaymentId: '7100000001', status: 'finished' });
  });

  it('settles once when the same new IPN races past the first look eight times at once (each found it new)', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const ipn = ipnFor(checkout.id, '7100000004');
    const looks = await Promise.all(Array.from({ length: 8 }, () => look(h.db, ipn)));
    expect(looks.every((found) => found !== undefined && !('status' in found))).toBe(true);
    const answers = await Promise.all(
      looks.map((found) => receive(h.db, { ...ipn, firstLook: found as Exclude<typeof found, undefined | { status: number }> })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(looks.map(() => 200));
    const { rows } = await h.db.query<{ status: string; settled: boolean; settledMessages: string }>(
      `SELECT p.status, p.settled_at IS NOT NULL AS settled,
              (SELECT count(*) FROM outbox WHERE dedupe_key = 'payment-settled:' || p.id)::text AS "settledMessages"
         FROM payments p WHERE provider_payment_id = '7100000004'`,
    );
    expect(rows).toEqual([{ status: 'finished', settled: true, settledMessages: '1' }]);
    // Once applied, the next delivery of that body is answered by the first look alone.
    expect(await look(h.db, ipn)).toEqual({ status: 200, body: { status: 'ok', outcome: 'unchanged' } });
  });

  it('leaves to receiveIpn, reading nothing, what it cannot answer at once: a refused address, a bad signature, a progress status, a body too large', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const counter = countStatements(h.db);
    const ipn = ipnFor(checkout.id, '7100000002');
    expect(look(counter.db, ipn, () => false)).toBeUndefined();
    expect(look(counter.db, { ...ipn, signature: 'f'.repeat(128) })).toBeUndefined();
    expect(look(counter.db, { ...ipn, signature: undefined as unknown as string })).toBeUndefined();
    expect(look(counter.db, ipnFor(checkout.id, '7100000002', { payment_status: 'confirming' }))).toBeUndefined();
    expect(look(counter.db, { ...ipn, rawBody: ' '.repeat(70_000) + ipn.rawBody })).toBeUndefined();
    expect(counter.counts().statements).toBe(0);
  });

  it('leaves a body to receiveIpn when its read fails (the full path answers 503 if the database is down)', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const failing = { ...h.db, query: async () => Promise.reject(new Error('connection refused')) } as typeof h.db;
    expect(await look(failing, ipnFor(checkout.id, '7100000003'))).toBeUndefined();
  });
});

describe('receiveIpn across a NOWPAYMENTS_IPN_SECRET rotation (Secret Manager, npm run secrets -- rotate)', () => {
  const PROJECT = 'pgp-ipn-rotation';
  const OLD = 'np-ipn-secret-before-rotation';
  const NEW = 'np-ipn-secret-after-rotation';
  const env = { SECRETS_SOURCE: 'secret-manager', GOOGLE_CLOUD_PROJECT: PROJECT };
  let h: StageHarness;
  let fake: FakeSecretManager;
  let dir: string;

  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-12-06T10:00:00Z' });
    fake = await startFakeSecretManager();
    dir = await mkdtemp(path.join(tmpdir(), 'pgp-ipn-rotation-'));
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no payment: IPNs signed with the old secret pass during the overlap and fail after it', async () => {
    fake.seed(PROJECT, 'nowpayments-ipn-secret', [OLD], { current: 1 });
    const store = createSecretManagerStore({ projectId: PROJECT, clientOptions: secretManagerClientOptions(fake) });
    // As the function does: one reader per instance, the secret read per request.
    const reader = loadSecretReader('NOWPAYMENTS_IPN_SECRET', { store, logger: h.logger }, env);
    const receive = async (request: { rawBody: string; signature: string; clientIp: string; headers: Record<string, string> }) =>
      receiveIpn(
        { db: h.db, clock: h.clock, logger: h.logger, ipnSecret: await reader.read(h.clock.now()), reloadIpnSecret: () => reader.reload(h.clock.now()), isAllowedIp: () => true },
        request,
      );
    const ipn = async (paymentId: string, secret: string) => signedIpn((await insertCheckout(h.db, { priceCents: 1999n })).id, paymentId, secret);

    // NowPayments signs with the old secret until the operator regenerates it in its dashboard (step 12);
    // the operator stored the new value with the rotation command at step 10.
    let nowpaymentsSigns = OLD;
    let rotatedAt = h.clock.now();
    const overlapSeconds = 86_400;
    for (let step = 1; step <= 30; step++) {
      h.clock.advance(60_000);
      if (step === 10) {
        rotatedAt = h.clock.now();
        const valueFile = path.join(dir, 'ipn-secret.txt');
        await writeFile(valueFile, NEW);
        expect(await runSecretsCommand(['rotate', 'nowpayments-ipn-secret', '--value-file', valueFile], { env, print: () => undefined, now: () => rotatedAt, store })).toBe(0);
      }
      if (step === 12) nowpaymentsSigns = NEW;
      const answer = await receive(await ipn(`71000000${String(step).padStart(2, '0')}`, nowpaymentsSigns));
      expect(answer, `IPN ${step}`).toMatchObject({ status: 200, body: { outcome: 'updated' } });
    }
    const { rows } = await h.db.query<{ count: bigint }>(`SELECT count(*) AS count FROM payments WHERE provider_payment_id LIKE '71000000%'`);
    expect(Number(rows[0]?.count)).toBe(30);
    const logged = h.logLines.join('\n');
    expect(logged).toContain('ipn.previous_secret');
    expect(logged).not.toContain(OLD);

    // During the overlap a late IPN signed with the old secret (a NowPayments retry) still passes…
    expect(await receive(await ipn('7100000100', OLD))).toMatchObject({ status: 200 });
    // …after it, one signed with the old secret fails (nothing stored); the new secret goes on.
    h.clock.set(new Date(rotatedAt.getTime() + overlapSeconds * 1000));
    expect(await receive(await ipn('7100000101', OLD))).toMatchObject({ status: 401, body: { error: { code: 'invalid_signature' } } });
    expect(await receive(await ipn('7100000102', NEW))).toMatchObject({ status: 200, body: { outcome: 'updated' } });
    const stored = await h.db.query(`SELECT 1 FROM payment_events WHERE provider_payment_id = '7100000101'`);
    expect(stored.rows).toEqual([]);
  });
});

describe('receiveIpn: a `finished` IPN settles in one statement', () => {
  let h: StageHarness;

  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-12-01T12:00:00Z' });
  });
  afterAll(() => h?.close());

  const receive = (request: ReturnType<typeof ipnFor>) =>
    receiveIpn({ db: h.db, clock: h.clock, logger: h.logger, ipnSecret: SECRET, isAllowedIp: () => true }, request);
  const paymentOf = async (providerPaymentId: string) =>
    (
      await h.db.query<{ id: string; status: string; settled: boolean; settledUnits: string | null; outcomeUnits: string | null; checkoutStatus: string }>(
        `SELECT p.id, p.status, p.settled_at IS NOT NULL AS settled, p.settled_outcome_units::text AS "settledUnits",
                p.outcome_units::text AS "outcomeUnits", k.status AS "checkoutStatus"
           FROM payments p JOIN checkouts k ON k.id = p.checkout_id WHERE p.provider_payment_id = $1`,
        [providerPaymentId],
      )
    ).rows;
  const settledMessagesOf = async (paymentId: string) =>
    (await h.db.query<{ payload: unknown; leased: boolean }>(`SELECT payload, leased_until IS NOT NULL AS leased FROM outbox WHERE dedupe_key = $1`, [`payment-settled:${paymentId}`])).rows;

  it('settles a payment its progress IPNs recorded: the checkout paid and payment-settled queued with the payment\'s own id, handed to the relay as written', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    expect(await receive(ipnFor(checkout.id, '7200000001', { payment_status: 'confirming', actually_paid: '0' }))).toMatchObject({ body: { outcome: 'updated' } });
    const [before] = await paymentOf('7200000001');
    expect(before).toMatchObject({ status: 'confirming', settled: false, checkoutStatus: 'open' });

    const { result, queued } = await trackQueuedMessages(() => receive(ipnFor(checkout.id, '7200000001')));
    expect(result).toMatchObject({ status: 200, body: { outcome: 'updated' } });
    const [after] = await paymentOf('7200000001');
    expect(after).toMatchObject({ id: before?.id, status: 'finished', settled: true, checkoutStatus: 'paid' });
    expect(after?.settledUnits).toBe(after?.outcomeUnits);
    expect(after?.settledUnits).toMatch(/^[1-9][0-9]*$/);
    expect(await settledMessagesOf(before?.id ?? '')).toEqual([{ payload: { paymentId: before?.id }, leased: true }]);
    // The relay publishes it from memory: the payload it holds is the stored one, id filled in.
    expect(queued).toHaveLength(1);
    expect(queued[0]?.leased).toMatchObject({ topic: 'payment-settled', payload: { paymentId: before?.id } });
  });

  it('settles a payment first heard of as `finished`, and leaves a `finished` of a settled payment to the full update (a repeat changes nothing)', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    expect(await receive(ipnFor(checkout.id, '7200000002'))).toMatchObject({ body: { outcome: 'updated' } });
    const [payment] = await paymentOf('7200000002');
    expect(payment).toMatchObject({ status: 'finished', settled: true, checkoutStatus: 'paid' });
    // Another body (NowPayments' later updated_at), same facts: nothing new to book, one message in all.
    expect(await receive(ipnFor(checkout.id, '7200000002', { updated_at: '2026-12-01T12:05:00.000Z' }))).toMatchObject({ status: 200 });
    expect(await settledMessagesOf(payment?.id ?? '')).toHaveLength(1);
  });

  it('settles each payment once, with no deadlock, while its `finished`, `partially_paid` and a second `finished` body race, and while two payments of one checkout race', async () => {
    const rounds = 12;
    const checkouts = await Promise.all(Array.from({ length: rounds }, () => insertCheckout(h.db, { priceCents: 1999n })));
    const answers = await Promise.all(
      checkouts.flatMap((checkout, round) => {
        const id = `73000000${String(round).padStart(2, '0')}`;
        return [
          receive(ipnFor(checkout.id, id)),
          // The full update (a partial report within tolerance settles too), locking the checkout first.
          receive(ipnFor(checkout.id, id, { payment_status: 'partially_paid', actually_paid: '0.0066' })),
          receive(ipnFor(checkout.id, id, { updated_at: '2026-12-01T12:01:00.000Z' })),
          // A second payment of the same checkout (paid twice): it settles too, as the full update settles it.
          receive(ipnFor(checkout.id, `${id}9`)),
        ];
      }),
    );
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
    for (const [round] of checkouts.entries()) {
      const id = `73000000${String(round).padStart(2, '0')}`;
      for (const providerPaymentId of [id, `${id}9`]) {
        const [payment] = await paymentOf(providerPaymentId);
        expect(payment).toMatchObject({ settled: true, checkoutStatus: 'paid' });
        expect(await settledMessagesOf(payment?.id ?? '')).toHaveLength(1);
      }
    }
    const failures = h.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === 'ipn.failed');
    expect(failures).toEqual([]);
  });
});
