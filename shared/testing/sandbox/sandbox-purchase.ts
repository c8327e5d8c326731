import { DEMO_SUBSCRIBER_TELEGRAM_ID } from './demo-seed.js';
import type { InlineButton, SandboxClient, SandboxMessage, WalletBalance } from './sandbox-client.js';
import type { PaymentView } from './sandbox-payment-views.js';
import type { ChannelView } from './sandbox-views.js';

/** The journey could not go on: a clear message for the person at the terminal. */
export class SandboxJourneyError extends Error {
  override name = 'SandboxJourneyError';
}

export interface PurchaseOptions {
  /** The channel's public id (`ch_…`), its alias (`premium`, `club`) or its title. */
  channel: string;
  /** Tier number, 1–3. */
  tier: number;
  /** Part of the invoice paid, as decimal text: '1' (default) in full, '0.5' half, '1.2' overpaid. */
  fraction?: string;
  /** Send every IPN twice (settlement must still happen once). */
  repeatIpn?: boolean;
  /** Start from the tier button of the bot's post in the open channel (posting it first when there is none), not from the channel's link. */
  fromPost?: boolean;
  /** The subscriber's Telegram id. Default Alice (1001), seeded with the demo. */
  userId?: number;
  /** Longest wait for any one step. Default 120 s (a payout waits for track-payouts). */
  stepTimeoutMs?: number;
  /** Polling interval. Default 250 ms. */
  pollMs?: number;
}

export type PurchaseOutcome =
  /** An instant payout reached the owner's wallet. */
  | 'payout_completed'
  /** A threshold channel: the owner's balance grew. */
  | 'balance_accumulated'
  /** Underpaid (or otherwise not counted as paid): no access, no payout. */
  | 'not_settled'
  /** An instant payout that ended elsewhere: held, deferred, failed, refunded. */
  | 'payout_stopped';

export interface PurchaseResult {
  outcome: PurchaseOutcome;
  channel: ChannelView;
  payment: PaymentView;
  /** The channel after the payment (owner balance). */
  channelAfter: ChannelView;
  /** The owner's wallet on the local chain, after an instant payout. */
  wallet: WalletBalance | null;
  /** The invoice that was paid: the open checkout's, when one was reused. */
  invoiceId: string;
  ipnDeliveries: number;
}

const TERMINAL_PAYOUT_STATES = new Set(['completed', 'failed', 'refunded', 'cancelled', 'held', 'deferred']);
const TRACKING_STATES = new Set(['transfer_signed', 'transfer_broadcast', 'awaiting_swap', 'needs_attention']);
const INVITE_LINK = /https:\/\/t\.me\/\+[A-Za-z0-9_-]+/;
/** Asking the scheduler to run track-payouts now, at most this often. */
const TRACKING_NUDGE_MS = 3_000;

/** The channel named by a public id, alias or title; the error lists what exists. */
export function resolveChannel(channels: ChannelView[], name: string): ChannelView {
  const wanted = name.trim().toLowerCase();
  const found = channels.find((channel) => channel.id === name.trim() || channel.alias === wanted || channel.title.toLowerCase() === wanted);
  if (found) return found;
  const known = channels.map((channel) => `${channel.alias} (${channel.id}, ${channel.title})`).join(', ') || 'none';
  throw new SandboxJourneyError(`No channel "${name}". Known channels: ${known}. List them with: npm run sandbox -- channels`);
}

const buttonsOf = (message: SandboxMessage | undefined): InlineButton[] => message?.replyMarkup?.inline_keyboard?.flat() ?? [];
/** Telegram HTML as plain text for a terminal line. */
export function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&')
    .replace(/\s*\n+\s*/g, ' · ')
    .trim();
}

export interface InvoiceRequest {
  /** The channel's public id (`ch_…`), its alias (`premium`, `club`) or its title. */
  channel: string;
  /** Tier number, 1–3. */
  tier: number;
  /** Start from the tier button of the open channel's post instead of the channel's link. */
  fromPost?: boolean;
  /** The subscriber's Telegram id. Default Alice (1001), seeded with the demo. */
  userId?: number;
  /** Longest wait for the bot's answers. Default 120 s. */
  stepTimeoutMs?: number;
  /** Polling interval. Default 250 ms. */
  pollMs?: number;
}

export interface RequestedInvoice {
  channel: ChannelView;
  /** The NowPayments invoice id from the Pay button's URL. */
  invoiceId: string;
  invoiceUrl: string;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, wait: { timeoutMs: number; pollMs: number; onIdle?: () => Promise<void> }): Promise<T> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new SandboxJourneyError(`Timed out after ${Math.round(wait.timeoutMs / 1000)} s waiting for ${what}.`);
    await wait.onIdle?.();
    await new Promise((resolve) => setTimeout(resolve, wait.pollMs));
  }
}

/** The scheduler job that posts the tier buttons. */
const BROADCAST_JOB = 'broadcast-tiers-every-5-minutes';

/**
 * The button for `tier` on the bot's latest post in the channel's open chat. With no post yet, asks
 * the scheduler to run the broadcaster now and waits for the post.
 */
async function tierPostButton(
  client: SandboxClient,
  channel: ChannelView,
  tier: number,
  wait: { timeoutMs: number; pollMs: number },
  report: (line: string) => void,
): Promise<InlineButton> {
  const latestPost = async () => (await client.messages(Number(channel.openChatId))).filter((message) => buttonsOf(message).some((button) => button.url?.includes('?start='))).at(-1);
  if (!(await latestPost())) {
    await client.runJob(BROADCAST_JOB);
    report(`scheduler ${BROADCAST_JOB} runs now: the channel has no tier post yet`);
  }
  const post = await waitFor(`the tier post in ${channel.title}'s open channel`, latestPost, wait);
  report(`telegram  ${channel.title} (public) shows: ${buttonsOf(post).map((button) => button.text).join(' | ')}`);
  const button = buttonsOf(post).find((candidate) => candidate.url && new URL(candidate.url).searchParams.get('start')?.endsWith(`_${tier}`));
  if (!button) throw new SandboxJourneyError(`The post in ${channel.title}'s open channel has no button for tier ${tier}: ${buttonsOf(post).map((b) => b.text).join(' | ')}`);
  return button;
}

/**
 * The first half of a purchase: `/start` with the channel's deep-link payload and the tier button, up
 * to the bot's Pay button. The checkout stays open (unpaid); asking again while it is valid gets the
 * same invoice back.
 *
 * @throws SandboxJourneyError when the bot does not answer within `stepTimeoutMs` or offers no such tier.
 */
export async function requestInvoice(client: SandboxClient, options: InvoiceRequest, report: (line: string) => void): Promise<RequestedInvoice> {
  const userId = options.userId ?? DEMO_SUBSCRIBER_TELEGRAM_ID;
  const wait = { timeoutMs: options.stepTimeoutMs ?? 120_000, pollMs: options.pollMs ?? 250 };
  const newMessages = async (afterId: number) => (await client.messages(userId)).filter((message) => message.messageId > afterId);
  const lastMessageId = async () => (await client.messages(userId)).reduce((max, message) => Math.max(max, message.messageId), 0);

  const channel = resolveChannel(await client.channels(), options.channel);
  const tierInfo = channel.tiers.find((tier) => tier.tier === options.tier);
  if (!tierInfo) {
    throw new SandboxJourneyError(`${channel.title} has no tier ${options.tier}; it has ${channel.tiers.map((tier) => tier.tier).join(', ') || 'none'}.`);
  }
  report(`channel   ${channel.title} (${channel.id}): ${channel.strategy} payout to ${channel.payoutWallet}; tier ${tierInfo.tier} = $${tierInfo.priceUsd} for ${tierInfo.durationDays} days`);

  if (userId !== DEMO_SUBSCRIBER_TELEGRAM_ID) await client.addUser({ id: userId, first_name: `Subscriber ${userId}`, language_code: 'en' });
  let seen = await lastMessageId();
  let tierMessage: SandboxMessage | undefined;
  if (options.fromPost) {
    const button = await tierPostButton(client, channel, options.tier, wait, report);
    const payload = new URL(button.url ?? '').searchParams.get('start') ?? '';
    await client.sendText(userId, `/start ${payload}`);
    report(`telegram  user ${userId} taps "${button.text}" in the channel → bot: /start ${payload}`);
  } else {
    await client.sendText(userId, `/start ${channel.startPayload}`);
    report(`telegram  user ${userId} → bot: /start ${channel.startPayload}`);
    const offer = await waitFor(
      'the bot to offer the tiers',
      async () => (await newMessages(seen)).find((message) => buttonsOf(message).some((button) => button.callback_data && /^Tier \d/.test(button.text))),
      wait,
    );
    const tierButton = buttonsOf(offer).find((button) => button.callback_data && new RegExp(`^Tier ${options.tier}\\b`).test(button.text));
    if (!tierButton?.callback_data) throw new SandboxJourneyError(`The bot offered no "Tier ${options.tier}" button: ${buttonsOf(offer).map((b) => b.text).join(' | ')}`);
    report(`telegram  bot → ${buttonsOf(offer).filter((button) => button.callback_data).map((button) => button.text).join(' | ')}`);
    seen = offer.messageId;
    tierMessage = offer;
    await client.click(userId, offer.messageId, tierButton.callback_data);
    report(`telegram  user ${userId} taps "${tierButton.text}"`);
  }
  const payButton = await waitFor(
    'the bot\'s Pay button',
    async () => {
      for (const message of [...(tierMessage ? [tierMessage] : []), ...(await newMessages(seen))].reverse()) {
        const button = buttonsOf(message).find((candidate) => candidate.url && /\/invoice\/[^/?#]+/.test(candidate.url));
        if (button) return button;
      }
      return undefined;
    },
    wait,
  );
  const invoiceId = /\/invoice\/([^/?#]+)/.exec(payButton.url ?? '')?.[1] ?? '';
  report(`telegram  bot → "${payButton.text}" opens ${payButton.url}`);
  return { channel, invoiceId, invoiceUrl: payButton.url ?? '' };
}

/**
 * Plays a subscriber buying a tier, the way a person would in Telegram, through the runtime's sandbox
 * API only: `/start` with the channel's deep-link payload, the tier button, the Pay button's invoice,
 * a (partial, overpaid, repeated-IPN) payment in the NowPayments simulator, the invite link and the
 * join; then waits for the payout. Each step is reported through `report` as it happens.
 *
 * @throws SandboxJourneyError when a step does not happen within `stepTimeoutMs`, or the bot answers
 *   something unexpected.
 */
export async function playPurchase(client: SandboxClient, options: PurchaseOptions, report: (line: string) => void): Promise<PurchaseResult> {
  const userId = options.userId ?? DEMO_SUBSCRIBER_TELEGRAM_ID;
  const stepTimeoutMs = options.stepTimeoutMs ?? 120_000;
  const pollMs = options.pollMs ?? 250;
  const fraction = options.fraction ?? '1';
  const waitUntil = <T>(what: string, probe: () => Promise<T | undefined>, wait: { onIdle?: () => Promise<void>; timeoutMs?: number } = {}): Promise<T> =>
    waitFor(what, probe, { timeoutMs: wait.timeoutMs ?? stepTimeoutMs, pollMs, onIdle: wait.onIdle });
  const newMessages = async (afterId: number) => (await client.messages(userId)).filter((message) => message.messageId > afterId);
  const lastMessageId = async () => (await client.messages(userId)).reduce((max, message) => Math.max(max, message.messageId), 0);

  const { channel, invoiceId } = await requestInvoice(
    client,
    { channel: options.channel, tier: options.tier, userId, stepTimeoutMs, pollMs, ...(options.fromPost && { fromPost: true }) },
    report,
  );

  let seen = await lastMessageId();
  const paid = await client.pay(invoiceId, { fraction, ...(options.repeatIpn && { repeatEachIpn: 2 }) });
  const sim = paid.payment;
  report(
    `nowpay    invoice ${invoiceId}: paid ${sim.actuallyPaid} of ${sim.payAmount} ${sim.payCurrency.toUpperCase()} → payment ${sim.paymentId} ${sim.status}; ` +
      `${paid.ipnDeliveries.length} IPNs sent (${paid.ipnDeliveries.map((delivery) => `${delivery.status}→${delivery.httpStatus}`).join(', ')})`,
  );

  const settledOrFinal = await waitUntil(`payment ${sim.paymentId} to reach ${sim.status}`, async () => {
    const view = await client.payment(sim.paymentId);
    return view && (view.isSettled || view.status === sim.status) ? view : undefined;
  });
  if (!settledOrFinal.isSettled) {
    report(`payment   ${settledOrFinal.id} ${settledOrFinal.status}, not settled (paid ${settledOrFinal.paid ?? '?'}): no access and no payout`);
    const notice = await waitUntil('the bot to tell the subscriber', async () => (await newMessages(seen)).at(-1), { timeoutMs: 10_000 }).catch(() => undefined);
    if (notice) report(`telegram  bot → ${plainText(notice.text)}`);
    const channelAfter = resolveChannel(await client.channels(), channel.id);
    return { outcome: 'not_settled', channel, payment: settledOrFinal, channelAfter, wallet: null, invoiceId, ipnDeliveries: paid.ipnDeliveries.length };
  }
  report(`payment   ${settledOrFinal.id} ${settledOrFinal.status} and settled (${settledOrFinal.outcome ?? '?'} to the gateway)`);

  const withInvite = await waitUntil('the invite to be sent', async () => {
    const view = await client.payment(settledOrFinal.id);
    return view?.invite?.sentAt ? view : undefined;
  });
  const inviteLink = await waitUntil('the invite link in the subscriber\'s chat', async () => {
    for (const message of (await newMessages(seen)).reverse()) {
      const link = INVITE_LINK.exec(message.text)?.[0];
      if (link) return link;
    }
    return undefined;
  });
  report(`invite    bot → ${inviteLink} (subscription ${withInvite.subscription?.id ?? '?'} ${withInvite.subscription?.status ?? '?'} until ${withInvite.subscription?.expiresAt ?? '?'})`);

  const joined = await client.join(userId, inviteLink);
  if (joined.joined) {
    await waitUntil('the join to be recorded', async () => ((await client.payment(settledOrFinal.id))?.invite?.joinedAt ? true : undefined));
    report(`member    user ${userId} joined ${channel.title}`);
  } else if (joined.reason === 'already_member') {
    report(`member    user ${userId} is already in ${channel.title}: this payment extends the subscription`);
  } else {
    throw new SandboxJourneyError(`Telegram refused the invite link: ${joined.reason ?? 'unknown reason'}`);
  }

  let payment = (await client.payment(settledOrFinal.id)) ?? withInvite;
  const settlements = payment.ledger.filter((transaction) => transaction.kind === 'payment_settled').length;
  if (options.repeatIpn) report(`ipn       every IPN was sent twice; the ledger holds ${settlements} payment_settled transaction(s) for ${payment.id}`);

  if (channel.strategy !== 'instant') {
    const channelAfter = resolveChannel(await client.channels(), channel.id);
    const balance = channelAfter.ownerBalance.map((entry) => entry.amount).join(' + ') || '0';
    report(`balance   ${channel.title} is paid out at $${channel.thresholdUsd ?? '?'}: the owner's balance is now ${balance}`);
    return { outcome: 'balance_accumulated', channel, payment, channelAfter, wallet: null, invoiceId, ipnDeliveries: paid.ipnDeliveries.length };
  }

  const runtime = await client.runtime();
  const trackingJob = runtime.scheduledJobs.find((name) => name.startsWith('track-payouts'));
  let lastState = '';
  let lastNudge = 0;
  let hasNudged = false;
  payment = await waitUntil(
    'the payout to finish',
    async () => {
      const view = await client.payment(settledOrFinal.id);
      const payout = view?.payout;
      if (!view || !payout) return undefined;
      // Final states get their own closing lines below.
      if (payout.state !== lastState && !TERMINAL_PAYOUT_STATES.has(payout.state)) {
        lastState = payout.state;
        const hash = payout.transfer ? ` ${payout.transfer.txHash}` : '';
        report(`payout    ${payout.id} ${payout.state}${TRACKING_STATES.has(payout.state) ? hash : ''}`);
      }
      return TERMINAL_PAYOUT_STATES.has(payout.state) ? view : undefined;
    },
    {
      onIdle: async () => {
        // track-payouts runs every minute; ask for it now instead of waiting, as `gcloud scheduler jobs run` would.
        if (!trackingJob || !TRACKING_STATES.has(lastState) || Date.now() - lastNudge < TRACKING_NUDGE_MS) return;
        lastNudge = Date.now();
        if (!hasNudged) report(`scheduler running ${trackingJob} now instead of waiting for its minute`);
        hasNudged = true;
        await client.runJob(trackingJob);
      },
    },
  );
  const payout = payment.payout;
  const channelAfter = resolveChannel(await client.channels(), channel.id);
  if (payout?.state !== 'completed') {
    const why = payout?.heldReason ?? payout?.failureCode ?? (payout?.deferredUntil ? `until ${payout.deferredUntil}` : '');
    report(`payout    ${payout?.id ?? '?'} stopped at ${payout?.state ?? '?'}${why ? ` (${why})` : ''}`);
    return { outcome: 'payout_stopped', channel, payment, channelAfter, wallet: null, invoiceId, ipnDeliveries: paid.ipnDeliveries.length };
  }
  const wallet = await client.wallet(channel.payoutWallet).catch(() => null);
  const tx = payout.transfer;
  report(
    `payout    ${payout.id} completed: ${payout.amount} to ${channel.payoutWallet}` +
      (tx ? ` in tx ${tx.txHash} (block ${tx.blockNumber ?? '?'}, gas ${tx.gas ?? '?'})` : '') +
      (payout.swap ? `, via ChangeNow ${payout.swap.exchangeId} (${payout.swap.receivedAmount ?? '?'} received)` : ''),
  );
  if (wallet) report(`wallet    ${wallet.address} now holds ${wallet.eth} ETH${wallet.usdt !== null ? ` and ${wallet.usdt} USDT` : ''} on the local chain`);
  return { outcome: 'payout_completed', channel, payment, channelAfter, wallet, invoiceId, ipnDeliveries: paid.ipnDeliveries.length };
}
