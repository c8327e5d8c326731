import * as z from 'zod';
import { registerSecretValues } from '../logging/index.js';

/**
 * The environment is missing or has invalid variables. `variables` names each one; the message says
 * what is wrong with each (`DATABASE_URL: required`) and never contains a value, so it is safe to log
 * and to show in a crash report.
 */
export class ConfigError extends Error {
  readonly variables: string[];

  constructor(variables: string[], message: string) {
    super(message);
    this.name = 'ConfigError';
    this.variables = [...variables];
  }
}

/** Userinfo password of a URL-shaped secret (`postgres://user:PASSWORD@host`), which libraries may log alone. */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:([^\s/?#]+)@/i;

function registerSecret(value: unknown): void {
  if (typeof value !== 'string') return;
  const password = URL_PASSWORD.exec(value)?.[1];
  let decoded: string | undefined;
  try {
    decoded = password === undefined ? undefined : decodeURIComponent(password);
  } catch {
    decoded = undefined;
  }
  registerSecretValues([value, password, decoded]);
}

/**
 * Marks a variable as secret: whenever a value is parsed with this schema (valid or not) it is
 * registered with the logger, so it prints as `[REDACTED]` wherever it appears in a log line
 * (values shorter than 6 characters are not registered). Wrap the innermost schema; `.optional()`
 * and `.default()` may be chained on the result.
 */
export function secret<S extends z.ZodType>(schema: S) {
  return z.preprocess((value: unknown) => {
    registerSecret(value);
    return value;
  }, schema);
}

/** Values shorter than this are not scrubbed from messages: they would match ordinary words. */
const MIN_SCRUB_LENGTH = 4;

/** Why `value` failed `schema`, or `undefined` when it passed (then `out.value` holds the result). */
function validate(schema: z.ZodType, value: string | undefined, out: { value?: unknown }): string[] | undefined {
  let result: ReturnType<z.ZodType['safeParse']>;
  try {
    result = schema.safeParse(value);
  } catch (thrown) {
    // A schema that throws (a refine calling BigInt on bad input) may put the value in its message.
    return [`could not be validated (the schema threw ${thrown instanceof Error ? thrown.name : typeof thrown})`];
  }
  if (result.success) {
    out.value = result.data;
    return undefined;
  }
  if (value === undefined) return ['required'];
  const reasons: string[] = [];
  for (const issue of result.error.issues) {
    // Our schemas never put the value in a message; a caller's custom message might.
    const reason = value.length >= MIN_SCRUB_LENGTH ? issue.message.split(value).join('[value hidden]') : issue.message;
    if (!reasons.includes(reason)) reasons.push(reason);
  }
  return reasons;
}

/**
 * Reads and validates the variables named by `shape` from `env` (default `process.env`); call it
 * once, at module scope of a function, listing only the variables that function uses.
 *
 * Every value is trimmed first (a secret written with `echo` ends in a newline) and an empty value
 * counts as unset, so `.optional()` and `.default()` apply to it. Variables not in `shape` are never
 * read. Values of `secret()` variables are registered with the logger for redaction.
 *
 * @throws ConfigError naming every missing or invalid variable at once (never a value).
 */
export function loadConfig<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  const variables: string[] = [];
  for (const [name, schema] of Object.entries(shape)) {
    const trimmed = env[name]?.trim();
    const out: { value?: unknown } = {};
    const reasons = validate(schema as z.ZodType, trimmed === '' ? undefined : trimmed, out);
    if (reasons) {
      variables.push(name);
      problems.push(`${name}: ${reasons.join(', ')}`);
    } else {
      config[name] = out.value;
    }
  }
  if (variables.length > 0) throw new ConfigError(variables, `Invalid configuration: ${problems.join('; ')}`);
  return config as z.infer<z.ZodObject<S>>;
}
