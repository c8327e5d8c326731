import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../../shared/telegram/html';
import { telegramHtmlRuns } from './telegram-html';

describe('telegramHtmlRuns', () => {
  it('turns <b> into bold runs and the entities back into characters', () => {
    expect(telegramHtmlRuns(`👋 Welcome to <b>${escapeHtml('Tom & Jerry <club>')}</b>: "daily"\n\nChoose`)).toEqual([
      { text: '👋 Welcome to ', bold: false },
      { text: 'Tom & Jerry <club>', bold: true },
      { text: ': "daily"\n\nChoose', bold: false },
    ]);
  });

  it('shows any other markup as text, never as markup', () => {
    expect(telegramHtmlRuns('<img src=x onerror=alert(1)><i>x</i>')).toEqual([{ text: '<img src=x onerror=alert(1)><i>x</i>', bold: false }]);
    expect(telegramHtmlRuns('&amp;lt;')).toEqual([{ text: '&lt;', bold: false }]);
  });
});
