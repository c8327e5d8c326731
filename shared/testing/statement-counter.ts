import type { Db, QueryResult, Queryable, Row, Tx } from '../db/index.js';

/**
 * Counts the SQL a piece of code sends, by wrapping the database port: every `query` / `exec` on the
 * database or on a transaction is one statement; a transaction adds its BEGIN, its COMMIT (or
 * ROLLBACK) and, when it names an isolation level, its SET TRANSACTION. A retried transaction counts
 * every attempt, as the server sees them. Statements are grouped by a short label (the first
 * `LABEL_LENGTH` characters of the normalised SQL, see `statementLabel`) so a report can list the
 * statement shapes that cost the most. Benchmarks and tests only.
 *
 * Not seen: a BEGIN that fails before the transaction's work starts (the wrapped port never hands
 * out the transaction), and whatever the driver sends on its own (connection setup).
 */
export interface StatementCounterOptions {
  /**
   * Names where a statement comes from (a benchmark passes the function serving the current
   * request); asked once per statement outside a transaction and once per transaction. Statements
   * with no scope are counted under `NO_SCOPE`.
   */
  scope?: () => string | undefined;
}

export const NO_SCOPE = '(no scope)';

/** Statements of one label, from one scope, inside or outside a transaction. */
export interface StatementShape {
  label: string;
  scope: string;
  inTransaction: boolean;
  count: number;
}

/** One distinct transaction: where it ran and its statements' labels in order (BEGIN … COMMIT). */
export interface TransactionShape {
  scope: string;
  labels: string[];
  /** How many times a transaction with exactly these statements ran (attempts of retried ones included). */
  count: number;
}

export interface StatementCounts {
  statements: number;
  transactions: number;
  byLabel: Map<string, number>;
  /** The same statements split by scope and by whether they ran inside a transaction. */
  shapes: StatementShape[];
  /** Every distinct transaction, most frequent first. */
  transactionShapes: TransactionShape[];
  /** The first normalised SQL text seen under each label (a label is cut short; this is not). */
  sqlByLabel: Map<string, string>;
}

export interface StatementCounter {
  /** The counting wrapper: give it to the code under measurement instead of the database. */
  db: Db;
  counts(): StatementCounts;
  /** Forgets everything counted so far (after setup). Transactions open now keep counting. */
  reset(): void;
}

/** How many characters of the normalised SQL make a label. */
export const LABEL_LENGTH = 60;

const LABEL_CACHE_LIMIT = 10_000;
const labelCache = new Map<string, { label: string; normalised: string }>();

/** Whitespace collapsed and comments dropped. */
export function normaliseSql(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/\( /g, '(')
    .replace(/ \)/g, ')')
    .trim()
    .replace(/;$/, '');
}

/**
 * Index of the next occurrence of one of `words` (upper case, matched as whole words, case
 * insensitive) at parenthesis depth 0 from `from`, outside string literals; -1 when none.
 */
function indexAtDepthZero(text: string, from: number, words: readonly string[]): number {
  let depth = 0;
  for (let index = from; index < text.length; index++) {
    const char = text[index];
    if (char === "'") {
      const end = text.indexOf("'", index + 1);
      if (end < 0) return -1;
      index = end;
    } else if (char === '(') depth++;
    else if (char === ')') {
      if (depth === 0) return -1; // the enclosing sub-select ends first
      depth--;
    } else if (depth === 0 && (index === 0 || /\W/.test(text[index - 1] ?? ''))) {
      for (const word of words) {
        if (text.slice(index, index + word.length).toUpperCase() === word && /^(\W|$)/.test(text.slice(index + word.length, index + word.length + 1))) {
          return index;
        }
      }
    }
  }
  return -1;
}

/** Replaces what runs from each `keyword` to the next of `until` (same depth) by "…", when longer than `keep` characters. */
function elide(text: string, keyword: RegExp, until: readonly string[], keep: number): string {
  let result = '';
  let rest = text;
  for (;;) {
    const match = keyword.exec(rest);
    if (!match) return result + rest;
    const start = match.index + match[0].length;
    const end = indexAtDepthZero(rest, start, until);
    if (end < 0 || end - start <= keep) {
      result += rest.slice(0, start);
      rest = rest.slice(start);
      continue;
    }
    result += `${rest.slice(0, start)}… `;
    rest = rest.slice(end);
  }
}

/**
 * What a statement is, in a few words: the normalised SQL with long select lists, insert column and
 * value lists and update SET lists shortened to "…" (so the table and the condition show), cut to
 * `LABEL_LENGTH` characters.
 */
export function statementLabel(sql: string): string {
  return labelled(sql).label;
}

function labelled(sql: string): { label: string; normalised: string } {
  const cached = labelCache.get(sql);
  if (cached) return cached;
  const normalised = normaliseSql(sql);
  let text = elide(normalised, /\bSELECT (DISTINCT )?/i, ['FROM'], 24);
  text = text.replace(/^(INSERT INTO [\w."]+(?: AS \w+)?) \((?:[^()]|\([^()]*\))*\)/i, '$1 (…)');
  text = text.replace(/ VALUES (\((?:[^()']|'[^']*'|\((?:[^()']|'[^']*')*\))*\)(, )?)+/i, ' VALUES (…) ');
  text = elide(text, /\bUPDATE [\w."]+(?: (?:AS )?\w+)? SET /i, ['WHERE', 'FROM', 'RETURNING'], 20);
  text = text.replace(/\s+/g, ' ').trim();
  const label = text.length > LABEL_LENGTH ? `${text.slice(0, LABEL_LENGTH - 1)}…` : text;
  const entry = { label, normalised };
  if (labelCache.size >= LABEL_CACHE_LIMIT) labelCache.clear();
  labelCache.set(sql, entry);
  return entry;
}

/** Wraps `db` so that every statement it runs is counted (see `StatementCounterOptions`). */
export function countStatements(db: Db, options: StatementCounterOptions = {}): StatementCounter {
  let statements = 0;
  let transactions = 0;
  const byLabel = new Map<string, number>();
  const shapes = new Map<string, StatementShape>();
  const transactionShapes = new Map<string, TransactionShape>();
  const sqlByLabel = new Map<string, string>();
  // Bumped by reset(): a transaction that began before it does not record its shape afterwards.
  let generation = 0;

  const scopeNow = () => options.scope?.() ?? NO_SCOPE;

  const record = (label: string, scope: string, inTransaction: boolean, sql = label) => {
    statements++;
    byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
    if (!sqlByLabel.has(label)) sqlByLabel.set(label, sql);
    const key = `${scope}\u0000${inTransaction ? 't' : 'a'}\u0000${label}`;
    const shape = shapes.get(key);
    if (shape) shape.count++;
    else shapes.set(key, { label, scope, inTransaction, count: 1 });
  };

  const recordSql = (sql: string, scope: string, trace: string[] | undefined) => {
    const { label, normalised } = labelled(sql);
    record(label, scope, trace !== undefined, normalised);
    trace?.push(label);
  };

  /** One transaction attempt: its scope and the labels of its statements so far. */
  interface Attempt {
    scope: string;
    labels: string[];
    generation: number;
  }

  const counted = <Q extends Queryable>(target: Q, attempt: Attempt | undefined): Queryable => ({
    query<R = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      recordSql(text, attempt?.scope ?? scopeNow(), attempt?.labels);
      return target.query<R>(text, params);
    },
    exec(script: string): Promise<void> {
      recordSql(script, attempt?.scope ?? scopeNow(), attempt?.labels);
      return target.exec(script);
    },
  });

  const control = (attempt: Attempt, label: string) => {
    record(label, attempt.scope, true);
    attempt.labels.push(label);
  };

  const finish = (attempt: Attempt, ending: 'COMMIT' | 'ROLLBACK') => {
    control(attempt, ending);
    if (attempt.generation !== generation) return;
    const key = `${attempt.scope}\u0000${attempt.labels.join('\u0000')}`;
    const shape = transactionShapes.get(key);
    if (shape) shape.count++;
    else transactionShapes.set(key, { scope: attempt.scope, labels: attempt.labels, count: 1 });
  };

  const wrapped: Db = {
    kind: db.kind,
    ...counted(db, undefined),
    async transaction(work, txOptions) {
      const scope = scopeNow();
      // The attempt whose work resolved: its COMMIT went out. If the port then runs the work again (a
      // serialization failure at COMMIT) or rejects, that COMMIT failed and a ROLLBACK followed.
      let committing: Attempt | undefined;
      const commitFailed = () => {
        if (!committing) return;
        control(committing, 'COMMIT');
        finish(committing, 'ROLLBACK');
        committing = undefined;
      };
      try {
        const result = await db.transaction(async (tx) => {
          commitFailed();
          const attempt: Attempt = { scope, labels: [], generation };
          transactions++;
          control(attempt, 'BEGIN');
          if (txOptions?.isolation) control(attempt, `SET TRANSACTION ISOLATION LEVEL ${txOptions.isolation.toUpperCase()}`);
          const countedTx: Tx = { inTransaction: true, ...counted(tx, attempt), onCommit: (callback) => tx.onCommit(callback) };
          try {
            const value = await work(countedTx);
            committing = attempt; // its COMMIT is sent when this resolves
            return value;
          } catch (error) {
            finish(attempt, 'ROLLBACK');
            throw error;
          }
        }, txOptions);
        if (committing) finish(committing, 'COMMIT');
        committing = undefined;
        return result;
      } catch (error) {
        commitFailed();
        throw error;
      }
    },
    close: () => db.close(),
  };

  return {
    db: wrapped,
    counts: () => ({
      statements,
      transactions,
      byLabel: new Map(byLabel),
      shapes: [...shapes.values()].map((shape) => ({ ...shape })),
      transactionShapes: [...transactionShapes.values()].map((shape) => ({ ...shape, labels: [...shape.labels] })).sort((a, b) => b.count - a.count),
      sqlByLabel: new Map(sqlByLabel),
    }),
    reset: () => {
      statements = 0;
      transactions = 0;
      byLabel.clear();
      shapes.clear();
      transactionShapes.clear();
      generation++;
    },
  };
}
