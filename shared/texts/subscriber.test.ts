import { describe, expect, it } from 'vitest';
import { translate } from './index.js';

describe('subscriber messages', () => {
  it.each([
    [1, '1 день'],
    [2, '2 дня'],
    [5, '5 дней'],
    [11, '11 дней'],
    [14, '14 дней'],
    [21, '21 день'],
    [30, '30 дней'],
    [92, '92 дня'],
    [365, '365 дней'],
  ])('says %i days in Russian as %s', (days, text) => {
    expect(translate('ru', 'tierButton', 1, days, 1999n)).toBe(`Уровень 1 · ${text} · $19.99`);
  });

  it('says 1 day and 30 days in English', () => {
    expect(translate('en', 'tierButton', 2, 1, 500n)).toBe('Tier 2 · 1 day · $5.00');
    expect(translate('en', 'tierButton', 1, 30, 1999n)).toBe('Tier 1 · 30 days · $19.99');
  });

  it('escapes owner text in both languages', () => {
    for (const language of ['en', 'ru'] as const) {
      const text = translate(language, 'channelOffer', 'A <b> & "C"', '<script>');
      expect(text).toContain('<b>A &lt;b&gt; &amp; &quot;C&quot;</b>');
      expect(text).toContain('&lt;script&gt;');
      expect(translate(language, 'donationKeypad', '<t>', '<i>x</i>', '12.5', 499n, 999_999n)).not.toMatch(/<t>|<i>x/);
    }
  });

  it('says when a renewal reminder comes, and escapes the title, in both languages', () => {
    const ends = new Date('2026-12-29T14:05:00Z');
    expect(['3d', '1d', '1h'].map((offset) => translate('en', 'renewalReminder', 'A <b>', offset as '3d', ends).split('\n')[0])).toEqual([
      '⏰ Your subscription to <b>A &lt;b&gt;</b> ends in 3 days, on 2026-12-29 14:05 UTC.',
      '⏰ Your subscription to <b>A &lt;b&gt;</b> ends in 1 day, on 2026-12-29 14:05 UTC.',
      '⏰ Your subscription to <b>A &lt;b&gt;</b> ends in 1 hour, on 2026-12-29 14:05 UTC.',
    ]);
    expect(['3d', '1d', '1h'].map((offset) => /заканчивается ([^,]+),/.exec(translate('ru', 'renewalReminder', 'A', offset as '3d', ends))?.[1])).toEqual([
      'через 3 дня',
      'через 1 день',
      'через 1 час',
    ]);
    for (const language of ['en', 'ru'] as const) {
      const grace = translate(language, 'graceStarted', '<i>x</i>', ends, new Date('2026-12-30T14:05:00Z'));
      expect(grace).toContain('&lt;i&gt;x&lt;/i&gt;');
      expect(grace).toContain('2026-12-30 14:05 UTC');
      expect(translate(language, 'remindersTurnedOff', 'y'.repeat(100)).length).toBeLessThan(200); // a callback answer's limit
    }
  });

  it('leaves out an empty description', () => {
    expect(translate('en', 'channelOffer', 'Club', '  ')).toBe('<b>Club</b>\n\nChoose your subscription:');
  });

  it('shortens long titles on buttons', () => {
    expect([...translate('en', 'renewButton', 'x'.repeat(100))].length).toBeLessThan(45);
  });
});
