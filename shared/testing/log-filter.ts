/**
 * Test support: the part of the Cloud Logging query language our log-based metrics use
 * (deploy/monitoring/log-metrics.yaml), evaluated against log entries built from the JSON lines our
 * logger writes, so a test proves each metric counts lines the code really writes.
 *
 * Supported: `AND`, `OR`, `NOT`, parentheses; comparisons `field = "text"`, `!=`, `field:*`
 * (present), `field:"text"` (contains), `=~` / `!~` (RE2-like regular expressions, as JavaScript's),
 * `<`, `<=`, `>`, `>=` (severity by rank, numbers by value); a value list `field = ("a" OR "b")`.
 * Anything else throws, so a metric cannot quietly use syntax this does not check.
 */

/** A log entry as Cloud Logging stores a structured line of a Cloud Run service. */
export interface LogEntry {
  severity: string;
  jsonPayload: Record<string, unknown>;
  resource: { type: string; labels: Record<string, string> };
}

/**
 * What Cloud Run's logging agent makes of one JSON line: `severity` becomes the entry's severity,
 * `time` its timestamp, `logging.googleapis.com/*` fields its trace and labels; the rest,
 * `message` included, is the jsonPayload.
 */
export function logEntryOfLine(line: string, serviceName: string): LogEntry {
  const record = JSON.parse(line) as Record<string, unknown>;
  const jsonPayload: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'severity' || key === 'time' || key.startsWith('logging.googleapis.com/')) continue;
    jsonPayload[key] = value;
  }
  return {
    severity: String(record.severity ?? 'DEFAULT'),
    jsonPayload,
    resource: { type: 'cloud_run_revision', labels: { service_name: serviceName } },
  };
}

const SEVERITY_RANK: Record<string, number> = { DEFAULT: 0, DEBUG: 100, INFO: 200, NOTICE: 300, WARNING: 400, ERROR: 500, CRITICAL: 600, ALERT: 700, EMERGENCY: 800 };

type Token = { kind: 'word' | 'string' | 'op' | 'paren'; text: string };

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < filter.length) {
    const rest = filter.slice(index);
    const space = /^\s+/.exec(rest);
    if (space) {
      index += space[0].length;
      continue;
    }
    if (rest[0] === '(' || rest[0] === ')') {
      tokens.push({ kind: 'paren', text: rest[0] });
      index += 1;
      continue;
    }
    if (rest[0] === '"') {
      let text = '';
      let end = 1;
      for (; end < rest.length && rest[end] !== '"'; end++) {
        if (rest[end] === '\\') end += 1;
        text += rest[end] ?? '';
      }
      if (end >= rest.length) throw new Error(`Unterminated string in filter: ${filter}`);
      tokens.push({ kind: 'string', text });
      index += end + 1;
      continue;
    }
    const op = /^(=~|!~|!=|<=|>=|=|<|>|:)/.exec(rest);
    if (op) {
      tokens.push({ kind: 'op', text: op[0] });
      index += op[0].length;
      continue;
    }
    const word = /^[A-Za-z0-9_.*\-/]+/.exec(rest);
    if (!word) throw new Error(`Unsupported filter syntax at "${rest.slice(0, 20)}"`);
    tokens.push({ kind: 'word', text: word[0] });
    index += word[0].length;
  }
  return tokens;
}

type Predicate = (entry: LogEntry) => boolean;

function fieldValue(entry: LogEntry, field: string): unknown {
  let value: unknown = entry;
  for (const part of field.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function compare(field: string, op: string, expected: string, actual: unknown): boolean {
  if (actual === undefined || actual === null) return op === '!=' || op === '!~';
  const text = typeof actual === 'string' ? actual : JSON.stringify(actual);
  switch (op) {
    case '=':
      return text === expected;
    case '!=':
      return text !== expected;
    case ':':
      return text.toLowerCase().includes(expected.toLowerCase());
    case '=~':
      return new RegExp(expected).test(text);
    case '!~':
      return !new RegExp(expected).test(text);
    default: {
      const rank = (value: string) => (field === 'severity' ? (SEVERITY_RANK[value.toUpperCase()] ?? Number.NaN) : Number(value));
      const [left, right] = [rank(text), rank(expected)];
      if (Number.isNaN(left) || Number.isNaN(right)) return false;
      return op === '<' ? left < right : op === '<=' ? left <= right : op === '>' ? left > right : left >= right;
    }
  }
}

/** Parses `filter` into a predicate over log entries (throws on syntax it does not support). */
export function compileLogFilter(filter: string): Predicate {
  const tokens = tokenize(filter);
  let position = 0;
  const peek = () => tokens[position];
  const next = () => {
    const token = tokens[position++];
    if (!token) throw new Error(`Filter ends too soon: ${filter}`);
    return token;
  };
  const isWord = (text: string) => peek()?.kind === 'word' && peek()?.text === text;

  const parseOr = (): Predicate => {
    const parts = [parseAnd()];
    while (isWord('OR')) {
      next();
      parts.push(parseAnd());
    }
    return (entry) => parts.some((part) => part(entry));
  };
  const parseAnd = (): Predicate => {
    const parts = [parseNot()];
    while (isWord('AND')) {
      next();
      parts.push(parseNot());
    }
    return (entry) => parts.every((part) => part(entry));
  };
  const parseNot = (): Predicate => {
    if (isWord('NOT')) {
      next();
      const inner = parseNot();
      return (entry) => !inner(entry);
    }
    if (peek()?.kind === 'paren' && peek()?.text === '(') {
      next();
      const inner = parseOr();
      if (next().text !== ')') throw new Error(`Missing ) in filter: ${filter}`);
      return inner;
    }
    return parseComparison();
  };
  const parseValues = (): string[] => {
    const token = next();
    if (token.kind === 'string' || token.kind === 'word') return [token.text];
    if (token.kind !== 'paren' || token.text !== '(') throw new Error(`Expected a value in filter: ${filter}`);
    const values = parseValues();
    while (isWord('OR')) {
      next();
      values.push(...parseValues());
    }
    if (next().text !== ')') throw new Error(`Missing ) in a value list of filter: ${filter}`);
    return values;
  };
  const parseComparison = (): Predicate => {
    const field = next();
    if (field.kind !== 'word') throw new Error(`Expected a field name in filter: ${filter}`);
    const op = next();
    if (op.kind !== 'op') throw new Error(`Expected an operator after ${field.text} in filter: ${filter}`);
    if (op.text === ':' && peek()?.kind === 'word' && peek()?.text === '*') {
      next();
      return (entry) => fieldValue(entry, field.text) !== undefined;
    }
    const values = parseValues();
    const isNegative = op.text === '!=' || op.text === '!~';
    return (entry) => {
      const actual = fieldValue(entry, field.text);
      return isNegative ? values.every((value) => compare(field.text, op.text, value, actual)) : values.some((value) => compare(field.text, op.text, value, actual));
    };
  };

  const predicate = parseOr();
  if (position !== tokens.length) throw new Error(`Unexpected "${peek()?.text}" in filter: ${filter}`);
  return predicate;
}
