import type { MailMessage } from '../mail/index.js';
import { escapeHtml } from '../telegram/index.js';

/**
 * The account mails. Links carry the token in the URL fragment (`#token=`), which browsers never
 * send to a server or put in a Referer: the dashboard page reads it and POSTs it to the API.
 */
interface MailContent {
  subject: string;
  paragraphs: string[];
  action?: { label: string; url: string; expiresIn: string };
}

const PRODUCT = 'PayGatePrime';

function render(to: string, content: MailContent): MailMessage {
  const textParts = [...content.paragraphs];
  const htmlParts = content.paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`);
  if (content.action) {
    textParts.push(`${content.action.label}: ${content.action.url}`, `The link works once and expires in ${content.action.expiresIn}.`);
    htmlParts.push(
      `<p><a href="${escapeHtml(content.action.url)}">${escapeHtml(content.action.label)}</a></p>`,
      `<p>The link works once and expires in ${escapeHtml(content.action.expiresIn)}. If the button does not work, copy this address into your browser:<br>${escapeHtml(content.action.url)}</p>`,
    );
  }
  textParts.push(`— ${PRODUCT}`);
  htmlParts.push(`<p>— ${PRODUCT}</p>`);
  const subject = `${content.subject} - ${PRODUCT}`;
  return {
    to,
    subject,
    text: `${textParts.join('\n\n')}\n`,
    html: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>${htmlParts.join('')}</body></html>`,
  };
}

/** `@name (id 123)`, or `id 123` without a username. */
function telegramName(telegram: { userId: string; username: string | null }): string {
  return telegram.username ? `@${telegram.username} (id ${telegram.userId})` : `with id ${telegram.userId}`;
}

function link(publicBaseUrl: string, page: string, token: string): string {
  return `${publicBaseUrl}/${page}#token=${token}`;
}

export const accountMails = {
  verifyEmail: (to: string, publicBaseUrl: string, token: string) =>
    render(to, {
      subject: 'Verify your email address',
      paragraphs: ['Welcome! Confirm that this address belongs to you to finish setting up your account.'],
      action: { label: 'Verify my address', url: link(publicBaseUrl, 'verify-email', token), expiresIn: '24 hours' },
    }),
  signupAttempted: (to: string, publicBaseUrl: string) =>
    render(to, {
      subject: 'Someone tried to sign up with your address',
      paragraphs: [
        'Someone tried to create an account with this address, but you already have one. Nothing was changed.',
        `If it was you, log in at ${publicBaseUrl}/login, or reset your password at ${publicBaseUrl}/forgot-password if you forgot it. Otherwise you can ignore this mail.`,
      ],
    }),
  resetPassword: (to: string, publicBaseUrl: string, token: string) =>
    render(to, {
      subject: 'Reset your password',
      paragraphs: ['Someone (hopefully you) asked to reset the password of your account. If it was not you, ignore this mail: your password stays as it is.'],
      action: { label: 'Choose a new password', url: link(publicBaseUrl, 'reset-password', token), expiresIn: '1 hour' },
    }),
  passwordChanged: (to: string, publicBaseUrl: string, linked: { telegram: { userId: string; username: string | null } | null; channelCount: number }) =>
    render(to, {
      subject: 'Your password was changed',
      paragraphs: [
        'The password of your account was just changed and your other sessions were logged out.',
        `Nothing else was changed. ${
          linked.telegram
            ? `The Telegram account ${telegramName(linked.telegram)} stays linked to your account`
            : 'No Telegram account is linked to your account'
        }, and ${
          linked.channelCount === 0 ? 'you have no channels' : `your ${linked.channelCount === 1 ? 'channel keeps its' : `${linked.channelCount} channels keep their`} chats and payout wallets`
        }. If any of this is not yours, re-link your own Telegram account and check each channel in the dashboard (${publicBaseUrl}).`,
        `If you did not change the password, reset it at once at ${publicBaseUrl}/forgot-password and contact support.`,
      ],
    }),
  confirmEmailChange: (to: string, publicBaseUrl: string, token: string) =>
    render(to, {
      subject: 'Confirm your new email address',
      paragraphs: ['Someone asked to move a PayGatePrime account to this address. Confirm to make it the account\'s address.'],
      action: { label: 'Confirm this address', url: link(publicBaseUrl, 'confirm-email', token), expiresIn: '1 hour' },
    }),
  emailChangeRequested: (to: string, newAddress: string) =>
    render(to, {
      subject: 'Email change requested',
      paragraphs: [`Someone asked to change your account's address to ${newAddress}. It changes only once the new address confirms.`, 'If this was not you, change your password at once.'],
    }),
  addressInUse: (to: string) =>
    render(to, {
      subject: 'Your address was offered for another account',
      paragraphs: ['Someone asked to move another PayGatePrime account to this address, but it already belongs to an account, so nothing was changed. You can ignore this mail.'],
    }),
  emailChanged: (to: string, newAddress: string) =>
    render(to, {
      subject: 'Your account address was changed',
      paragraphs: [`Your account now uses ${newAddress}; this address no longer signs in.`, 'If this was not you, contact support at once.'],
    }),
  emailChangeCompleted: (to: string) =>
    render(to, {
      subject: 'Your new address is confirmed',
      paragraphs: ['This is now your account\'s address. Log in with it from now on.'],
    }),
  payoutWalletChanged: (to: string, publicBaseUrl: string) =>
    render(to, {
      subject: 'A payout wallet was changed',
      paragraphs: [
        'The payout wallet or payout settings of one of your channels were just changed, confirmed with your password. Payouts created from now on go to the new destination.',
        `If this was not you, reset your password at once at ${publicBaseUrl}/forgot-password, then check the payout wallet of each channel in the dashboard and contact support.`,
      ],
    }),
  channelChatsChanged: (to: string, publicBaseUrl: string) =>
    render(to, {
      subject: "A channel's chats were changed",
      paragraphs: [
        'The open or closed chat of one of your channels was just changed, confirmed with your password. New subscriptions now give access to the new chat.',
        `If this was not you, reset your password at once at ${publicBaseUrl}/forgot-password, then check the chats of each channel and your account's activity in the dashboard, and contact support.`,
      ],
    }),
  channelDeleted: (to: string, publicBaseUrl: string) =>
    render(to, {
      subject: 'A channel was deleted',
      paragraphs: [
        'One of your channels was just deleted, confirmed with your password: it sells no more subscriptions and its chats are free to register again. Subscriptions already sold run to their end, and what you are owed stays yours.',
        `If this was not you, reset your password at once at ${publicBaseUrl}/forgot-password and contact support.`,
      ],
    }),
  webhookEndpointChanged: (to: string, publicBaseUrl: string) =>
    render(to, {
      subject: 'A webhook endpoint was added or changed',
      paragraphs: [
        "A webhook endpoint of your account was just added, pointed at a new URL, or given a new signing secret, confirmed with your password. Your account's events (payments, subscriptions, payouts) are sent to the endpoints listed in the dashboard.",
        `If this was not you, reset your password at once at ${publicBaseUrl}/forgot-password, then delete the endpoints you do not know, rotate the secrets of your own, and contact support.`,
      ],
    }),
  webhookEndpointDisabled: (to: string, publicBaseUrl: string) =>
    render(to, {
      subject: 'A webhook endpoint was disabled',
      paragraphs: [
        'One of your webhook endpoints has not accepted an event for 3 days, so we stopped sending to it. Events of that time are in its delivery log.',
        `Fix the receiver, enable the endpoint again at ${publicBaseUrl}/webhooks and resend the deliveries you need from its log.`,
      ],
    }),
  telegramLinked: (to: string, publicBaseUrl: string, telegram: { userId: string; username: string | null }) =>
    render(to, {
      subject: 'A Telegram account was linked',
      paragraphs: [
        `The Telegram account ${telegramName(telegram)} is now linked to your account, replacing any earlier link. Channels are registered and managed through the linked Telegram account.`,
        `If this was not you, reset your password at once at ${publicBaseUrl}/forgot-password, then link your own Telegram account again and contact support.`,
      ],
    }),
  accountDeleted: (to: string) =>
    render(to, {
      subject: 'Your account was deleted',
      paragraphs: ['Your PayGatePrime account was deleted as you asked. This address is free to sign up again.'],
    }),
};
