import { describe, expect, it } from 'vitest';
import { isPublicAddress, resolveWebhookTarget, webhookUrlProblem } from './webhook-url.js';

describe('isPublicAddress', () => {
  it.each([
    ['93.184.216.34', true],
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['127.8.9.10', false],
    ['10.0.0.1', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['172.32.0.1', true],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['100.127.255.255', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['198.18.0.1', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd00:ec2::254', false],
    ['fc00::1', false],
    ['ff02::1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:93.184.216.34', true],
    ['64:ff9b::a9fe:a9fe', false],
    ['2001:db8::1', false],
    ['not-an-ip', false],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('accepts loopback only with allowLoopback, and nothing else private with it', () => {
    expect(isPublicAddress('127.0.0.1', { allowLoopback: true })).toBe(true);
    expect(isPublicAddress('::1', { allowLoopback: true })).toBe(true);
    expect(isPublicAddress('10.0.0.1', { allowLoopback: true })).toBe(false);
  });
});

describe('webhookUrlProblem', () => {
  it.each([
    ['https://example.com/hook', undefined],
    ['https://example.com:8443/hook?token=abc', undefined],
    ['http://example.com/hook', 'must start with https://'],
    ['ftp://example.com/hook', 'must start with https://'],
    ['example.com/hook', 'must be an absolute URL, e.g. https://example.com/webhooks/paygate'],
    ['https://user:pw@example.com/hook', 'must not contain a user name or password'],
    ['https://example.com/hook#part', 'must not contain a #fragment'],
    ['https://127.0.0.1/hook', 'must not point to a private, loopback, link-local or reserved address'],
    ['https://[::1]/hook', 'must not point to a private, loopback, link-local or reserved address'],
    ['https://169.254.169.254/latest/meta-data', 'must not point to a private, loopback, link-local or reserved address'],
    ['https://0x7f000001/hook', 'must not point to a private, loopback, link-local or reserved address'],
    ['https://localhost/hook', 'must name a public host (not localhost or a single-label name)'],
    ['https://intranet/hook', 'must name a public host (not localhost or a single-label name)'],
    [`https://example.com/${'a'.repeat(2048)}`, 'must be at most 2048 characters'],
  ])('%s → %s', (url, problem) => {
    expect(webhookUrlProblem(url)).toBe(problem);
  });
});

describe('resolveWebhookTarget', () => {
  const resolver = (answers: Record<string, string[]>) => async (host: string) => (answers[host] ?? []).map((address) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }));

  it('pins the first address when every address is public', async () => {
    const target = await resolveWebhookTarget('https://hooks.example.com/x', resolver({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1::1'] }));
    expect(target).toMatchObject({ address: '93.184.216.34', family: 4 });
  });

  it('refuses a name when any of its addresses is private', async () => {
    await expect(resolveWebhookTarget('https://hooks.example.com/x', resolver({ 'hooks.example.com': ['93.184.216.34', '10.0.0.7'] }))).resolves.toMatchObject({ refused: 'refused_address' });
  });

  it('says dns when the name has no address or does not resolve', async () => {
    await expect(resolveWebhookTarget('https://none.example.com/x', resolver({}))).resolves.toMatchObject({ refused: 'dns' });
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    await expect(resolveWebhookTarget('https://none.example.com/x', failing)).resolves.toEqual({ refused: 'dns', detail: 'the host did not resolve (ENOTFOUND)' });
  });
});

describe('webhookUrlProblem with allowLoopback (tests only)', () => {
  it('accepts http:// and https:// to a loopback address, and still refuses http:// elsewhere and other private addresses', () => {
    expect(webhookUrlProblem('http://127.0.0.1:8080/hook', { allowLoopback: true })).toBeUndefined();
    expect(webhookUrlProblem('https://[::1]/hook', { allowLoopback: true })).toBeUndefined();
    expect(webhookUrlProblem('http://hooks.example.com/hook', { allowLoopback: true })).toBe('must start with https://');
    expect(webhookUrlProblem('https://10.0.0.1/hook', { allowLoopback: true })).toBe('must not point to a private, loopback, link-local or reserved address');
  });
});
