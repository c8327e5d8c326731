import { formatPublicId, type PublicIdKind } from '../../ids/index.js';
import { SEVERITIES, type Severity } from '../../logging/index.js';
import { formatUnits } from '../../money/index.js';

/**
 * The terminal view of `npm start`: one readable line per pipeline step, derived from the structured
 * log events the stages already write (`payment.settled`, `payout.transfer_broadcast`, …), never from
 * prints in stage code. The JSON lines stay the record; these are a summary of them.
 */

/** A parsed JSON log line (already redacted by the logger). */
export type LogRecord = Record<string, unknown> & { severity?: unknown; message?: unknown; time?: unknown };

export interface PipelineStep {
  at: Date;
  /** Short column naming the part of the pipeline: payment, settle, invite, payout, chain, … */
  area: string;
  text: string;
}

/** What the describer remembers between events: payouts quoted as direct transfers complete on confirmation. */
export interface StepMemory {
  directPayouts: Set<string>;
}

export function createStepMemory(): StepMemory {
  return { directPayouts: new Set() };
}

const str = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' ? String(value) : '');

/** The public form of a row id (`pay_…`), or the text as is when it is not a uuid. */
function publicId(kind: PublicIdKind, value: unknown): string {
  const text = str(value);
  try {
    return formatPublicId(kind, text);
  } catch {
    return text || '?';
  }
}

/** Gas is always paid in ETH. */
function wei(value: unknown): string {
  const text = str(value);
  return /^\d+$/.test(text) ? `${formatUnits(BigInt(text), 18)} ETH` : text;
}

const pay = (ctx: LogRecord) => publicId('payment', ctx.paymentId);
const payout = (ctx: LogRecord) => publicId('payout', ctx.payoutId);
const channel = (ctx: LogRecord) => publicId('channel', ctx.channelId);
const words = (value: unknown) => str(value).replaceAll('_', ' ');

type Describer = (ctx: LogRecord, memory: StepMemory) => [area: string, text: string] | undefined;

/** Event name → step line. Events not listed print nothing unless they are warnings or worse. */
const DESCRIBERS: Record<string, Describer> = {
  'runtime.migrated': (ctx) => ['database', `ready: ${str(ctx.applied)} migrations applied, ${str(ctx.alreadyApplied)} already there`],
  'runtime.stopping': (ctx) => ['runtime', `stopping (${str(ctx.signal)})…`],
  'runtime.resumed': (ctx) => [
    'runtime',
    `resumed from ${str(ctx.dataDir)}: database${ctx.usdtContract ? `, chain (token ${str(ctx.usdtContract)})` : ''} and simulators as they were; ${str(ctx.resumedDeliveries)} undelivered message(s) sent again`,
  ],
  'runtime.mail_outbox': (ctx) => ['mail', `account mails are kept locally at ${str(ctx.url)}${ctx.dashboardApi ? ` (dashboard API: ${str(ctx.dashboardApi)})` : ''}`],
  'payment.updated': (ctx) => [
    'payment',
    `${pay(ctx)} ${str(ctx.status)}${ctx.isSettledNow === true ? ' → settled' : ''} (NowPayments payment ${str(ctx.providerPaymentId)}, ${str(ctx.source)})`,
  ],
  'payment.update_ignored': (ctx) => ['payment', `${pay(ctx)} "${str(ctx.reported)}" ignored: the payment is already ${str(ctx.status)} (repeated or out-of-order ${str(ctx.source)})`],
  'payment.settled': (ctx) => {
    const until = str(ctx.expiresAt);
    const access = until ? `, access until ${until.slice(0, 16).replace('T', ' ')} UTC` : '';
    const payoutPart = ctx.payoutId ? `; payout ${payout(ctx)} requested` : '; the owner\'s balance grows (threshold payout)';
    return ['settle', `${pay(ctx)} settled: ledger posted${access}${payoutPart}`];
  },
  'payment.settlement_duplicate': (ctx) => ['settle', `${pay(ctx)} already settled: repeated message changed nothing`],
  'invite.sent': (ctx) => ['invite', `${pay(ctx)} one-time invite link sent to the subscriber (${publicId('subscription', ctx.subscriptionId)})`],
  'invite.resent': (ctx) => ['invite', `${pay(ctx)} invite link sent again${ctx.isNewLink === true ? ' (new link)' : ''}`],
  'invite_guard.subscriber_joined': (ctx) => ['member', `user ${str(ctx.userId)} joined ${channel(ctx)} with their invite link${ctx.isRevoked === true ? ' (link now revoked)' : ''}`],
  'owner_notification.sent': (ctx) => {
    const kind = str(ctx.kind);
    const subjectKind: PublicIdKind | undefined = kind.startsWith('payout_') ? 'payout' : /^(payment|donation)_/.test(kind) ? 'payment' : undefined;
    const subject = ctx.paymentId ? ` for ${pay(ctx)}` : ctx.subjectId ? ` (${subjectKind ? publicId(subjectKind, ctx.subjectId) : str(ctx.subjectId)})` : '';
    return ['owner', `owner of ${channel(ctx)} told: ${words(ctx.kind)}${subject}`];
  },
  'subscriber_notification.sent': (ctx) => {
    const subject = str(ctx.kind).startsWith('payment_') ? publicId('payment', ctx.subjectId) : publicId('subscription', ctx.subjectId);
    return ['subscr', `subscriber told: ${words(ctx.kind)} (${subject})`];
  },
  'subscription.expired': (ctx) => ['member', `${publicId('subscription', ctx.subscriptionId)} expired: member removed`],
  'payout.held': (ctx) => [
    'payout',
    `${payout(ctx)} held for an operator${ctx.reason ? ` (${words(ctx.reason)})` : ''}: npm run payouts -- approve ${str(ctx.payoutId)} --operator <name>`,
  ],
  'payout.quoted': (ctx, memory) => {
    if (ctx.route === 'direct') {
      memory.directPayouts.add(str(ctx.payoutId));
      return ['payout', `${payout(ctx)} quoted: direct transfer from the hot wallet`];
    }
    return ['payout', `${payout(ctx)} quoted: swap ${str(ctx.fromAmount)} → ${str(ctx.toAmount)} through ChangeNow`];
  },
  'payout.deferred': (ctx) => ['payout', `${payout(ctx)} deferred: ${words(ctx.reason)}; the balance stays with the owner`],
  'payout.threshold_requested': (ctx) => ['payout', `${payout(ctx)} requested: the balance of ${channel(ctx)} reached its threshold`],
  'conversion.batch_claimed': (ctx) => [
    'convert',
    `batch ${publicId('batch', ctx.batchId)} claims the balances of ${str(ctx.channels)} channel(s) for conversion (payout ${payout(ctx)})`,
  ],
  'conversion.waiting': (ctx) => ['convert', `threshold owners' ETH waits for the next batch: ${words(ctx.reason)}`],
  'payout.requeued': (ctx) => ['payout', `${payout(ctx)} deferral over: quoting again`],
  'payout.failed': (ctx) => ['payout', `${payout(ctx)} failed (${words(ctx.code)}): the amount is back on the owner's balance`],
  'payout.swap_created': (ctx) => ['swap', `${payout(ctx)} ChangeNow exchange ${str(ctx.exchangeId)} created`],
  'payout.transfer_signed': (ctx) => ['chain', `${payout(ctx)} transfer signed and stored: ${str(ctx.txHash)} (nonce ${str(ctx.nonce)})`],
  'payout.transfer_broadcast': (ctx) => ['chain', `${payout(ctx)} transfer broadcast: ${str(ctx.txHash)} (${str(ctx.answer)})`],
  'payout.transfer_confirmed': (ctx, memory) => {
    // Logged twice: by the chain (with the block) and by tracking once the payout row has moved.
    if (ctx.blockNumber !== undefined) {
      return ['chain', `${payout(ctx)} transfer ${str(ctx.txHash)} confirmed in block ${str(ctx.blockNumber)} (gas ${wei(ctx.feeUnits)})`];
    }
    if (memory.directPayouts.delete(str(ctx.payoutId))) return ['payout', `${payout(ctx)} completed: the owner's wallet received ${str(ctx.txHash)}`];
    return undefined;
  },
  'payout.transfer_reverted': (ctx) => ['chain', `${payout(ctx)} transfer ${str(ctx.txHash)} REVERTED: payout failed, amount back on the owner's balance`],
  'payout.completed': (ctx) => [
    'payout',
    `${payout(ctx)} completed: the owner received ${str(ctx.amountTo)} (ChangeNow ${str(ctx.exchangeId)}${ctx.payoutHash ? `, tx ${str(ctx.payoutHash)}` : ''})`,
  ],
  'payout.swap_failed': (ctx) => ['payout', `${payout(ctx)} swap ${str(ctx.status)}: the amount is back on the owner's balance`],
  'payout.swap_needs_attention': (ctx) => ['payout', `${publicId('payout', ctx.subjectId)} swap failed at ChangeNow ${str(ctx.exchangeId)}: held for their support (needs attention), tracked until refunded or finished`],
  'payout.balance_requested': (ctx) => ['payout', `${payout(ctx)} requested: the owner's available ${str(ctx.asset)} balance, paid out`],
  'payment.topped_up': (ctx) => ['payment', `${pay(ctx)} more received after settlement: booked as a top-up`],
  'payment.refunded_after_settlement': (ctx) => ['payment', `${publicId('payment', ctx.subjectId)} REFUNDED after settlement: fee and net taken back, access revoked, operator alerted`],
  'dead_letter.recorded': (ctx) => ['dead', `message ${str(ctx.messageId)} from ${str(ctx.sourceSubscription)} gave up after ${str(ctx.deliveryCount)} attempts`],
  'bus.delivery': (ctx) => ['bus', str(ctx.detail)],
};

/** Bindings every stage's child logger adds: noise on a summary line. */
const QUIET_KEYS = new Set(['severity', 'message', 'time', 'consumer', 'topic', 'messageId']);

function compactContext(record: LogRecord): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (QUIET_KEYS.has(key) || key.startsWith('logging.googleapis.com/') || value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    parts.push(`${key}=${text}`);
  }
  const line = parts.join(' ');
  return line.length > 300 ? `${line.slice(0, 297)}…` : line;
}

/**
 * The step line for one log record, or undefined when the event is not a pipeline step. Warnings and
 * worse that have no wording of their own are shown compactly, so trouble is never hidden.
 */
export function describeLogRecord(record: LogRecord, memory: StepMemory = createStepMemory()): PipelineStep | undefined {
  const event = str(record.message);
  const at = typeof record.time === 'string' ? new Date(record.time) : new Date();
  const described = DESCRIBERS[event]?.(record, memory);
  if (described) return { at, area: described[0], text: described[1] };
  const severity = str(record.severity);
  if (SEVERITIES.indexOf(severity as Severity) < SEVERITIES.indexOf('WARNING')) return undefined;
  return { at, area: severity.toLowerCase(), text: `${event} ${compactContext(record)}`.trim() };
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `HH:MM:SS payout   po_… completed: …` in local time. */
export function formatStep(step: PipelineStep): string {
  const clock = `${pad2(step.at.getHours())}:${pad2(step.at.getMinutes())}:${pad2(step.at.getSeconds())}`;
  return `${clock} ${step.area.padEnd(8)} ${step.text}`;
}
