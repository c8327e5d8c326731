import { describe, expect, it } from 'vitest';
import type { Channel } from '../api/client';
import { channelBodyOf, channelChanges, channelFormOf, type ChannelFormValues, emptyChannelForm, percentToBps, validateChannelForm, walletFeedback } from './channel-form';

const ETH_WALLET = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function filledForm(change: (values: ChannelFormValues) => void = () => undefined): ChannelFormValues {
  const values = emptyChannelForm();
  values.openChat = { id: '-1001000000011', title: 'News', description: '' };
  values.closedChat = { id: '-1001000000012', title: 'Members', description: 'the good stuff' };
  values.tiers = [{ priceUsd: '9.99', durationDays: '30', trialDays: '0' }];
  values.payout = { network: 'ETH', currency: 'USDT', wallet: ETH_WALLET, extraId: '' };
  values.currentPassword = 'my password';
  change(values);
  return values;
}

const storedChannel: Channel = {
  id: 'ch_x',
  status: 'active',
  openChat: { id: '-1001000000011', title: 'News', description: '' },
  closedChat: { id: '-1001000000012', title: 'Members', description: 'the good stuff' },
  tiers: [{ tierNumber: 1, priceUsd: '9.99', durationDays: 30, trialDays: 0 }],
  donations: { enabled: false, minUsd: null, maxUsd: null, message: null },
  payoutDestination: { currency: 'USDT', network: 'ETH', wallet: ETH_WALLET, extraId: null },
  payoutStrategy: { strategy: 'instant', thresholdUsd: null },
  underpaymentToleranceBps: 9800,
  notifications: { enabled: true, chatId: '1000' },
  botRights: null,
  gracePeriodHours: 0,
  trialMinAccountAgeDays: null,
  subscribeLinks: null,
  broadcast: {
    enabled: true,
    disabledReason: null,
    intervalHours: 24,
    nextRunAt: null,
    lastPostedAt: null,
    consecutiveFailures: 0,
    lastError: null,
    lastManualTriggerAt: null,
    manualTriggerAvailableAt: null,
  },
  createdAt: '2026-03-01T12:00:00Z',
  updatedAt: '2026-03-01T12:00:00Z',
};

describe('the channel form', () => {
  it('makes the API’s request body from what the inputs hold', () => {
    expect(channelBodyOf(filledForm((values) => (values.tolerancePercent = '97.5')))).toEqual({
      openChat: { id: '-1001000000011', title: 'News', description: '' },
      closedChat: { id: '-1001000000012', title: 'Members', description: 'the good stuff' },
      tiers: [{ priceUsd: '9.99', durationDays: 30, trialDays: 0 }],
      donations: { enabled: false },
      payoutDestination: { currency: 'USDT', network: 'ETH', wallet: ETH_WALLET, extraId: null },
      payoutStrategy: { strategy: 'instant' },
      underpaymentToleranceBps: 9750,
      notifications: { enabled: true, chatId: null },
      gracePeriodHours: 0,
      trialMinAccountAgeDays: null,
      broadcast: { intervalHours: 24 },
    });
  });

  it('finds nothing wrong with a complete form', () => {
    expect(validateChannelForm(filledForm(), { requirePassword: true })).toEqual({});
  });

  it('reports each problem on the API’s field path, with the server’s own messages', () => {
    const errors = validateChannelForm(
      filledForm((values) => {
        values.openChat.id = '-12345'; // a basic group
        values.closedChat.title = '   ';
        values.tiers = [
          { priceUsd: '9.999', durationDays: '30', trialDays: '0' },
          { priceUsd: '20', durationDays: '0', trialDays: '0' },
        ];
        values.gracePeriodHours = '100';
        values.broadcastIntervalHours = 'often';
        values.tolerancePercent = '80';
        values.currentPassword = '';
      }),
      { requirePassword: true },
    );
    expect(errors).toEqual({
      'openChat.id': expect.stringMatching(/^Must be a channel or supergroup id/),
      'closedChat.title': 'The title must not be blank',
      'tiers.0.priceUsd': expect.stringMatching(/^Must be a dollar amount .* at most 2 decimals/),
      'tiers.1.durationDays': 'Must be at least 1 day',
      gracePeriodHours: 'Must be at most 72 hours',
      'broadcast.intervalHours': 'Must be a whole number of hours',
      underpaymentToleranceBps: 'Enter a share from 90 to 100 %, with at most two decimals',
      currentPassword: 'Enter your account password to confirm where payouts go',
    });
  });

  it('applies the whole-channel rules of the server: two different chats, donation bounds in order', () => {
    const errors = validateChannelForm(
      filledForm((values) => {
        values.closedChat.id = values.openChat.id;
        values.donations = { enabled: true, minUsd: '50', maxUsd: '10', message: 'Thanks!' };
      }),
      { requirePassword: false },
    );
    expect(errors).toEqual({
      'closedChat.id': 'The closed chat must be another chat than the open one',
      'donations.maxUsd': 'Must not be below minUsd',
    });
  });

  it('leaves the configured minimums (tier price, threshold) to the server', () => {
    const values = filledForm((draft) => {
      draft.tiers = [{ priceUsd: '0.5', durationDays: '1', trialDays: '0' }];
      draft.strategy = 'threshold';
      draft.thresholdUsd = '1';
    });
    expect(validateChannelForm(values, { requirePassword: true })).toEqual({});
  });

  it('checks the wallet live with the server’s validator and checksums', () => {
    const payout = { network: 'ETH', currency: 'USDT', extraId: '' };
    expect(walletFeedback({ ...payout, wallet: '' })).toEqual({});
    expect(walletFeedback({ ...payout, wallet: ETH_WALLET })).toEqual({ ok: 'A valid Ethereum address.' });
    expect(walletFeedback({ ...payout, wallet: ETH_WALLET.toLowerCase() }).ok).toBe(`A valid Ethereum address; it will be saved as ${ETH_WALLET}.`);
    // One letter's case changed: the EIP-55 checksum fails.
    expect(walletFeedback({ ...payout, wallet: ETH_WALLET.replace('C51812', 'c51812') }).error).toMatch(/checksum|mistyped|capital/i);
    expect(walletFeedback({ ...payout, wallet: 'TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf' }).error).toMatch(/TRON address, but this payout is sent on Ethereum/);
    expect(walletFeedback({ ...payout, wallet: ' 0x70997970C51812dc3A010C7d01b50e0d17dc79C8' }).error).toMatch(/starts or ends with a space/);
    expect(walletFeedback({ network: 'XRP', currency: 'XRP', wallet: 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh', extraId: 'abc' }).error).toMatch(/destination tag is a whole number/);
    expect(walletFeedback({ network: '', currency: '', wallet: ETH_WALLET, extraId: '' }).error).toBe('Choose the payout network and currency first.');
  });

  it('warns before anything else when a private key is pasted as the wallet', () => {
    const key = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
    expect(walletFeedback({ network: 'ETH', currency: 'ETH', wallet: key, extraId: '' }).warning).toMatch(/private key/);
    expect(validateChannelForm(filledForm((values) => (values.payout.wallet = key)), { requirePassword: true })['payoutDestination.wallet']).toMatch(/Never paste or share a private key/);
  });

  it('puts a bad memo or tag on its own field', () => {
    const errors = validateChannelForm(
      filledForm((values) => (values.payout = { network: 'XRP', currency: 'XRP', wallet: 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh', extraId: '-1' })),
      { requirePassword: true },
    );
    expect(Object.keys(errors)).toEqual(['payoutDestination.extraId']);
  });

  it('reads percentages with two decimals at most', () => {
    expect([percentToBps('98'), percentToBps('98.5'), percentToBps('90,25'), percentToBps('100')]).toEqual([9800, 9850, 9025, 10000]);
    expect(percentToBps('98.125')).toBeNaN();
    expect(percentToBps('')).toBeNaN();
  });
});

describe('an edit', () => {
  it('sends only the sections that changed', () => {
    const values = channelFormOf(storedChannel);
    expect(channelChanges(values, storedChannel)).toEqual({ changes: {}, isPayoutChange: false });
    values.tiers.push({ priceUsd: '25', durationDays: '90', trialDays: '0' });
    values.broadcastEnabled = false;
    expect(channelChanges(values, storedChannel)).toEqual({
      changes: {
        tiers: [
          { priceUsd: '9.99', durationDays: 30, trialDays: 0 },
          { priceUsd: '25', durationDays: 90, trialDays: 0 },
        ],
        broadcast: { intervalHours: null },
      },
      isPayoutChange: false,
    });
  });

  it('needs the password only when the payout destination or strategy changes', () => {
    const wallet = channelFormOf(storedChannel);
    wallet.payout.wallet = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
    expect(channelChanges(wallet, storedChannel).isPayoutChange).toBe(true);
    const strategy = channelFormOf(storedChannel);
    strategy.strategy = 'threshold';
    strategy.thresholdUsd = '50';
    expect(channelChanges(strategy, storedChannel)).toEqual({ changes: { payoutStrategy: { strategy: 'threshold', thresholdUsd: '50' } }, isPayoutChange: true });
    const title = channelFormOf(storedChannel);
    title.openChat.title = 'Daily news';
    expect(channelChanges(title, storedChannel).isPayoutChange).toBe(false);
    expect(validateChannelForm(title, { requirePassword: false })).toEqual({});
  });
});
