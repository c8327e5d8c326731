import * as z from 'zod';
import { telegramError } from './errors.js';

/** Telegram refuses `callback_data` longer than this many bytes. */
export const MAX_CALLBACK_DATA_BYTES = 64;

const TAG_PATTERN = /^[a-z][a-z0-9]{0,3}$/;
/** Field values may not contain the separator; public ids and small numbers never do. */
const FIELD_PATTERN = /^[A-Za-z0-9_.-]{1,40}$/;

export interface CallbackCodec<T> {
  /** `<tag>`, e.g. `t1`: a short name plus a version digit, so a changed layout gets a new tag. */
  readonly tag: string;
  /** Matches every data string of this tag (valid or not), for `composer.callbackQuery(codec.trigger, …)`. */
  readonly trigger: RegExp;
  /**
   * `<tag>:<field>:<field>…`. Throws on a value the schema refuses or on data over 64 bytes: a
   * button we cannot decode again must never be sent.
   */
  encode(value: T): string;
  /** The value, or `undefined` for data of another tag, the wrong number of fields or a value the schema refuses. */
  decode(data: string | undefined): T | undefined;
}

/**
 * A versioned, validated layout of inline-button `callback_data`. Anyone can send any callback
 * data (a modified client, an old message), so data carries only references (public ids, small
 * numbers) — never a price or an amount — and every press is decoded through the schema before use.
 *
 *   const chooseTier = defineCallbackData('t1', ['channel', 'tier'], z.object({
 *     channel: z.string().startsWith('ch_'),
 *     tier: z.coerce.number().int().min(1).max(3),
 *   }));
 *   keyboard.text('Tier 1', chooseTier.encode({ channel: publicId, tier: 1 }));
 *   bot.callbackQuery(chooseTier.trigger, (ctx) => { const choice = chooseTier.decode(ctx.callbackQuery.data); … });
 *
 * Fields are read from their text form, so numeric fields use `z.coerce.number()`.
 */
export function defineCallbackData<S extends z.ZodType>(tag: string, fields: readonly string[], schema: S): CallbackCodec<z.output<S>> {
  if (!TAG_PATTERN.test(tag)) throw telegramError('invalid_callback_data', `defineCallbackData: tag ${JSON.stringify(tag)} must match ${TAG_PATTERN}`);
  const prefix = `${tag}:`;
  return {
    tag,
    trigger: new RegExp(`^${tag}(?::|$)`),
    encode(value) {
      const record = value as Record<string, unknown>;
      const parts = fields.map((field) => String(record[field]));
      for (const part of parts) {
        if (!FIELD_PATTERN.test(part)) throw telegramError('invalid_callback_data', `callback data ${tag}: field value ${JSON.stringify(part)} is not allowed`);
      }
      if (!schema.safeParse(Object.fromEntries(fields.map((field, i) => [field, parts[i]]))).success) {
        throw telegramError('invalid_callback_data', `callback data ${tag}: the value does not match its schema`);
      }
      const data = fields.length === 0 ? tag : `${prefix}${parts.join(':')}`;
      if (Buffer.byteLength(data) > MAX_CALLBACK_DATA_BYTES) throw telegramError('invalid_callback_data', `callback data ${tag} is over ${MAX_CALLBACK_DATA_BYTES} bytes`);
      return data;
    },
    decode(data) {
      if (typeof data !== 'string' || Buffer.byteLength(data) > MAX_CALLBACK_DATA_BYTES) return undefined;
      if (fields.length === 0) return data === tag ? (schema.safeParse({}).data as z.output<S> | undefined) : undefined;
      if (!data.startsWith(prefix)) return undefined;
      const parts = data.slice(prefix.length).split(':');
      if (parts.length !== fields.length || !parts.every((part) => FIELD_PATTERN.test(part))) return undefined;
      const parsed = schema.safeParse(Object.fromEntries(fields.map((field, i) => [field, parts[i]])));
      return parsed.success ? parsed.data : undefined;
    },
  };
}
