import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.js';
import { PermanentError, TransientError } from '../errors/index.js';
import { createMailOutbox } from './mail-outbox.js';
import { provideMailer, selectMailer } from './mailer-selection.js';
import { createSmtpMailer, smtpConnectionOptions, toMailError } from './smtp-mailer.js';

/** Just enough SMTP to accept or refuse one message; records what it received. */
async function startFakeSmtp(options: { refuseRecipient?: boolean; host?: string } = {}): Promise<{ port: number; received: string[]; close(): Promise<void> }> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let inData = false;
    let data = '';
    let buffer = '';
    socket.write('220 fake.smtp ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let index: number;
      while ((index = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received.push(data);
            data = '';
            socket.write('250 2.0.0 queued as fake-1\r\n');
          } else data += `${line}\n`;
          continue;
        }
        const command = line.slice(0, 4).toUpperCase();
        if (command === 'EHLO' || command === 'HELO') socket.write('250 fake.smtp\r\n');
        else if (command === 'MAIL') socket.write('250 2.1.0 ok\r\n');
        else if (command === 'RCPT') socket.write(options.refuseRecipient ? '550 5.1.1 no such user\r\n' : '250 2.1.5 ok\r\n');
        else if (command === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (command === 'STAR') socket.write('454 4.7.0 TLS not available\r\n');
        else if (command === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const message = { to: 'owner@example.com', subject: 'Verify your email address', text: 'Open https://pay.example/verify-email#token=abc', html: '<p>hi</p>' };

afterEach(() => provideMailer(undefined));

describe('createSmtpMailer', () => {
  it('sends the message through the server', async () => {
    const smtp = await startFakeSmtp();
    try {
      const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'PayGatePrime <no-reply@example.com>' });
      const receipt = await mailer.send(message);
      expect(receipt.messageId).toMatch(/^<.+>$/);
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]).toContain('Subject: Verify your email address');
      expect(smtp.received[0]).toContain('From: PayGatePrime <no-reply@example.com>');
      expect(smtp.received[0]).toContain('To: owner@example.com');
    } finally {
      await smtp.close();
    }
  });

  it('reports a refused recipient as permanent', async () => {
    const smtp = await startFakeSmtp({ refuseRecipient: true });
    try {
      const error = await createSmtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'no-reply@example.com' }).send(message).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PermanentError);
      expect((error as PermanentError).code).toBe('mail_rejected');
    } finally {
      await smtp.close();
    }
  });

  it('reports an unreachable server as transient, without the message in the error', async () => {
    const smtp = await startFakeSmtp();
    await smtp.close();
    const error = await createSmtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'no-reply@example.com', timeoutMs: 2000 }).send(message).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).code).toBe('mail_unavailable');
    expect(JSON.stringify(error)).not.toContain('token=abc');
  });
});

describe('smtpConnectionOptions', () => {
  it('requires STARTTLS for smtp:// to any host but this machine', () => {
    expect(smtpConnectionOptions('smtp://mailer:p%40ss@smtp.example.com')).toEqual({
      host: 'smtp.example.com',
      port: 587,
      secure: false,
      requireTLS: true,
      auth: { user: 'mailer', pass: 'p@ss' },
    });
    expect(smtpConnectionOptions('smtp://10.0.0.5:25')).toMatchObject({ requireTLS: true, port: 25 });
    expect(smtpConnectionOptions('smtp://127.0.0.2:25').requireTLS).toBe(true);
    for (const local of ['smtp://localhost:1025', 'smtp://127.0.0.1:1025', 'smtp://[::1]:1025']) expect(smtpConnectionOptions(local).requireTLS).toBe(false);
  });

  it('uses implicit TLS for smtps://', () => {
    expect(smtpConnectionOptions('smtps://smtp.example.com')).toMatchObject({ host: 'smtp.example.com', port: 465, secure: true, requireTLS: false });
  });

  it('refuses query options (nodemailer would let them switch TLS off) and other schemes', () => {
    for (const url of ['smtp://smtp.example.com?requireTLS=false', 'smtp://smtp.example.com?ignoreTLS=true', 'https://smtp.example.com', 'not a url']) {
      expect(() => smtpConnectionOptions(url), url).toThrow(ConfigError);
    }
  });

  it('does not send through an smtp:// server that offers no STARTTLS, unless it is on this machine', async () => {
    // 127.0.0.2 is loopback to the kernel but not one of the hosts allowed to skip TLS.
    const smtp = await startFakeSmtp({ host: '127.0.0.2' });
    try {
      const error = await createSmtpMailer({ url: `smtp://127.0.0.2:${smtp.port}`, from: 'no-reply@example.com', timeoutMs: 2000 }).send(message).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TransientError);
      expect(smtp.received).toEqual([]);
    } finally {
      await smtp.close();
    }
  });
});

describe('toMailError', () => {
  it.each([
    [{ code: 'EENVELOPE', responseCode: 550 }, 'mail_rejected', false],
    [{ code: 'EMESSAGE', responseCode: 552 }, 'mail_rejected', false],
    [{ code: 'EENVELOPE', responseCode: 451 }, 'mail_unavailable', true],
    [{ code: 'EAUTH', responseCode: 535 }, 'mail_unavailable', true],
    [{ code: 'ECONNECTION' }, 'mail_unavailable', true],
    [{ code: 'ETIMEDOUT' }, 'mail_unavailable', true],
    [new Error('anything'), 'mail_unavailable', true],
  ])('%j → %s', (raw, code, isRetryable) => {
    const error = toMailError(raw);
    expect(error.code).toBe(code);
    expect(error.isRetryable).toBe(isRetryable);
  });
});

describe('selectMailer', () => {
  it('uses SMTP when SMTP_URL is set, and needs MAIL_FROM with it', () => {
    expect(() => selectMailer({ SMTP_URL: 'smtp://127.0.0.1:25', isOnCloudRun: false })).toThrow(ConfigError);
    expect(selectMailer({ SMTP_URL: 'smtp://127.0.0.1:25', MAIL_FROM: 'a@example.com', isOnCloudRun: false })).toBeDefined();
  });

  it('uses the provided sandbox outbox without SMTP_URL', () => {
    const outbox = createMailOutbox();
    provideMailer(outbox);
    expect(selectMailer({ isOnCloudRun: false })).toBe(outbox);
  });

  it('refuses to start on Cloud Run without SMTP, even with an outbox provided', () => {
    provideMailer(createMailOutbox());
    expect(() => selectMailer({ isOnCloudRun: true })).toThrow('SMTP_URL: required on Google Cloud; MAIL_FROM: required on Google Cloud');
  });

  it('refuses to start outside the local runtime without SMTP', () => {
    expect(() => selectMailer({ isOnCloudRun: false })).toThrow(ConfigError);
  });
});

describe('createMailOutbox', () => {
  it('keeps mails in order and finds the newest per address, case-insensitively', async () => {
    const outbox = createMailOutbox({ maxMessages: 2 });
    await outbox.send({ ...message, subject: 'one' });
    await outbox.send({ ...message, subject: 'two' });
    await outbox.send({ ...message, to: 'other@example.com', subject: 'three' });
    expect(outbox.list().map((mail) => mail.subject)).toEqual(['two', 'three']);
    expect(outbox.latestTo('OWNER@example.com')?.subject).toBe('two');
    outbox.clear();
    expect(outbox.list()).toEqual([]);
  });
});
