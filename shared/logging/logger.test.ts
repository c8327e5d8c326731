import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineErrors } from '../errors/index.js';
import { createLogger, type LoggerOptions, registerSecretValues } from './index.js';

const testError = defineErrors({ provider_unavailable: 'unavailable', amount_below_swap_minimum: 'invalid', rpc_timeout: 'unavailable' });

function capture(options: Omit<LoggerOptions, 'write'> = {}) {
  const lines: string[] = [];
  const log = createLogger({ ...options, write: (line) => lines.push(line) });
  const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, parsed };
}

describe('logger redaction', () => {
  it('never prints the IPN secret, a wallet private key, a JWT or database credentials', () => {
    const ipnSecret = 'ipn-Secret-7Hq2Zp9Lw4Xv';
    // Derived, not a literal: no key-shaped strings in the repository.
    const privateKey = `0x${createHash('sha256').update('test wallet').digest('hex')}`;
    const jwt = [{ alg: 'HS256', typ: 'JWT' }, { sub: 'owner_1', exp: 9_999_999_999 }, 'signature-bytes']
      .map((part) => Buffer.from(typeof part === 'string' ? part : JSON.stringify(part)).toString('base64url'))
      .join('.');
    const databasePassword = 'Pg-Pass-93kd';
    const databaseUrl = `postgres://gateway:${databasePassword}@10.0.0.5:5432/paygateprime`;
    registerSecretValues([ipnSecret]);
    const { log, lines } = capture();

    log.error('payout.failed', {
      payoutId: 'po_1',
      config: { NOWPAYMENTS_IPN_SECRET: ipnSecret, hostWalletPrivateKey: privateKey },
      note: `signing with ${privateKey} failed`,
      echoedSecret: `header was ${ipnSecret}`,
      headers: { Authorization: `Bearer ${jwt}` },
      body: `token in body: ${jwt}`,
      connection: `connect ECONNREFUSED ${databaseUrl}`,
      error: new Error(`could not connect to ${databaseUrl} with ${privateKey}`),
    });

    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    for (const secretText of [ipnSecret, privateKey, privateKey.slice(2), jwt, databasePassword]) {
      expect(line).not.toContain(secretText);
    }
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record.payoutId).toBe('po_1');
    expect(record.connection).toBe('connect ECONNREFUSED postgres://gateway:[REDACTED]@10.0.0.5:5432/paygateprime');
    expect(record.config).toEqual({ NOWPAYMENTS_IPN_SECRET: '[REDACTED]', hostWalletPrivateKey: '[REDACTED]' });
  });

  it('redacts secrets in bindings and in the event name too', () => {
    registerSecretValues(['binding-secret-value-1']);
    const { log, lines } = capture();
    log.child({ note: 'binding-secret-value-1', apiKey: 'abc' }).info('oops binding-secret-value-1');
    expect(lines[0]).not.toContain('binding-secret-value-1');
    expect(lines[0]).not.toContain('"abc"');
  });
});

describe('logger line', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes severity, the event as message, an ISO time, then bindings and context', () => {
    vi.useFakeTimers({ now: new Date('2025-03-01T12:34:56.789Z') });
    const { log, lines } = capture({ bindings: { service: 'send-transfer' } });
    log.info('payout.broadcast', { payoutId: 'po_1', nonce: 7 });
    expect(lines[0]).toBe(
      '{"severity":"INFO","message":"payout.broadcast","time":"2025-03-01T12:34:56.789Z","service":"send-transfer","payoutId":"po_1","nonce":7}',
    );
  });

  it('keeps a context key that clashes with its own fields under context.<key>', () => {
    const { log, parsed } = capture();
    log.info('payment.seen', { message: 'from provider', severity: 'low' });
    expect(parsed()[0]).toMatchObject({ severity: 'INFO', message: 'payment.seen', 'context.message': 'from provider', 'context.severity': 'low' });
  });

  it('passes Cloud Logging trace fields through unchanged', () => {
    const { log, parsed } = capture();
    log.child({ 'logging.googleapis.com/trace': 'projects/p/traces/abc' }).info('x.y');
    expect(parsed()[0]?.['logging.googleapis.com/trace']).toBe('projects/p/traces/abc');
  });

  it('serializes bigint as a decimal string', () => {
    const { log, parsed } = capture();
    log.info('ledger.posted', { units: 12_500_000n, big: 2n ** 80n });
    expect(parsed()[0]).toMatchObject({ units: '12500000', big: '1208925819614629174706176' });
  });

  it('survives circular references', () => {
    const { log, parsed } = capture();
    const node: Record<string, unknown> = { id: 'n1' };
    node.self = node;
    node.list = [node];
    expect(() => log.info('graph.logged', { node })).not.toThrow();
    expect(parsed()[0]?.node).toEqual({ id: 'n1', self: '[Circular]', list: ['[Circular]'] });
  });
});

describe('child', () => {
  it('adds its bindings to every line and lets the child win on a clash', () => {
    const { log, parsed } = capture({ bindings: { service: 'settle-payment', attempt: 1 } });
    const delivery = log.child({ messageId: 'm-1', attempt: 2 });
    const payment = delivery.child({ paymentId: 'pay_9' });
    payment.info('payment.settled', { amountCents: 1500 });
    delivery.warn('message.too_old');
    log.info('root.line');
    expect(parsed()).toEqual([
      expect.objectContaining({ service: 'settle-payment', messageId: 'm-1', attempt: 2, paymentId: 'pay_9', amountCents: 1500 }),
      expect.objectContaining({ service: 'settle-payment', messageId: 'm-1', attempt: 2 }),
      expect.objectContaining({ service: 'settle-payment', attempt: 1 }),
    ]);
    expect(parsed()[1]).not.toHaveProperty('paymentId');
    expect(parsed()[2]).not.toHaveProperty('messageId');
  });
});

describe('severities', () => {
  it('maps each method to its Cloud Logging severity', () => {
    const { log, parsed } = capture();
    log.debug('e');
    log.info('e');
    log.notice('e');
    log.warn('e');
    log.error('e');
    log.critical('e');
    expect(parsed().map((line) => line.severity)).toEqual(['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL']);
  });

  it('drops lines below minSeverity, in children too', () => {
    const { log, parsed } = capture({ minSeverity: 'WARNING' });
    log.debug('e');
    log.info('e');
    log.notice('e');
    log.child({ a: 1 }).info('e');
    log.warn('e');
    log.child({ a: 1 }).critical('e');
    expect(parsed().map((line) => line.severity)).toEqual(['WARNING', 'CRITICAL']);
  });
});

describe('Error serialization', () => {
  it('writes name, message, code, context, stack and one level of cause', () => {
    const root = new Error('socket hang up');
    const cause = testError('provider_unavailable', 'ChangeNow did not answer', { attempt: 3 }, root);
    const error = testError('amount_below_swap_minimum', 'Amount is below the swap minimum', { payoutId: 'po_1', minUnits: 5n }, cause);
    const { log, parsed } = capture();
    log.error('payout.quote_failed', { error });
    const written = parsed()[0]?.error as Record<string, unknown>;
    expect(written).toMatchObject({
      name: 'PermanentError',
      message: 'Amount is below the swap minimum',
      code: 'amount_below_swap_minimum',
      context: { payoutId: 'po_1', minUnits: '5' },
      cause: { name: 'TransientError', message: 'ChangeNow did not answer', code: 'provider_unavailable', context: { attempt: 3 } },
    });
    expect(written.stack).toEqual(expect.stringContaining('PermanentError: Amount is below the swap minimum'));
    expect(written.cause).not.toHaveProperty('cause');
  });

  it('keeps the code of system errors', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const { log, parsed } = capture();
    log.warn('db.unreachable', { error });
    expect(parsed()[0]?.error).toMatchObject({ name: 'Error', code: 'ECONNREFUSED' });
  });
});

describe('never throws', () => {
  it('writes a fallback line when the context cannot be serialized', () => {
    const { log, parsed } = capture();
    const hostile = {
      toJSON() {
        throw new TypeError('nope');
      },
    };
    expect(() => log.error('payout.failed', { hostile })).not.toThrow();
    expect(parsed()[0]).toMatchObject({
      severity: 'ERROR',
      message: 'payout.failed',
      loggingFailure: 'context could not be serialized (TypeError)',
    });
  });

  it('replaces a throwing getter and keeps the rest of the line', () => {
    const { log, parsed } = capture();
    const withGetter = Object.defineProperty({ ok: 1 }, 'bad', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    log.info('x.y', { withGetter });
    expect(parsed()[0]?.withGetter).toEqual({ ok: 1, bad: '[Unreadable]' });
  });

  it('swallows a failing writer', () => {
    const log = createLogger({
      write: () => {
        throw new Error('stdout closed');
      },
    });
    expect(() => log.critical('wallet.limit_exceeded')).not.toThrow();
  });
});

describe('pretty format', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('prints one readable, redacted line: local time, padded severity, event, key=value', () => {
    const at = new Date(2025, 2, 1, 9, 5, 7);
    vi.useFakeTimers({ now: at });
    registerSecretValues(['pretty-secret-value']);
    const lines: string[] = [];
    const log = createLogger({ format: 'pretty', write: (line) => lines.push(line) });
    const txHash = `0x${'ab'.repeat(32)}`;
    log
      .child({ 'logging.googleapis.com/trace': 'projects/p/traces/t' })
      .info('payout.broadcast', { payoutId: 'po_1', txHash, note: 'two words', units: 5n, apiKey: 'pretty-secret-value', leak: 'pretty-secret-value' });
    log.error('payout.failed', { error: testError('rpc_timeout', 'RPC timed out') });
    expect(lines).toEqual([
      `09:05:07 INFO  payout.broadcast payoutId=po_1 txHash=${txHash} note="two words" units=5 apiKey=[REDACTED] leak=[REDACTED]`,
      '09:05:07 ERROR payout.failed error="TransientError[rpc_timeout]: RPC timed out"',
    ]);
  });
});
