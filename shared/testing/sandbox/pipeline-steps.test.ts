import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../../ids/index.js';
import { createStepMemory, describeLogRecord, formatStep, type LogRecord } from './pipeline-steps.js';
import { createRuntimeLog } from './runtime-log.js';

const PAYMENT = 'b81fa5b7-973a-42bd-8fbd-5f8fe214067d';
const PAYMENT_ID = formatPublicId('payment', PAYMENT);
const PAYOUT = 'c378abdf-848c-4b73-8d54-b7074f7b51be';
const PAYOUT_ID = formatPublicId('payout', PAYOUT);
const CHANNEL = 'cbe9a9fa-733c-4379-ba72-01599f9bb5cf';
const SUBSCRIPTION = '2690aff5-5907-4fea-a6ca-15c9620e001f';
const TX = '0xc989fa1507a003f94ab442ac4841950d33c863b591fab24255dfe91dfb1189ef';
const TIME = '2026-11-30T01:33:57.809Z';

const record = (message: string, context: Record<string, unknown>, severity = 'INFO'): LogRecord => ({
  severity,
  message,
  time: TIME,
  consumer: 'some-stage',
  topic: 'some-topic',
  messageId: 'a378683b-9df1-4b4e-8fe6-27c74acc7098',
  ...context,
});

describe('describeLogRecord', () => {
  const cases: { event: string; context: Record<string, unknown>; area: string; text: string }[] = [
    {
      event: 'runtime.resumed',
      context: { dataDir: '/repo/.data', resumedDeliveries: 2, usdtContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
      area: 'runtime',
      text: 'resumed from /repo/.data: database, chain (token 0x5FbDB2315678afecb367f032d93F642f64180aa3) and simulators as they were; 2 undelivered message(s) sent again',
    },
    {
      event: 'payment.updated',
      context: { paymentId: PAYMENT, providerPaymentId: '4613143670', status: 'finished', isSettledNow: true, source: 'ipn' },
      area: 'payment',
      text: `${PAYMENT_ID} finished → settled (NowPayments payment 4613143670, ipn)`,
    },
    {
      event: 'payment.settled',
      context: { paymentId: PAYMENT, feeUnits: '99400500000000', netUnits: '3213949500000000', payoutId: PAYOUT, expiresAt: '2026-12-30T01:33:57.675Z' },
      area: 'settle',
      text: `${PAYMENT_ID} settled: ledger posted, access until 2026-12-30 01:33 UTC; payout ${PAYOUT_ID} requested`,
    },
    {
      event: 'payment.settled',
      context: { paymentId: PAYMENT, feeUnits: '1', netUnits: '2', expiresAt: '2026-12-30T01:33:57.675Z' },
      area: 'settle',
      text: `${PAYMENT_ID} settled: ledger posted, access until 2026-12-30 01:33 UTC; the owner's balance grows (threshold payout)`,
    },
    {
      event: 'invite.sent',
      context: { paymentId: PAYMENT, subscriptionId: SUBSCRIPTION },
      area: 'invite',
      text: `${PAYMENT_ID} one-time invite link sent to the subscriber (${formatPublicId('subscription', SUBSCRIPTION)})`,
    },
    {
      event: 'owner_notification.sent',
      context: { channelId: CHANNEL, kind: 'payment_received', paymentId: PAYMENT },
      area: 'owner',
      text: `owner of ${formatPublicId('channel', CHANNEL)} told: payment received for ${PAYMENT_ID}`,
    },
    {
      event: 'payout.transfer_broadcast',
      context: { payoutId: PAYOUT, txHash: TX, nonce: '1', answer: 'accepted' },
      area: 'chain',
      text: `${PAYOUT_ID} transfer broadcast: ${TX} (accepted)`,
    },
    {
      event: 'payout.transfer_confirmed',
      context: { payoutId: PAYOUT, txHash: TX, blockNumber: '2', feeUnits: '39466773507000' },
      area: 'chain',
      text: `${PAYOUT_ID} transfer ${TX} confirmed in block 2 (gas 0.000039466773507 ETH)`,
    },
    {
      event: 'payout.completed',
      context: { payoutId: PAYOUT, exchangeId: 'ex1', amountTo: '9.5', payoutHash: '0xabc' },
      area: 'payout',
      text: `${PAYOUT_ID} completed: the owner received 9.5 (ChangeNow ex1, tx 0xabc)`,
    },
    {
      event: 'payout.deferred',
      context: { payoutId: PAYOUT, reason: 'below_swap_minimum' },
      area: 'payout',
      text: `${PAYOUT_ID} deferred: below swap minimum; the balance stays with the owner`,
    },
  ];

  it.each(cases)('words $event as a $area step', ({ event, context, area, text }) => {
    expect(describeLogRecord(record(event, context))).toEqual({ at: new Date(TIME), area, text });
  });

  it('says a direct payout completed when tracking confirms its transfer, and stays silent for a swap payout', () => {
    const memory = createStepMemory();
    describeLogRecord(record('payout.quoted', { payoutId: PAYOUT, route: 'direct' }), memory);
    const confirmed = record('payout.transfer_confirmed', { payoutId: PAYOUT, txHash: TX });
    expect(describeLogRecord(confirmed, memory)?.text).toBe(`${PAYOUT_ID} completed: the owner's wallet received ${TX}`);
    expect(describeLogRecord(confirmed, memory)).toBeUndefined();
  });

  it('ignores routine events and shows unworded warnings compactly, without the delivery bindings', () => {
    expect(describeLogRecord(record('outbox.relayed', { published: 0 }))).toBeUndefined();
    expect(describeLogRecord(record('invite.revoke_failed', { paymentId: PAYMENT, code: 'telegram_refused' }, 'WARNING'))).toEqual({
      at: new Date(TIME),
      area: 'warning',
      text: `invite.revoke_failed paymentId=${PAYMENT} code=telegram_refused`,
    });
  });

  it('formats a step as time, area and text', () => {
    const at = new Date(2026, 10, 30, 1, 2, 3);
    expect(formatStep({ at, area: 'payout', text: 'po_x completed' })).toBe('01:02:03 payout   po_x completed');
  });
});

describe('createRuntimeLog', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it('keeps every redacted JSON line in the file and prints only step lines', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'pgp-runtime-log-'));
    folders.push(folder);
    const jsonFile = path.join(folder, 'logs', 'runtime.jsonl');
    const printed: string[] = [];
    const log = createRuntimeLog({ jsonFile, write: (line) => printed.push(line) });
    log.logger.info('outbox.relayed', { published: 0 });
    log.logger.child({ consumer: 'send-invite' }).info('invite.sent', { paymentId: PAYMENT, subscriptionId: SUBSCRIPTION, apiKey: 'sk-live-secret' });
    log.close();

    const lines = (await readFile(jsonFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as LogRecord);
    expect(lines.map((line) => line.message)).toEqual(['outbox.relayed', 'invite.sent']);
    expect(lines[1]?.apiKey).toBe('[REDACTED]');
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d invite   ${PAYMENT_ID} one-time invite link sent`));
    expect(printed.join('\n')).not.toContain('sk-live-secret');
  });

  it('prints the JSON lines themselves when asked to', () => {
    const printed: string[] = [];
    const log = createRuntimeLog({ printJson: true, write: (line) => printed.push(line) });
    log.logger.info('outbox.relayed', { published: 0 });
    expect(JSON.parse(printed[0] ?? '')).toMatchObject({ severity: 'INFO', message: 'outbox.relayed', published: 0 });
  });
});
