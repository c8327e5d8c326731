import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../clock/index.js';
import type { Mailer, MailMessage, MailReceipt } from './mailer.js';

export interface OutboxMail extends MailMessage {
  messageId: string;
  sentAt: Date;
}

/** A `Mailer` that keeps what it is given, newest last: the sandbox's inbox and the tests' mail trap. */
export interface MailOutbox extends Mailer {
  /** Every kept mail, oldest first (copies). */
  list(): OutboxMail[];
  /** The newest mail to `address` (case-insensitive), if any. */
  latestTo(address: string): OutboxMail | undefined;
  clear(): void;
}

export interface MailOutboxOptions {
  clock?: Clock;
  /** Oldest mails are dropped past this many. Default 500. */
  maxMessages?: number;
}

export function createMailOutbox(options: MailOutboxOptions = {}): MailOutbox {
  const clock = options.clock ?? systemClock;
  const max = options.maxMessages ?? 500;
  const mails: OutboxMail[] = [];
  return {
    async send(message: MailMessage): Promise<MailReceipt> {
      const mail: OutboxMail = { ...message, messageId: `<${randomUUID()}@outbox.local>`, sentAt: clock.now() };
      mails.push(mail);
      if (mails.length > max) mails.splice(0, mails.length - max);
      return { messageId: mail.messageId };
    },
    list: () => mails.map((mail) => ({ ...mail })),
    latestTo: (address) => {
      const wanted = address.toLowerCase();
      const found = mails.findLast((mail) => mail.to.toLowerCase() === wanted);
      return found ? { ...found } : undefined;
    },
    clear: () => {
      mails.length = 0;
    },
  };
}
