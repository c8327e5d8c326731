import { PermanentError } from '../errors/index.js';
import { nowPaymentsError } from './errors.js';

/** More nested objects and arrays than this are refused: no provider body comes close, and recursion must stay bounded. */
export const MAX_JSON_DEPTH = 256;

// JSON number grammar (RFC 8259 §6), anchored at `lastIndex` by the sticky flag.
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Parses JSON like `JSON.parse`, except that every number comes back as a string holding its exact source text:
 * `{"a":0.123456789012345678,"b":1e-7}` gives `{ a: '0.123456789012345678', b: '1e-7' }`. `JSON.parse` would have
 * rounded both to doubles first, and no later code can get the digits back.
 *
 * Everything else matches `JSON.parse`: strings with all escapes, nested objects and arrays, whitespace, a later
 * duplicate key winning, `__proto__` kept as an ordinary own key. Objects come back as plain objects.
 *
 * @throws PermanentError `malformed_json` with the `position` of the first problem for anything `JSON.parse` would
 *   refuse, and for nesting deeper than {@link MAX_JSON_DEPTH}.
 */
export function parseJsonPreservingNumbers(text: string): unknown {
  if (typeof text !== 'string') throw malformed('Expected JSON text as a string', 0);
  let pos = 0;

  const skipWhitespace = (): void => {
    while (pos < text.length) {
      const ch = text.charCodeAt(pos);
      // space, \t, \n, \r: the only whitespace JSON allows
      if (ch !== 0x20 && ch !== 0x09 && ch !== 0x0a && ch !== 0x0d) return;
      pos += 1;
    }
  };

  const expect = (ch: string): void => {
    if (text[pos] !== ch) throw malformed(`Expected "${ch}"`, pos);
    pos += 1;
  };

  const parseString = (): string => {
    const start = pos;
    pos += 1; // opening quote
    let hasEscape = false;
    for (;;) {
      if (pos >= text.length) throw malformed('Unterminated string', start);
      const ch = text.charCodeAt(pos);
      if (ch === 0x22) break; // closing quote
      if (ch < 0x20) throw malformed('Control character in string', pos);
      if (ch === 0x5c) hasEscape = true;
      pos += ch === 0x5c ? 2 : 1; // a backslash escapes the next character; JSON.parse checks the escape itself
    }
    pos += 1;
    // Without a backslash the text between the quotes is the string (the common case, and cheap).
    if (!hasEscape) return text.slice(start + 1, pos - 1);
    try {
      // One string token: JSON.parse decodes its escapes (\n, \", \u00e9, surrogate pairs) exactly as the spec says.
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      throw malformed('Invalid escape in string', start);
    }
  };

  const parseNumber = (): string => {
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match === null) throw malformed('Invalid number', pos);
    pos += match[0].length;
    return match[0];
  };

  const parseLiteral = <T>(word: string, value: T): T => {
    if (!text.startsWith(word, pos)) throw malformed('Unexpected token', pos);
    pos += word.length;
    return value;
  };

  const parseValue = (depth: number): unknown => {
    skipWhitespace();
    const ch = text[pos];
    if ((ch === '{' || ch === '[') && depth >= MAX_JSON_DEPTH) {
      throw malformed(`More than ${MAX_JSON_DEPTH} nested objects or arrays`, pos);
    }
    switch (ch) {
      case '{':
        return parseObject(depth);
      case '[':
        return parseArray(depth);
      case '"':
        return parseString();
      case 't':
        return parseLiteral('true', true);
      case 'f':
        return parseLiteral('false', false);
      case 'n':
        return parseLiteral('null', null);
      default:
        if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return parseNumber();
        throw malformed(ch === undefined ? 'Unexpected end of JSON' : 'Unexpected token', pos);
    }
  };

  const parseObject = (depth: number): Record<string, unknown> => {
    const object: Record<string, unknown> = {};
    pos += 1;
    skipWhitespace();
    if (text[pos] === '}') {
      pos += 1;
      return object;
    }
    for (;;) {
      skipWhitespace();
      if (text[pos] !== '"') throw malformed('Expected a property name in double quotes', pos);
      const key = parseString();
      skipWhitespace();
      expect(':');
      const value = parseValue(depth + 1);
      // defineProperty, not assignment: a "__proto__" key must become an own property, as with JSON.parse.
      // Plain assignment to "__proto__" would set the prototype instead of an own key.
      if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
      else object[key] = value;
      skipWhitespace();
      if (text[pos] === ',') {
        pos += 1;
        continue;
      }
      expect('}');
      return object;
    }
  };

  const parseArray = (depth: number): unknown[] => {
    const array: unknown[] = [];
    pos += 1;
    skipWhitespace();
    if (text[pos] === ']') {
      pos += 1;
      return array;
    }
    for (;;) {
      array.push(parseValue(depth + 1));
      skipWhitespace();
      if (text[pos] === ',') {
        pos += 1;
        continue;
      }
      expect(']');
      return array;
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos !== text.length) throw malformed('Unexpected text after the JSON value', pos);
  return value;
}

function malformed(reason: string, position: number): PermanentError {
  return nowPaymentsError('malformed_json', `The body is not valid JSON: ${reason} at position ${position}.`, { position });
}
