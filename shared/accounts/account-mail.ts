import { handleOnce, type MessageKey } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import type { Mailer, MailMessage } from '../mail/index.js';
import type { AccountMailRequested } from '../messages/index.js';
import { findAccountByEmail, mailAddressOf, retrieveAccountRow } from './account-records.js';
import { accountMails } from './account-mail-templates.js';
import { issueEmailToken } from './email-tokens.js';
import { accountError } from './errors.js';

/**
 * What stays attached to an account whatever happens to its password: the linked Telegram user and
 * the live channels (read at send time, so the mail says what is true when it is read).
 */
export interface LinkedState {
  telegram: { userId: string; username: string | null } | null;
  channelCount: number;
}

async function linkedState(db: Db, accountId: string): Promise<LinkedState> {
  const { rows } = await db.query<{ telegram_user_id: bigint | null; username: string | null; channels: string }>(
    `SELECT a.telegram_user_id, u.username,
            (SELECT count(*) FROM channels c WHERE c.owner_account_id = a.id AND c.deleted_at IS NULL)::text AS channels
     FROM accounts a LEFT JOIN telegram_users u ON u.id = a.telegram_user_id
     WHERE a.id = $1`,
    [accountId],
  );
  const row = rows[0];
  return {
    telegram: row?.telegram_user_id == null ? null : { userId: String(row.telegram_user_id), username: row.username },
    channelCount: Number(row?.channels ?? '0'),
  };
}

export interface AccountMailDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  mailer: Mailer;
  /** PUBLIC_BASE_URL: where the dashboard pages behind the links live. */
  publicBaseUrl: string;
}

/**
 * The mails one `account-mail-requested` message stands for. Tokens are issued here, at send time,
 * so the raw token exists only in the mail; a redelivery issues a fresh one and the earlier link
 * stops working ("latest wins"), never two valid links. Returns [] when the mail no longer applies
 * (an address verified meanwhile, a disabled account).
 */
export async function composeAccountMails(deps: Omit<AccountMailDeps, 'mailer' | 'logger'>, request: AccountMailRequested): Promise<MailMessage[]> {
  const account = await retrieveAccountRow(deps.db, request.accountId);
  if (!account) return [];
  const address = mailAddressOf(request);
  const isActive = account.status === 'active';
  const now = deps.clock.now();
  const base = deps.publicBaseUrl;
  switch (request.kind) {
    case 'verify_email': {
      if (!isActive || account.email_verified_at) return [];
      const { token } = await deps.db.transaction((tx) => issueEmailToken(tx, { accountId: account.id, purpose: 'verify_email', now }));
      return [accountMails.verifyEmail(account.email, base, token)];
    }
    case 'signup_attempted':
      return isActive ? [accountMails.signupAttempted(account.email, base)] : [];
    case 'reset_password': {
      if (!isActive) return [];
      const { token } = await deps.db.transaction((tx) => issueEmailToken(tx, { accountId: account.id, purpose: 'reset_password', now }));
      return [accountMails.resetPassword(account.email, base, token)];
    }
    case 'password_changed':
      return isActive ? [accountMails.passwordChanged(account.email, base, await linkedState(deps.db, account.id))] : [];
    case 'email_change_requested': {
      if (!isActive || !address) return [];
      const owner = await findAccountByEmail(deps.db, address);
      if (owner && owner.id !== account.id) return [accountMails.addressInUse(address)];
      const { token } = await deps.db.transaction((tx) => issueEmailToken(tx, { accountId: account.id, purpose: 'change_email', now, newEmail: address }));
      return [accountMails.confirmEmailChange(address, base, token), accountMails.emailChangeRequested(account.email, address)];
    }
    case 'email_changed':
      return [accountMails.emailChangeCompleted(account.email), ...(address ? [accountMails.emailChanged(address, account.email)] : [])];
    case 'payout_wallet_changed':
      return isActive ? [accountMails.payoutWalletChanged(account.email, base)] : [];
    case 'channel_chats_changed':
      return isActive ? [accountMails.channelChatsChanged(account.email, base)] : [];
    case 'channel_deleted':
      return isActive ? [accountMails.channelDeleted(account.email, base)] : [];
    case 'webhook_endpoint_changed':
      return isActive ? [accountMails.webhookEndpointChanged(account.email, base)] : [];
    case 'webhook_endpoint_disabled':
      return isActive ? [accountMails.webhookEndpointDisabled(account.email, base)] : [];
    case 'telegram_linked': {
      if (!isActive) return [];
      const { telegram } = await linkedState(deps.db, account.id);
      return telegram ? [accountMails.telegramLinked(account.email, base, telegram)] : [];
    }
    case 'account_deleted':
      return address ? [accountMails.accountDeleted(address)] : [];
    default: {
      const unknown: never = request.kind;
      throw accountError('unknown_account_mail_kind', `unhandled account mail kind ${String(unknown)}`);
    }
  }
}

/**
 * Composes and sends the mails of one message. A mail server outage throws `TransientError`
 * (`mail_unavailable`) so the message is redelivered; a refused recipient is `PermanentError`.
 * Logs kinds and message ids only: never an address or a link.
 */
export async function sendAccountMails(deps: AccountMailDeps, request: AccountMailRequested): Promise<number> {
  const mails = await composeAccountMails(deps, request);
  for (const mail of mails) {
    const receipt = await deps.mailer.send(mail);
    deps.logger.info('account_mail.sent', { kind: request.kind, accountId: request.accountId, mailMessageId: receipt.messageId });
  }
  if (mails.length === 0) deps.logger.info('account_mail.skipped', { kind: request.kind, accountId: request.accountId });
  return mails.length;
}

/**
 * One delivery of `account-mail-requested`, at most one mail-out per message: the caller runs it
 * under the message's exclusive lease (`consume({ exclusiveKey })`), which serialises concurrent
 * duplicates, and `processed_messages` (written after the send) turns a later redelivery into a
 * no-op. A crash between sending and recording sends once more, with a fresh link.
 */
export async function deliverAccountMail(deps: AccountMailDeps, key: MessageKey, request: AccountMailRequested): Promise<void> {
  const { rows } = await deps.db.query('SELECT 1 FROM processed_messages WHERE consumer = $1 AND message_id = $2', [key.consumer, key.messageId]);
  if (rows.length > 0) return;
  await sendAccountMails(deps, request);
  await handleOnce(deps.db, key, deps.clock.now(), async () => undefined);
}
