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

  it('leaves out an empty description', () => {
    expect(translate('en', 'channelOffer', 'Club', '  ')).toBe('<b>Club</b>\n\nChoose your subscription:');
  });

  it('shortens long titles on buttons', () => {
    expect([...translate('en', 'renewButton', 'x'.repeat(100))].length).toBeLessThan(45);
  });
});
