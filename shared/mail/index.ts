/**
 * Outgoing mail. `Mailer` is the port; `createSmtpMailer` the production adapter (nodemailer over
 * SMTP_URL); `createMailOutbox` the sandbox one, whose mails `npm start` shows at `/mail`.
 * Functions pick one with `selectMailer(config)`; the local runtime calls `provideMailer(outbox)`.
 */
export { type Mailer, type MailMessage, type MailReceipt } from './mailer.js';
export { type SmtpMailerOptions, createSmtpMailer, toMailError } from './smtp-mailer.js';
export { type MailOutbox, type OutboxMail, type MailOutboxOptions, createMailOutbox } from './mail-outbox.js';
export { type MailerConfig, provideMailer, selectMailer } from './mailer-selection.js';
