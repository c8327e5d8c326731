import { describe, expect, it } from 'vitest';
import type { MailMessage } from '../mail/index.js';
import { accountMails } from './account-mail-templates.js';

const BASE = 'https://pay.example.test';
const TOKEN = 'AbC_d-123456789012345678901234567890123456789';

function hrefs(html: string | undefined): string[] {
  return [...(html ?? '').matchAll(/href="([^"]*)"/g)].map((match) => match[1]!);
}

describe('account mail templates', () => {
  it.each<[string, MailMessage, string, string]>([
    ['verifyEmail', accountMails.verifyEmail('owner+shop@example.com', BASE, TOKEN), '/verify-email', '24 hours'],
    ['resetPassword', accountMails.resetPassword('owner+shop@example.com', BASE, TOKEN), '/reset-password', '1 hour'],
    ['confirmEmailChange', accountMails.confirmEmailChange('owner+shop@example.com', BASE, TOKEN), '/confirm-email', '1 hour'],
  ])('%s links to an absolute https page of PUBLIC_BASE_URL with the token in the fragment', (_, mail, page, lifetime) => {
    const link = `${BASE}${page}#token=${TOKEN}`;
    expect(mail.to).toBe('owner+shop@example.com');
    expect(hrefs(mail.html)).toEqual([link]);
    const url = new URL(hrefs(mail.html)[0]!);
    expect(url.protocol).toBe('https:');
    expect(url.search).toBe('');
    expect(url.hash).toBe(`#token=${TOKEN}`);
    expect(mail.text).toContain(link);
    expect(mail.text).toContain(`expires in ${lifetime}`);
    expect(mail.html).toContain(`expires in ${lifetime}`);
  });

  it('keeps a + in an address it mentions, and escapes HTML in values', () => {
    const mail = accountMails.emailChangeRequested('old@example.com', 'new+tag@example.org');
    expect(mail.text).toContain('new+tag@example.org');
    expect(mail.html).toContain('new+tag@example.org');
    const hostile = accountMails.emailChanged('old@example.com', '"><script>alert(1)</script>@example.org');
    expect(hostile.html).not.toContain('<script>');
    expect(hostile.html).toContain('&lt;script&gt;');
    expect(hostile.text).toContain('<script>');
  });

  it('escapes the link itself in the HTML part', () => {
    const mail = accountMails.resetPassword('a@example.com', 'https://pay.example.test/a"b', TOKEN);
    expect(mail.html).not.toContain('a"b');
    expect(mail.html).toContain('a&quot;b');
  });

  it('tells the owner of a payout wallet change what to do if it was not them', () => {
    const mail = accountMails.payoutWalletChanged('owner+shop@example.com', BASE);
    expect(mail.to).toBe('owner+shop@example.com');
    expect(mail.subject).toContain('payout wallet was changed');
    expect(mail.text).toContain(`${BASE}/forgot-password`);
    expect(mail.text).not.toContain('#token=');
  });
});
