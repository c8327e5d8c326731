/** One outgoing mail: plain text always, HTML optional (clients that show HTML get the same content). */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface MailReceipt {
  /** The id the server (or outbox) gave the message; safe to log. */
  messageId: string;
}

/**
 * Sends mail. Adapters: `createSmtpMailer` (production, nodemailer) and `createMailOutbox` (the
 * sandbox and tests: keeps messages in memory for `npm start` to show).
 *
 * Failure modes: `TransientError('mail_unavailable')` when the server cannot be reached or answers
 * 4xx (retry later); `PermanentError('mail_rejected')` when it refuses the message or recipient for
 * good (5xx). Never logs or throws the message body: it may hold a one-time link.
 */
export interface Mailer {
  send(message: MailMessage): Promise<MailReceipt>;
}
