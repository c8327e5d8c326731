import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { confirmTransfer, openSignedTransaction, type SigningDeps } from '../chain/index.js';
import { chainError } from '../chain/errors.js';
import type { Db } from '../db/index.js';
import { balanceOf, ledgerAccountCodes } from '../ledger/index.js';
import { createCountingWallet, createMemoryChain, type MemoryChain } from '../testing/fakes/memory-chain.js';
import type { PayoutFixture } from '../testing/fixtures.js';
import { payoutAtStage } from '../testing/payout-steps.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { countStatements } from '../testing/statement-counter.js';
import { createChangeNowClient } from '../changenow/index.js';
import { sendTransfer, trackPayout, trackPayouts } from './index.js';

const GWEI = 1_000_000_000n;
const AMOUNT = 250_000_000_000_000_000n; // 0.25 ETH

/**
 * send-transfer against the in-memory chain: the payout's one transaction is signed and stored
 * before it is broadcast, and every retry sends those same bytes. What reaches the node is read back
 * from the twin (every raw transaction it was sent), what was booked from the rows.
 */
describe('sendTransfer', () => {
  let h: StageHarness;
  let chain: MemoryChain;
  let wallet: ReturnType<typeof createCountingWallet>;
  let deps: SigningDeps;

  beforeAll(async () => {
    h = await createStageHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    wallet = createCountingWallet();
    chain = createMemoryChain({ balances: { [wallet.address]: 10n ** 20n } });
    deps = { ...h, chain, wallet, settings: { chainId: 31_337n, maxFeePerGasCapWei: 100n * GWEI, tokenContracts: {} } };
  });

  const quotedDirectPayout = () => payoutAtStage(h.db, { destination: 'ETH', amountUnits: AMOUNT, state: 'quoted' });

  /** The payout's stored transfer, its state, and how often its funding was booked. */
  async function recorded(payout: PayoutFixture) {
    const { rows } = await h.db.query<{ state: string; status: string | null; sealed: string | null; nonce: string | null; fundings: number }>(
      `SELECT p.state, t.status, t.signed_tx_ciphertext AS sealed, t.nonce::text AS nonce,
              (SELECT count(*) FROM ledger_transactions WHERE payout_id = p.id AND kind = 'payout_funded')::int AS fundings
         FROM payouts p LEFT JOIN chain_transfers t ON t.payout_id = p.id WHERE p.id = $1`,
      [payout.id],
    );
    const row = rows[0];
    if (!row) throw new Error('no payout row');
    // The bytes are stored sealed; opened here as send-transfer opens them to broadcast.
    const { sealed, ...rest } = row;
    return { ...rest, signedTx: sealed === null ? null : openSignedTransaction(payout.id, 1, { clear: null, ciphertext: sealed }) };
  }

  it('signs the payout’s one transaction, stores it, broadcasts those bytes and books the funding', async () => {
    const payout = await quotedDirectPayout();
    const hotWalletBefore = await balanceOf(h.db, ledgerAccountCodes.hotWallet('ETH'), 'ETH');
    expect(await sendTransfer(deps, payout.id)).toBe('broadcast');

    const row = await recorded(payout);
    expect(row).toMatchObject({ state: 'transfer_broadcast', status: 'broadcast', fundings: 1 });
    expect(chain.sent).toEqual([row.signedTx]);
    expect(chain.transactions()).toEqual([
      expect.objectContaining({ from: wallet.address.toLowerCase(), to: payout.destinationWallet, value: AMOUNT, data: '0x', nonce: BigInt(row.nonce ?? -1), state: 'pending' }),
    ]);
    expect(wallet.signatures()).toBe(1);
    expect(await balanceOf(h.db, ledgerAccountCodes.hotWallet('ETH'), 'ETH')).toBe(hotWalletBefore - AMOUNT);
  });

  it('records the broadcast, the payout\'s move and its funding in one statement after the signing transaction', async () => {
    const payout = await quotedDirectPayout();
    const counter = countStatements(h.db);
    expect(await sendTransfer({ ...deps, db: counter.db }, payout.id)).toBe('broadcast');
    // The payout read; BEGIN, the lock with the nonce, the transfer stored with the move to transfer_signed, COMMIT; then one statement.
    expect(counter.counts()).toMatchObject({ statements: 6, transactions: 1 });
    expect(await recorded(payout)).toMatchObject({ state: 'transfer_broadcast', status: 'broadcast', fundings: 1 });
  });

  it.each([
    ['twice in a row', 2, false],
    ['twice at the same moment', 2, true],
    ['four times at the same moment', 4, true],
  ] as const)('signs once and sends one transaction when the message is delivered %s', async (_name, deliveries, isConcurrent) => {
    const payout = await quotedDirectPayout();
    const deliver = () => sendTransfer(deps, payout.id);
    const settled = isConcurrent
      ? await Promise.allSettled(Array.from({ length: deliveries }, deliver))
      : [await deliver(), await deliver()].map((value) => ({ status: 'fulfilled' as const, value }));

    const row = await recorded(payout);
    expect(wallet.signatures()).toBe(1);
    expect(new Set(chain.sent)).toEqual(new Set([row.signedTx]));
    expect(chain.transactions()).toHaveLength(1);
    expect(row).toMatchObject({ state: 'transfer_broadcast', fundings: 1 });
    // The first sends; the others find the stored transfer in the mempool, send the same bytes again
    // (already known), or, having read the payout before the first signed and its transfer after,
    // leave it to the first delivery (skipped). A duplicate may also be refused: see the known gap below.
    const outcomes = settled.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as { code?: string }).code));
    expect(outcomes).toContain('broadcast');
    for (const outcome of outcomes) expect(['broadcast', 'in_mempool', 'skipped', 'payout_not_ready_for_transfer']).toContain(outcome);
  });

  /**
   * The database, except that the first statement outside a transaction matching `pattern` waits
   * until `first` has run: one delivery's reads interleaved with another's whole run, as two
   * instances reading at READ COMMITTED may interleave.
   */
  function interleaved(db: Db, pattern: RegExp, first: () => Promise<unknown>): Db & { hasInterleaved: () => boolean } {
    let isReleased = false;
    return {
      hasInterleaved: () => isReleased,
      kind: db.kind,
      exec: (script) => db.exec(script),
      transaction: (work, options) => db.transaction(work, options),
      close: () => db.close(),
      query: async (text, params) => {
        if (!isReleased && pattern.test(text)) {
          isReleased = true;
          await first();
        }
        return db.query(text, params);
      },
    };
  }
  /** send-transfer's first look at the payout and its transfer, before it reads the chain (outside any transaction). */
  const UNLOCKED_PAYOUT_READ = /FROM payouts p LEFT JOIN chain_transfers t ON t\.payout_id = p\.id WHERE p\.id = \$1$/;

  it('pays once when a duplicate read "no transfer yet" just before the first delivery signed and broadcast', async () => {
    const payout = await quotedDirectPayout();
    const db = interleaved(h.db, UNLOCKED_PAYOUT_READ, () => sendTransfer(deps, payout.id));
    await Promise.allSettled([sendTransfer({ ...deps, db }, payout.id)]);
    expect(db.hasInterleaved()).toBe(true);

    const row = await recorded(payout);
    expect(row).toMatchObject({ state: 'transfer_broadcast', fundings: 1 });
    expect(wallet.signatures()).toBe(1);
    expect(chain.sent).toEqual([row.signedTx]);
  });

  it('takes a "would revert" estimate after that read as the first delivery\'s pending transfer, not as a refusal', async () => {
    const payout = await quotedDirectPayout();
    // The duplicate has read "no transfer yet"; the first delivery signs and broadcasts; then the node
    // estimates the duplicate's token transfer after the first one's pending spend: it reverts.
    let isFirstDone = false;
    const afterFirst = {
      ...chain,
      estimateGas: async () => {
        await sendTransfer(deps, payout.id);
        isFirstDone = true;
        throw chainError('transfer_would_revert', 'The node reports that this transfer would revert.');
      },
    };
    const outcome = await sendTransfer({ ...deps, chain: afterFirst }, payout.id);
    expect(isFirstDone).toBe(true);
    expect(['broadcast', 'in_mempool']).toContain(outcome);
    const row = await recorded(payout);
    expect(row).toMatchObject({ state: 'transfer_broadcast', fundings: 1 });
    expect(wallet.signatures()).toBe(1);
    expect(new Set(chain.sent)).toEqual(new Set([row.signedTx]));
  });

  // The duplicate finds the stored transfer inside the payout's lock (payouts/transfer.ts), so it is a no-op, not a dead letter.
  it('acknowledges that duplicate quietly instead of refusing it (no dead letter)', async () => {
    const payout = await quotedDirectPayout();
    const db = interleaved(h.db, UNLOCKED_PAYOUT_READ, () => sendTransfer(deps, payout.id));
    const outcome = await sendTransfer({ ...deps, db }, payout.id).catch((error: { code?: string }) => error.code);
    expect(db.hasInterleaved()).toBe(true);
    expect(['skipped', 'in_mempool', 'broadcast']).toContain(outcome);
  });

  it.each([
    ['before the node saw the bytes (the process died between signing and broadcast)', 'before', []],
    ['after the node took them (the answer was lost)', 'after', ['pending']],
  ] as const)('re-broadcasts the same bytes after a crash %s', async (_name, when, onChainAfterCrash) => {
    const payout = await quotedDirectPayout();
    chain.failNextSend(new Error('connection reset: the function instance was killed'), when);
    await expect(sendTransfer(deps, payout.id)).rejects.toThrow('connection reset');

    const signed = await recorded(payout);
    expect(signed).toMatchObject({ state: 'transfer_signed', status: 'signed', fundings: 0 });
    expect(chain.transactions().map((tx) => tx.state)).toEqual(onChainAfterCrash);

    expect(await sendTransfer(deps, payout.id)).toBe('broadcast');
    expect(chain.sent).toEqual([signed.signedTx, signed.signedTx]);
    expect(chain.transactions()).toEqual([expect.objectContaining({ raw: signed.signedTx, state: 'pending' })]);
    expect(wallet.signatures()).toBe(1);
    expect(await recorded(payout)).toMatchObject({ state: 'transfer_broadcast', status: 'broadcast', signedTx: signed.signedTx, fundings: 1 });
  });

  it('after a stop between the node taking the bytes and the statement that records the broadcast with its booking, track-payouts asks again and the same bytes are booked once', async () => {
    const payout = await quotedDirectPayout();
    // The statement that records the broadcast and moves the payout to transfer_broadcast with its funding never completes.
    const db = interleaved(h.db, /^WITH ledger_locked AS/, () => Promise.reject(new Error('connection reset: the function instance was killed')));
    await expect(sendTransfer({ ...deps, db }, payout.id)).rejects.toThrow('connection reset');
    expect(db.hasInterleaved()).toBe(true);
    const stopped = await recorded(payout);
    // All or nothing: neither the broadcast nor the move nor the funding is recorded.
    expect(stopped).toMatchObject({ state: 'transfer_signed', status: 'signed', fundings: 0 });

    const tracking = { ...h, chain, changenow: createChangeNowClient({ apiUrl: 'http://127.0.0.1:9', apiKey: 'unused' }), confirmations: 1 };
    expect(await trackPayout(tracking, payout.id)).toBe('transfer_signed');
    const { rows } = await h.db.query(`SELECT 1 FROM outbox WHERE topic = 'transfer-requested' AND payload->>'payoutId' = $1 AND dedupe_key LIKE 'transfer-check:%'`, [payout.id]);
    expect(rows).toHaveLength(1);

    expect(await sendTransfer(deps, payout.id)).toBe('broadcast');
    expect(await recorded(payout)).toMatchObject({ state: 'transfer_broadcast', status: 'broadcast', signedTx: stopped.signedTx, fundings: 1 });
    expect(chain.sent).toEqual([stopped.signedTx, stopped.signedTx]);
    expect(wallet.signatures()).toBe(1);
  });

  it('after a crash between signing and broadcast, track-payouts run twice at once asks send-transfer once, which sends the stored bytes', async () => {
    const payout = await quotedDirectPayout();
    chain.failNextSend(new Error('connection reset: the function instance was killed'), 'before');
    await expect(sendTransfer(deps, payout.id)).rejects.toThrow('connection reset');
    const signed = await recorded(payout);
    expect(signed.state).toBe('transfer_signed');

    // track-payouts holds no key and opens no bytes: it only asks send-transfer (ChangeNow is not reached on this path).
    const tracking = { ...h, chain, changenow: createChangeNowClient({ apiUrl: 'http://127.0.0.1:9', apiKey: 'unused' }), confirmations: 1 };
    expect(await Promise.all([trackPayout(tracking, payout.id), trackPayout(tracking, payout.id)])).toEqual(['transfer_signed', 'transfer_signed']);
    const requests = async () =>
      (await h.db.query(`SELECT 1 FROM outbox WHERE topic = 'transfer-requested' AND payload->>'payoutId' = $1 AND dedupe_key LIKE 'transfer-check:%'`, [payout.id])).rows.length;
    expect(await requests()).toBe(1);
    expect(chain.sent).toEqual([signed.signedTx]); // only the crashed attempt's bytes

    // The request, delivered twice at once: one broadcast of the same bytes, booked once.
    const outcomes = await Promise.all([sendTransfer(deps, payout.id), sendTransfer(deps, payout.id)]);
    expect(outcomes).toContain('broadcast');
    expect(outcomes.every((outcome) => outcome === 'broadcast' || outcome === 'in_mempool')).toBe(true);
    expect(await recorded(payout)).toMatchObject({ state: 'transfer_broadcast', status: 'broadcast', signedTx: signed.signedTx, fundings: 1 });
    expect(wallet.signatures()).toBe(1);
    expect(chain.transactions()).toEqual([expect.objectContaining({ raw: signed.signedTx, state: 'pending' })]);
  });

  it.each([
    ['mined and confirmed: completed, the gas booked once', true, 'completed', 'confirmed'],
    ['mined and reverted: failed, the amount back in the hot wallet', false, 'failed', 'failed'],
  ] as const)('books a receipt recorded by a run that stopped before moving the payout: %s', async (_name, isSuccess, state, status) => {
    const payout = await quotedDirectPayout();
    expect(await sendTransfer(deps, payout.id)).toBe('broadcast');
    const hotWalletAfterFunding = await balanceOf(h.db, ledgerAccountCodes.hotWallet('ETH'), 'ETH');
    const [txHash] = chain.transactions().map((tx) => tx.hash);
    chain.mine(txHash ?? '', { isSuccess });
    // The receipt is recorded, then the run stops: nothing moved the payout.
    expect((await confirmTransfer(deps, payout.id, { confirmations: 1 })).state).toBe(isSuccess ? 'confirmed' : 'reverted');
    expect(await recorded(payout)).toMatchObject({ state: 'transfer_broadcast', status });

    const tracking = { ...h, chain, changenow: createChangeNowClient({ apiUrl: 'http://127.0.0.1:9', apiKey: 'unused' }), confirmations: 1 };
    expect(await Promise.all([trackPayout(tracking, payout.id), trackPayout(tracking, payout.id)])).toEqual([state, state]);
    expect(await trackPayout(tracking, payout.id)).toBe(state);
    const { rows } = await h.db.query<{ fees: number }>(`SELECT count(*)::int AS fees FROM ledger_transactions WHERE payout_id = $1 AND kind = 'network_fee'`, [payout.id]);
    expect(rows[0]?.fees).toBe(1);
    const mined = chain.transactions()[0];
    const fee = (mined?.gasUsed ?? 0n) * (mined?.effectiveGasPrice ?? 0n);
    expect(fee).toBeGreaterThan(0n);
    expect(await balanceOf(h.db, ledgerAccountCodes.hotWallet('ETH'), 'ETH')).toBe(hotWalletAfterFunding - fee + (isSuccess ? 0n : AMOUNT));
  });

  describe('track-payouts records a confirmed receipt with the payout\'s move', () => {
    const trackingDeps = () => ({ ...h, chain, changenow: createChangeNowClient({ apiUrl: 'http://127.0.0.1:9', apiKey: 'unused' }), confirmations: 1 });
    const facts = async (payoutId: string) =>
      (
        await h.db.query<{ state: string; status: string; fees: number; notices: number; events: number }>(
          `SELECT p.state, t.status,
                  (SELECT count(*) FROM ledger_transactions WHERE payout_id = p.id AND kind = 'network_fee')::int AS fees,
                  (SELECT count(*) FROM outbox WHERE topic = 'owner-notification-requested' AND payload->>'subjectId' = p.id::text)::int AS notices,
                  (SELECT count(*) FROM owner_webhook_events WHERE source_key = 'payout:' || p.id::text)::int AS events
             FROM payouts p JOIN chain_transfers t ON t.payout_id = p.id WHERE p.id = $1`,
          [payoutId],
        )
      ).rows[0];
    const minedPayout = async () => {
      const payout = await quotedDirectPayout();
      expect(await sendTransfer(deps, payout.id)).toBe('broadcast');
      chain.mine(chain.transactions().at(-1)?.hash ?? '', { isSuccess: true });
      return payout;
    };

    it('in one statement for an owner without webhooks: receipt, completed, gas and notice, once under two runs at once', async () => {
      const payout = await minedPayout();
      const counter = countStatements(h.db);
      expect(await trackPayout({ ...trackingDeps(), db: counter.db }, payout.id)).toBe('completed');
      // The payout with its transfer read, then the receipt, the move, the gas and the notice written.
      expect(counter.counts()).toMatchObject({ statements: 2, transactions: 0 });
      expect(await facts(payout.id)).toEqual({ state: 'completed', status: 'confirmed', fees: 1, notices: 1, events: 0 });

      const again = await minedPayout();
      expect(await Promise.all([trackPayout(trackingDeps(), again.id), trackPayout(trackingDeps(), again.id)])).toEqual(['completed', 'completed']);
      expect(await facts(again.id)).toEqual({ state: 'completed', status: 'confirmed', fees: 1, notices: 1, events: 0 });
    });

    it('from the sweep: the claim reads the payout with its transfer and attempts, so the tick does not read it again', async () => {
      const payout = await minedPayout();
      await h.db.query('UPDATE payouts SET next_check_at = $2 WHERE id = $1', [payout.id, new Date(h.clock.now().getTime() - 1000)]);
      const counter = countStatements(h.db);
      await trackPayouts({ ...trackingDeps(), db: counter.db });
      expect(await facts(payout.id)).toEqual({ state: 'completed', status: 'confirmed', fees: 1, notices: 1, events: 0 });
      const counts = counter.counts();
      const reads = [...counts.byLabel.keys()].filter((label) => (counts.sqlByLabel.get(label) ?? '').includes('LEFT JOIN chain_transfers t ON t.payout_id = p.id WHERE p.id = $1'));
      expect(reads).toEqual([]);
      expect([...counts.byLabel.keys()].some((label) => (counts.sqlByLabel.get(label) ?? '').includes('LEFT JOIN chain_transfers t ON t.payout_id = due.id'))).toBe(true);
    });

    it('for an owner with a live webhook endpoint: the receipt by that statement, the move in a transaction that records payout.completed once', async () => {
      const payout = await minedPayout();
      const { rows } = await h.db.query<{ owner: string }>('SELECT owner_account_id AS owner FROM payouts WHERE id = $1', [payout.id]);
      await h.db.query(
        `INSERT INTO owner_webhook_endpoints (account_id, url, events, created_at, updated_at) VALUES ($1, 'https://hooks.example.com/paygate', ARRAY['payout.completed'], $2, $2)`,
        [rows[0]?.owner, h.clock.now()],
      );
      expect(await Promise.all([trackPayout(trackingDeps(), payout.id), trackPayout(trackingDeps(), payout.id)])).toEqual(['completed', 'completed']);
      expect(await facts(payout.id)).toEqual({ state: 'completed', status: 'confirmed', fees: 1, notices: 1, events: 1 });
    });
  });

  describe('a later transfer-requested for a broadcast payout, by what the chain did with it', () => {
    const cases = [
      { name: 'still pending: nothing is sent', receipt: 'pending', outcome: 'in_mempool', sends: 1, signatures: 1 },
      { name: 'mined: nothing is sent', receipt: 'mined', outcome: 'in_mempool', sends: 1, signatures: 1 },
      { name: 'mined but reverted: nothing is sent or signed again', receipt: 'reverted', outcome: 'in_mempool', sends: 1, signatures: 1 },
      { name: 'dropped from the mempool: the same bytes are sent again', receipt: 'dropped', outcome: 'broadcast', sends: 2, signatures: 1 },
      {
        name: 'dropped, and fees rose above its max fee: replaced at the same nonce with a higher fee',
        receipt: 'dropped-fees-rose',
        outcome: 'replaced',
        sends: 3,
        signatures: 2,
      },
    ] as const;

    it.each(cases)('$name', async ({ receipt, outcome, sends, signatures }) => {
      const payout = await quotedDirectPayout();
      expect(await sendTransfer(deps, payout.id)).toBe('broadcast');
      const [original] = chain.transactions();
      if (!original) throw new Error('nothing was broadcast');
      if (receipt === 'mined') chain.mine(original.hash);
      if (receipt === 'reverted') chain.mine(original.hash, { isSuccess: false });
      if (receipt === 'dropped' || receipt === 'dropped-fees-rose') chain.drop(original.hash);
      if (receipt === 'dropped-fees-rose') chain.setFees({ baseFeePerGas: 30n * GWEI });

      expect(await sendTransfer(deps, payout.id)).toBe(outcome);
      expect(chain.sent).toHaveLength(sends);
      expect(wallet.signatures()).toBe(signatures);
      expect(await recorded(payout)).toMatchObject({ state: 'transfer_broadcast', fundings: 1 });
      const live = chain.transactions().filter((tx) => tx.state !== 'dropped');
      expect(live).toHaveLength(1);
      expect(live[0]).toMatchObject({ nonce: original.nonce, to: original.to, value: AMOUNT });
      if (receipt === 'dropped-fees-rose') expect(live[0]?.maxFeePerGas).toBeGreaterThan(30n * GWEI);
      else expect(live[0]?.raw).toBe(original.raw);
    });
  });

  it.each([
    ['a swap payout whose exchange is not created yet', { destination: 'BTC', state: 'quoted' }],
    ['a payout not quoted yet', { destination: 'ETH', state: 'requested' }],
  ] as const)('signs and sends nothing for %s', async (_name, stage) => {
    const payout = await payoutAtStage(h.db, { ...stage, amountUnits: AMOUNT });
    expect(await sendTransfer(deps, payout.id)).toBe('skipped');
    expect(await recorded(payout)).toMatchObject({ state: stage.state, status: null, fundings: 0 });
    expect(chain.sent).toEqual([]);
    expect(wallet.signatures()).toBe(0);
  });
});
