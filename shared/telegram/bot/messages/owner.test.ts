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
