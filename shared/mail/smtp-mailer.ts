import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { ConfigError } from '../config/index.js';
import { assertNoOpenTransaction } from '../db/index.js';
import { PermanentError, TransientError } from '../errors/index.js';
import type { Mailer, MailMessage, MailReceipt } from './mailer.js';
import { mailError } from './errors.js';

export interface SmtpMailerOptions {
  /** `smtp://` or `smtps://user:password@host:port` (SMTP_URL); see `smtpConnectionOptions` for TLS. */
  url: string;
  /** Sender, an address or `Name <address>` (MAIL_FROM). */
  from: string;
  /** Connection, greeting and socket timeouts. Default 10 s: a stuck server must not hold a delivery. */
  timeoutMs?: number;
}

/**
 * The one place raw SMTP failures become our errors. Server answers 5xx mean "never" for this
 * message (bad recipient, policy), so retrying cannot help; 4xx, timeouts and connection failures
 * may pass later. Only the code and SMTP status are kept: the server's text can echo the address.
 */
export function toMailError(error: unknown): PermanentError | TransientError {
  const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
  const context = { smtpCode: typeof code === 'string' ? code : undefined, responseCode: typeof responseCode === 'number' ? responseCode : undefined };
  if (typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600 && code !== 'EAUTH') {
    return mailError('mail_rejected', 'The mail server refused the message', context);
  }
  return mailError('mail_unavailable', 'The mail server could not be reached; retry later', context);
}

/** Hosts where a plain-text `smtp://` session is allowed: a sandbox or test server on this machine. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function invalidSmtpUrl(problem: string): ConfigError {
  return new ConfigError(['SMTP_URL'], `Invalid configuration: SMTP_URL: ${problem}`);
}

/**
 * The connection settings of SMTP_URL, built by hand rather than handing nodemailer the URL (whose
 * query string could switch TLS off). `smtps://` is TLS from the first byte (default port 465);
 * `smtp://` must upgrade with STARTTLS (`requireTLS`, default port 587) and fails rather than send
 * links and passwords in plain text when the server (or someone in between) does not offer it. Only
 * a server on this machine (localhost, 127.0.0.1, ::1: the sandbox's or a test's) may be spoken to
 * without TLS.
 *
 * @throws ConfigError naming SMTP_URL for another scheme, a missing host, or a query string.
 */
export function smtpConnectionOptions(url: string): SMTPTransport.Options {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidSmtpUrl('must be an smtp:// or smtps:// URL');
  }
  const isImplicitTls = parsed.protocol === 'smtps:';
  if (!isImplicitTls && parsed.protocol !== 'smtp:') throw invalidSmtpUrl('must be an smtp:// or smtps:// URL');
  if (!parsed.hostname) throw invalidSmtpUrl('names no host');
  if (parsed.search) throw invalidSmtpUrl('options in the query string are not supported (TLS is always required except on localhost)');
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const isLoopback = LOOPBACK_HOSTS.has(parsed.hostname.toLowerCase()) || LOOPBACK_HOSTS.has(host);
  return {
    host,
    port: parsed.port ? Number(parsed.port) : isImplicitTls ? 465 : 587,
    secure: isImplicitTls,
    requireTLS: !isImplicitTls && !isLoopback,
    ...(parsed.username ? { auth: { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } } : {}),
  };
}

/** A `Mailer` over SMTP (nodemailer), one pooled transport per instance. */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const timeout = options.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport(
    {
      ...smtpConnectionOptions(options.url),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      // Never let nodemailer print the conversation: it contains the one-time links.
      logger: false,
      debug: false,
    },
    { from: options.from },
  );
  return {
    async send(message: MailMessage): Promise<MailReceipt> {
      assertNoOpenTransaction('Sending mail');
      try {
        const info = await transport.sendMail({ from: options.from, to: message.to, subject: message.subject, text: message.text, html: message.html });
        return { messageId: String(info.messageId ?? '') };
      } catch (error) {
        throw toMailError(error);
      }
    },
  };
}
