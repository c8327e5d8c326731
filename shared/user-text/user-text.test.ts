import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { isUserText, userText, withoutRefusedCharacters } from './index.js';

describe('isUserText', () => {
  it.each([
    ['plain text', 'Premium club', true, true],
    ['emoji (surrogate pairs)', 'Club 🙂👍🏽', true, true],
    ['combining marks and right-to-left text', 'e\u0301 \u05e9\u05dc\u05d5\u05dd', true, true],
    ['DEL and C1 controls (not refused)', 'a\u007f\u0085b', true, true],
    ['a line feed', 'line one\nline two', false, true],
    ['a tab', 'a\tb', false, true],
    ['a carriage return', 'a\r\nb', false, false],
    ['NUL', 'a\u0000b', false, false],
    ['a bell', '\u0007', false, false],
    ['an escape (terminal sequences)', '\u001b[31mred', false, false],
    ['U+FFFE', 'a\uFFFE', false, false],
    ['U+FFFF', '\uFFFF', false, false],
    ['a lone high surrogate', 'x\ud800', false, false],
    ['a lone low surrogate', '\udfffy', false, false],
    ['two high surrogates', '\ud83d\ud83d', false, false],
  ])('%s: single-line %s, multi-line %s', (_name, text, singleLine, multiLine) => {
    expect(isUserText(text)).toBe(singleLine);
    expect(isUserText(text, { multiLine: true })).toBe(multiLine);
  });

  it('refines a schema keeping its other checks and its type', () => {
    const Title = userText(z.string().max(5, 'too long'));
    expect(Title.safeParse('abc').success).toBe(true);
    const refused = Title.safeParse('a\u0000');
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((issue) => issue.message)).toEqual([expect.stringContaining('control characters')]);
    expect(Title.safeParse('abcdef').error?.issues.map((issue) => issue.message)).toEqual(['too long']);
  });
});

describe('withoutRefusedCharacters', () => {
  it('drops exactly what single-line text refuses, keeping pairs and everything else', () => {
    expect(withoutRefusedCharacters('A\u0000n\tn\na\ud800 🙂\uFFFF\u007f')).toBe('Anna 🙂\u007f');
    for (const text of ['a\u0000b', '\ud800x', 'x\udfff', '\r\n', '\uFFFE']) expect(isUserText(withoutRefusedCharacters(text))).toBe(true);
  });
});
