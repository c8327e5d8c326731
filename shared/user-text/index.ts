import type * as z from 'zod';

/**
 * Text people send us (channel titles and descriptions, donation messages, payout memos, emails,
 * link tokens, new passwords): one rule for all of it, applied where each field's zod schema is
 * declared, so a bad character is a 400 naming the field and never reaches PostgreSQL (whose
 * `text` refuses U+0000: a 500) or a Telegram message.
 *
 * Refused: the C0 control characters U+0000–U+001F (a multi-line text keeps tab and line feed;
 * carriage returns are refused everywhere: send `\n`), the noncharacters U+FFFE and U+FFFF, and
 * lone surrogates (`"\ud800"` in JSON, which UTF-8 cannot encode).
 */

const SINGLE_LINE_REFUSED = /[\u0000-\u001F\uFFFE\uFFFF]/;
const MULTI_LINE_REFUSED = /[\u0000-\u0008\u000B-\u001F\uFFFE\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface UserTextOptions {
  /** Tab and line feed allowed (descriptions, messages). Default false. */
  multiLine?: boolean;
}

/** Whether `text` holds none of the refused characters. */
export function isUserText(text: string, options: UserTextOptions = {}): boolean {
  return !(options.multiLine ? MULTI_LINE_REFUSED : SINGLE_LINE_REFUSED).test(text) && !LONE_SURROGATE.test(text);
}

const REFUSED_ANYWHERE = /[\u0000-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `text` without the characters `isUserText` refuses in single-line text, for text we must keep but
 * cannot refuse (a Telegram user's name arrives with an update we still have to serve).
 */
export function withoutRefusedCharacters(text: string): string {
  return text.replace(REFUSED_ANYWHERE, '');
}

/** The reason given in a 400's `fields` for a refused character. */
export function userTextMessage(options: UserTextOptions = {}): string {
  return options.multiLine
    ? 'must not contain control characters (line feeds and tabs are fine), U+FFFE, U+FFFF or unpaired surrogates'
    : 'must not contain control characters, line breaks, U+FFFE, U+FFFF or unpaired surrogates';
}

/** `schema` refusing what `isUserText` refuses, with `userTextMessage` as the reason. The one refinement every text field uses. */
export function userText<T extends z.ZodType<string>>(schema: T, options: UserTextOptions = {}): T {
  return schema.refine((text) => isUserText(text, options), { message: userTextMessage(options) }) as T;
}
