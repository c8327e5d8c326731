import { describe, expect, it } from 'vitest';
import { escapeHtml } from './html.js';

describe('escapeHtml', () => {
  it.each([
    ['plain text', 'Crypto Club', 'Crypto Club'],
    ['angle brackets', '<script>', '&lt;script&gt;'],
    ['ampersand first, so entities are not double-escaped wrongly', 'a & b &lt;', 'a &amp; b &amp;lt;'],
    ['double quotes for attributes', 'say "hi"', 'say &quot;hi&quot;'],
    ['single quotes stay', "it's", "it's"],
    ['emoji and non-Latin text stay', 'Привет 👋', 'Привет 👋'],
    ['an empty string', '', ''],
  ])('escapes %s', (_name, input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });
});
