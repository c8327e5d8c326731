import { checkChannelSettings, settingsFromCreateInput } from '../../../shared/channels/channel-rules';
import { CreateChannelInputSchema, MAX_TIERS, type CreateChannelInput } from '../../../shared/channels/channel-schemas';
// The pure modules only: shared/wallets/index also exports the sealed-wallet helpers, which need node:crypto.
import { validatePayoutAddress } from '../../../shared/wallets/payout-address';
import { findPayoutNetwork } from '../../../shared/wallets/payout-networks';
import type { Channel, ChannelChanges, ChannelInput } from '../api/client';

/**
 * The register / edit channel form as data: its values (what the inputs hold, as text), the request
 * body they make, and every check the server would make that does not need the server. The checks
 * are the server's own code, bundled from shared/: the request schemas (`channel-schemas`), the
 * whole-channel rules (`checkChannelSettings`: open ≠ closed chat, donation bounds, …) and the
 * wallet validator with checksums (`shared/wallets`). Only the configured minimums (tier price,
 * threshold) and Telegram's answer are left to the server; its field errors land on the same inputs,
 * keyed by the same paths (`tiers.0.priceUsd`).
 */
export interface TierValues {
  priceUsd: string;
  durationDays: string;
  /** Free trial days, "0" for none. */
  trialDays: string;
}

export interface ChannelFormValues {
  openChat: { id: string; title: string; description: string };
  closedChat: { id: string; title: string; description: string };
  tiers: TierValues[];
  donations: { enabled: boolean; minUsd: string; maxUsd: string; message: string };
  payout: { network: string; currency: string; wallet: string; extraId: string };
  strategy: 'instant' | 'threshold';
  thresholdUsd: string;
  /** Percent of the price a partial payment must reach to count ("98" = 9800 basis points). */
  tolerancePercent: string;
  gracePeriodHours: string;
  /** Trials only for Telegram accounts the bot has known this many days; empty = any account. */
  trialMinAccountAgeDays: string;
  broadcastEnabled: boolean;
  broadcastIntervalHours: string;
  notificationsEnabled: boolean;
  /** Empty: the linked Telegram account. */
  notificationChatId: string;
  currentPassword: string;
}

export type FieldErrors = Record<string, string>;

export function emptyChannelForm(): ChannelFormValues {
  return {
    openChat: { id: '', title: '', description: '' },
    closedChat: { id: '', title: '', description: '' },
    tiers: [{ priceUsd: '', durationDays: '30', trialDays: '0' }],
    donations: { enabled: false, minUsd: '', maxUsd: '', message: '' },
    payout: { network: '', currency: '', wallet: '', extraId: '' },
    strategy: 'instant',
    thresholdUsd: '',
    tolerancePercent: '98',
    gracePeriodHours: '0',
    trialMinAccountAgeDays: '',
    broadcastEnabled: true,
    broadcastIntervalHours: '24',
    notificationsEnabled: true,
    notificationChatId: '',
    currentPassword: '',
  };
}

/** The form filled with a stored channel (edit). */
export function channelFormOf(channel: Channel): ChannelFormValues {
  return {
    openChat: { ...channel.openChat },
    closedChat: { ...channel.closedChat },
    tiers: channel.tiers.map((tier) => ({ priceUsd: tier.priceUsd, durationDays: String(tier.durationDays), trialDays: String(tier.trialDays) })),
    donations: {
      enabled: channel.donations.enabled,
      minUsd: channel.donations.minUsd ?? '',
      maxUsd: channel.donations.maxUsd ?? '',
      message: channel.donations.message ?? '',
    },
    payout: {
      network: channel.payoutDestination.network,
      currency: channel.payoutDestination.currency,
      wallet: channel.payoutDestination.wallet,
      extraId: channel.payoutDestination.extraId ?? '',
    },
    strategy: channel.payoutStrategy.strategy,
    thresholdUsd: channel.payoutStrategy.thresholdUsd ?? '',
    tolerancePercent: formatPercent(channel.underpaymentToleranceBps),
    gracePeriodHours: String(channel.gracePeriodHours),
    trialMinAccountAgeDays: channel.trialMinAccountAgeDays === null ? '' : String(channel.trialMinAccountAgeDays),
    broadcastEnabled: channel.broadcast.enabled,
    broadcastIntervalHours: String(channel.broadcast.intervalHours),
    notificationsEnabled: channel.notifications.enabled,
    notificationChatId: channel.notifications.chatId ?? '',
    currentPassword: '',
  };
}

function formatPercent(bps: number): string {
  return (bps / 100).toFixed(2).replace(/\.?0+$/, '');
}

/** "30" → 30; anything that is not plain digits → NaN, which the schemas refuse with their own message. */
function wholeNumber(text: string): number {
  return /^\s*\d{1,9}\s*$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
}

/** "98.5" → 9850 basis points; NaN when it is not a percentage with at most two decimals. */
export function percentToBps(text: string): number {
  const match = /^\s*(\d{1,3})(?:[.,](\d{1,2}))?\s*$/.exec(text);
  if (!match) return Number.NaN;
  return Number.parseInt(match[1]!, 10) * 100 + Number.parseInt((match[2] ?? '').padEnd(2, '0'), 10);
}

const trimmed = (text: string) => text.trim();

/** The request body the values make (without the password), checked or not. */
export function channelBodyOf(values: ChannelFormValues): Omit<ChannelInput, 'currentPassword'> {
  const chat = (input: ChannelFormValues['openChat']) => ({ id: trimmed(input.id), title: input.title, description: input.description });
  return {
    openChat: chat(values.openChat),
    closedChat: chat(values.closedChat),
    tiers: values.tiers.map((tier) => ({ priceUsd: trimmed(tier.priceUsd), durationDays: wholeNumber(tier.durationDays), trialDays: wholeNumber(tier.trialDays) })),
    donations: values.donations.enabled
      ? { enabled: true, minUsd: trimmed(values.donations.minUsd), maxUsd: trimmed(values.donations.maxUsd), message: values.donations.message }
      : { enabled: false },
    payoutDestination: {
      currency: values.payout.currency,
      network: values.payout.network,
      wallet: values.payout.wallet,
      extraId: values.payout.extraId === '' ? null : values.payout.extraId,
    },
    payoutStrategy: values.strategy === 'instant' ? { strategy: 'instant' } : { strategy: 'threshold', thresholdUsd: trimmed(values.thresholdUsd) },
    underpaymentToleranceBps: percentToBps(values.tolerancePercent),
    notifications: values.notificationsEnabled ? { enabled: true, chatId: trimmed(values.notificationChatId) || null } : { enabled: false },
    gracePeriodHours: wholeNumber(values.gracePeriodHours),
    trialMinAccountAgeDays: values.trialMinAccountAgeDays.trim() === '' ? null : wholeNumber(values.trialMinAccountAgeDays),
    broadcast: { intervalHours: values.broadcastEnabled ? wholeNumber(values.broadcastIntervalHours) : null },
  };
}

/** Friendlier words for what the form shows differently from the API (percent, not basis points). */
const FIELD_MESSAGES: Record<string, string> = {
  underpaymentToleranceBps: 'Enter a share from 90 to 100 %, with at most two decimals',
};

/** A shared rule's message starts lower-case ("must be at least 1 day"): shown alone, it gets a capital. */
function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

export interface WalletFeedback {
  error?: string;
  /** The address as it will be stored (EIP-55 checksum case), when valid. */
  ok?: string;
  /** A private key pasted by mistake: said before anything else. */
  warning?: string;
}

/** 64 hex digits (an Ethereum key), a Bitcoin WIF key, a Stellar secret: never an address. */
const PRIVATE_KEY_SHAPES = [/^(0x)?[0-9a-fA-F]{64}$/, /^[5KL][1-9A-HJ-NP-Za-km-z]{50,51}$/, /^S[A-Z2-7]{55}$/];

/** The live check beside the wallet input: the server's validator, run on each keystroke. */
export function walletFeedback(payout: ChannelFormValues['payout']): WalletFeedback {
  const address = payout.wallet;
  if (address === '') return {};
  if (PRIVATE_KEY_SHAPES.some((shape) => shape.test(address.trim()))) {
    return { warning: 'This looks like a private key, not an address. Never paste or share a private key: anyone who has it can take your funds.' };
  }
  if (!payout.network || !payout.currency) return { error: 'Choose the payout network and currency first.' };
  const check = validatePayoutAddress({ currency: payout.currency, network: payout.network, address, extraId: payout.extraId === '' ? null : payout.extraId });
  if (!check.isValid) return { error: check.reason };
  const name = findPayoutNetwork(payout.network)?.name ?? payout.network;
  return { ok: check.address === address ? `A valid ${name} address.` : `A valid ${name} address; it will be saved as ${check.address}.` };
}

/**
 * Every problem found without the server, keyed by the API's field paths. `requirePassword`: the
 * request sets the payout wallet or strategy, so the account password must come with it.
 */
export function validateChannelForm(values: ChannelFormValues, options: { requirePassword: boolean }): FieldErrors {
  const errors: FieldErrors = {};
  const add = (path: string, message: string) => {
    errors[path] ??= sentence(FIELD_MESSAGES[path] ?? message);
  };
  const body = channelBodyOf(values);
  const parsed = CreateChannelInputSchema.safeParse(body);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) add(issue.path.map(String).join('.') || 'form', issue.message);
  } else {
    // Configured minimums are the server's to tell (limits of zero here); the other whole-channel rules run now.
    const settings = settingsFromCreateInput(parsed.data as CreateChannelInput, 1n);
    for (const problem of checkChannelSettings(settings, { minTierPriceCents: 0n, minPayoutThresholdCents: 0n })) add(problem.path, problem.message);
  }
  if (values.tiers.length > MAX_TIERS) add('tiers', `Give at most ${MAX_TIERS} tiers`);
  if (!values.payout.network) add('payoutDestination.network', 'Choose the network your wallet uses');
  if (!values.payout.currency) add('payoutDestination.currency', 'Choose the currency you want to receive');
  const wallet = walletFeedback(values.payout);
  if (wallet.warning) add('payoutDestination.wallet', wallet.warning);
  else if (wallet.error) {
    const onExtraId = values.payout.extraId !== '' && validatePayoutAddress({ currency: values.payout.currency, network: values.payout.network, address: values.payout.wallet, extraId: null }).isValid;
    add(onExtraId ? 'payoutDestination.extraId' : 'payoutDestination.wallet', wallet.error);
  }
  if (options.requirePassword && values.currentPassword === '') add('currentPassword', 'Enter your account password to confirm where payouts go');
  return errors;
}

/** JSON of a section, for comparing what the form makes with what is stored. */
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The PATCH body for an edit: only the sections that differ from the stored channel (each section
 * given replaces the stored one), and whether it changes where or how payouts go or which chats
 * the channel is (then the password is required, and the server mails the owner a notice).
 */
export function channelChanges(values: ChannelFormValues, channel: Channel): { changes: Omit<ChannelChanges, 'currentPassword'>; isPayoutChange: boolean } {
  const next = channelBodyOf(values);
  const stored = channelBodyOf(channelFormOf(channel));
  const changes: Omit<ChannelChanges, 'currentPassword'> = {};
  for (const key of Object.keys(next) as (keyof typeof next)[]) {
    if (!same(next[key], stored[key])) (changes as Record<string, unknown>)[key] = next[key];
  }
  // The server asks for the password where a stolen session could take the money or the audience:
  // where payouts go, and which chats the channel is.
  const isChatChange = next.openChat.id !== stored.openChat.id || next.closedChat.id !== stored.closedChat.id;
  return { changes, isPayoutChange: 'payoutDestination' in changes || 'payoutStrategy' in changes || isChatChange };
}

/** Deleting a channel: the password, and the channel's title typed out, so the wrong one is not deleted by a slip. */
export function validateDeleteChannel(values: { password: string; confirmation: string }, title: string): FieldErrors {
  const errors: FieldErrors = {};
  if (values.password === '') errors.password = 'Enter your account password';
  if (values.confirmation.trim() !== title.trim()) errors.confirmation = `Type the channel’s title, ${title}, exactly`;
  return errors;
}
