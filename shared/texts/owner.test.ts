import { describe, expect, it } from 'vitest';
import { LANGUAGES, translate } from './catalogue.js';

describe('owner messages', () => {
  it.each(LANGUAGES)('escape titles, names and emails in %s', (language) => {
    const line = { title: 'A <b>', activeSubscribers: 3, revenue30Days: '$1.00', balances: ['1 ETH'] };
    expect(translate(language, 'ownerChannels', [line])).toContain('A &lt;b&gt;');
    expect(translate(language, 'linkSuccess', 'x<y>@example.com')).toContain('x&lt;y&gt;@example.com');
    expect(translate(language, 'notificationsState', [{ title: '<i>', isOn: true }])).toContain('&lt;i&gt;');
    expect(translate(language, 'botRightsMissing', 'closed', 'T&C', ['can_invite_users'])).toContain('T&amp;C');
    expect(translate(language, 'inviteLinkMisused', 'VIP', '<Eve>', 'removed')).toContain('&lt;Eve&gt;');
    const payout = { channelTitle: '<VIP>', amount: '0.1 ETH', received: null, wallet: '0xabc<def>', txHash: '0x12' };
    for (const text of [translate(language, 'payoutCompleted', payout), translate(language, 'payoutFailed', payout, 'wallet'), translate(language, 'payoutHeld', payout)]) {
      expect(text).toContain('&lt;VIP&gt;');
      expect(text).toContain('0xabc&lt;def&gt;');
    }
  });

  it('says why a payout was not sent, and that the amount is back on the balance', () => {
    const payout = { channelTitle: 'VIP', amount: '0.1 ETH', received: null, wallet: '0xabc', txHash: null };
    const reasons = ['wallet', 'amount', 'small', 'pair', 'exchange', 'chain', 'rejected', 'other', 'unsupported'] as const;
    const texts = reasons.map((reason) => translate('en', 'payoutFailed', payout, reason));
    expect(new Set(texts).size).toBe(reasons.length);
    for (const text of texts) expect(text).toContain('back on your balance');
    // When it goes out again, as the balance run decides (shared/payouts/balance.ts).
    expect(texts[0]).toContain('once you change the payout wallet');
    expect(texts[2]).toContain('once more has arrived');
    expect(texts[1]).toContain('automatically within a day');
    expect(texts[8]).toContain('once you change the payout wallet');
    expect(translate('en', 'payoutCompleted', { ...payout, received: '301.5 USDT', txHash: '0xfeed' })).toContain('301.5 USDT');
  });

  it('lists only the rights to switch on, not the preconditions', () => {
    const text = translate('en', 'botRightsMissing', 'closed', 'VIP', ['membership', 'can_invite_users', 'can_restrict_members']);
    expect(text).toContain('Add the bot back as an administrator');
    expect(text).toContain('• Invite users via link\n• Ban users');
    expect(text).not.toContain('be in the chat');
  });

  it('shows "none" for a channel that is owed nothing', () => {
    const text = translate('en', 'ownerChannels', [{ title: 'VIP', activeSubscribers: 0, revenue30Days: '$0.00', balances: [] }]);
    expect(text).toContain('Pending balance: none');
  });
});
