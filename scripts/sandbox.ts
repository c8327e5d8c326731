/**
 * `npm run sandbox -- …`: play a subscriber against a running `npm start`, over HTTP only.
 *
 *   npm run sandbox -- channels
 *   npm run sandbox -- pay --channel premium --tier 1 [--partial 0.5] [--repeat-ipn] [--from-post] [--user 1001]
 *   npm run sandbox -- payment <pay_… | NowPayments payment id>
 *
 * Finds the runtime through `<data-dir>/runtime.json` (written by `npm start`; `--data-dir` as given to
 * it), or `--url http://127.0.0.1:8080`. Exits 0 when the journey ran, 1 when a step failed or timed
 * out, 2 on a usage error.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repositoryRoot } from '../shared/bus/topology.js';
import { readRuntimeState, runtimeStateFile } from '../shared/testing/sandbox/runtime-state.js';
import { createSandboxClient, SandboxHttpError } from '../shared/testing/sandbox/sandbox-client.js';
import { playPurchase, SandboxJourneyError } from '../shared/testing/sandbox/sandbox-purchase.js';
import type { PaymentView } from '../shared/testing/sandbox/sandbox-payment-views.js';

const USAGE = `usage:
  npm run sandbox -- channels
  npm run sandbox -- pay --channel <ch_… | alias> --tier <1-3> [--partial <fraction, e.g. 0.5 or 1.2>] [--repeat-ipn] [--from-post] [--user <telegram id>] [--timeout <seconds per step>]
      --from-post: start from the tier button of the bot's post in the channel's open chat (posted first if there is none)
  npm run sandbox -- payment <pay_… | NowPayments payment id>
options for every command: --url <runtime URL> | --data-dir <folder given to npm start>`;

class UsageError extends Error {}

const pad2 = (n: number) => String(n).padStart(2, '0');
function say(line: string): void {
  const now = new Date();
  process.stdout.write(`${pad2(now.getHours())}:${pad2(now.getMinutes())}:${pad2(now.getSeconds())} ${line}\n`);
}

function resolveRuntimeUrl(values: { url?: string; 'data-dir'?: string }): string {
  if (values.url) return values.url;
  const dataDir = path.resolve(values['data-dir'] ?? path.join(repositoryRoot(), '.data'));
  const state = readRuntimeState(dataDir);
  if (!state) {
    throw new SandboxJourneyError(`No running sandbox found: ${runtimeStateFile(dataDir)} does not exist. Start one with \`npm start\` (or pass --url / --data-dir).`);
  }
  return state.url;
}

function parseTier(text: string | undefined): number {
  if (!/^[1-3]$/.test(text ?? '')) throw new UsageError('--tier must be 1, 2 or 3');
  return Number.parseInt(text ?? '', 10);
}

function parseFraction(text: string | undefined): string {
  if (text === undefined) return '1';
  if (!/^\d{1,3}(\.\d{1,8})?$/.test(text) || /^0(\.0*)?$/.test(text)) throw new UsageError('--partial must be a positive decimal such as 0.5 (half) or 1.2 (overpaid)');
  return text;
}

function describePayment(payment: PaymentView): string[] {
  const lines = [
    `payment      ${payment.id} (NowPayments ${payment.providerPaymentId}) ${payment.status}${payment.isSettled ? ', settled' : ', not settled'}`,
    `channel      ${payment.channel.title} (${payment.channel.id}), tier ${payment.tier ?? '-'}, $${payment.priceUsd}, paid ${payment.paid ?? '-'}`,
    `subscription ${payment.subscription ? `${payment.subscription.id} ${payment.subscription.status} until ${payment.subscription.expiresAt}` : '-'}`,
    `invite       ${payment.invite ? `sent ${payment.invite.sentAt ?? '-'}, joined ${payment.invite.joinedAt ?? '-'}` : '-'}`,
  ];
  for (const transaction of payment.ledger) {
    lines.push(`ledger       ${transaction.kind} ${transaction.id}: ${transaction.entries.map((entry) => `${entry.account} ${entry.amount}`).join(', ')}`);
  }
  const payout = payment.payout;
  if (payout) {
    lines.push(`payout       ${payout.id} ${payout.state}: ${payout.amount} → ${payout.destination}${payout.transfer ? `, tx ${payout.transfer.txHash} (${payout.transfer.status})` : ''}`);
  }
  return lines;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'data-dir': { type: 'string' },
      channel: { type: 'string' },
      tier: { type: 'string' },
      partial: { type: 'string' },
      'repeat-ipn': { type: 'boolean', default: false },
      'from-post': { type: 'boolean', default: false },
      user: { type: 'string' },
      timeout: { type: 'string' },
    },
  });
  const [command, argument] = positionals;
  if (command !== 'channels' && command !== 'pay' && command !== 'payment') throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  const client = createSandboxClient(resolveRuntimeUrl(values));

  if (command === 'channels') {
    for (const channel of await client.channels()) {
      const tiers = channel.tiers.map((tier) => `tier ${tier.tier}: $${tier.priceUsd}/${tier.durationDays}d`).join(', ');
      const balance = channel.ownerBalance.map((entry) => entry.amount).join(' + ') || '0';
      const threshold = channel.thresholdUsd ? ` at $${channel.thresholdUsd}` : '';
      process.stdout.write(`${channel.alias.padEnd(8)} ${channel.id}  ${channel.title.padEnd(14)} ${channel.strategy}${threshold}; ${tiers}; owner balance ${balance}\n`);
    }
    return;
  }

  if (command === 'payment') {
    if (!argument) throw new UsageError('payment needs an id');
    const payment = await client.payment(argument);
    if (!payment) throw new SandboxJourneyError(`No payment ${argument}.`);
    for (const line of describePayment(payment)) process.stdout.write(`${line}\n`);
    return;
  }

  if (!values.channel) throw new UsageError('pay needs --channel (see: npm run sandbox -- channels)');
  const userId = values.user === undefined ? undefined : Number.parseInt(values.user, 10);
  if (userId !== undefined && (!Number.isSafeInteger(userId) || userId <= 0 || !/^\d+$/.test(values.user ?? ''))) throw new UsageError('--user must be a Telegram user id');
  const timeoutSeconds = values.timeout === undefined ? 120 : Number.parseInt(values.timeout, 10);
  if (!Number.isSafeInteger(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError('--timeout must be a number of seconds');
  const result = await playPurchase(
    client,
    {
      channel: values.channel,
      tier: parseTier(values.tier),
      fraction: parseFraction(values.partial),
      repeatIpn: values['repeat-ipn'],
      fromPost: values['from-post'],
      ...(userId !== undefined && { userId }),
      stepTimeoutMs: timeoutSeconds * 1000,
    },
    say,
  );
  const summary: Record<typeof result.outcome, string> = {
    payout_completed: `instant payout ${result.payment.payout?.id ?? ''} completed`,
    balance_accumulated: `threshold channel: the owner's balance is ${result.channelAfter.ownerBalance.map((entry) => entry.amount).join(' + ') || '0'}`,
    not_settled: `payment ${result.payment.id} ${result.payment.status}, not settled`,
    payout_stopped: `payout ${result.payment.payout?.id ?? ''} is ${result.payment.payout?.state ?? '?'}`,
  };
  say(`done      ${summary[result.outcome]}`);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  const message = error instanceof SandboxJourneyError || error instanceof SandboxHttpError ? error.message : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`sandbox: ${message}\n`);
  process.exit(1);
});
