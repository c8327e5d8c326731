import { ConfigError } from '../config/index.js';
import type { Mailer } from './mailer.js';
import { createSmtpMailer } from './smtp-mailer.js';

let provided: Mailer | undefined;

/**
 * Composition-root override, like `provideServices`: the local runtime hands its sandbox outbox over
 * before any function loads. `undefined` forgets it (tests).
 */
export function provideMailer(mailer: Mailer | undefined): void {
  provided = mailer;
}

export interface MailerConfig {
  SMTP_URL?: string | undefined;
  MAIL_FROM?: string | undefined;
  /** True on Cloud Run (K_SERVICE is set): there, mail must leave through SMTP. */
  isOnCloudRun: boolean;
}

/**
 * The mailer a function sends with: SMTP when SMTP_URL is configured (a configured server always
 * wins, so the sandbox can point at a real one); otherwise the provided sandbox outbox. On Cloud Run
 * a missing SMTP_URL or MAIL_FROM stops the cold start rather than dropping mail into memory.
 *
 * @throws ConfigError naming SMTP_URL / MAIL_FROM.
 */
export function selectMailer(config: MailerConfig): Mailer {
  if (config.isOnCloudRun) {
    const missing = (['SMTP_URL', 'MAIL_FROM'] as const).filter((name) => !config[name]);
    if (missing.length > 0) throw new ConfigError([...missing], `Invalid configuration: ${missing.map((name) => `${name}: required on Google Cloud`).join('; ')}`);
  }
  if (config.SMTP_URL) {
    if (!config.MAIL_FROM) throw new ConfigError(['MAIL_FROM'], 'Invalid configuration: MAIL_FROM: required with SMTP_URL');
    return createSmtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM });
  }
  if (!provided) {
    throw new ConfigError(['SMTP_URL'], 'Invalid configuration: SMTP_URL: required (outside the local runtime, which provides a sandbox outbox)');
  }
  return provided;
}
