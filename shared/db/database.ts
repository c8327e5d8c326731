import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { databaseError } from './errors.js';

/** A row as the driver returns it: int8 → bigint, numeric → decimal string, timestamptz → Date. */
export type Row = Record<string, unknown>;

export interface QueryResult<R> {
  rows: R[];
  /** Rows returned or affected by the statement. */
  rowCount: number;
}

/**
 * A write of the caller's (an UPDATE or INSERT, parameters from `$1`) that another module's statement
 * runs as a CTE named `alongside`, so that two writes with no decision between them are one statement
 * (e.g. a stage's last write and its follow-up messages, `enqueueMessages`); or a read that the host's
 * write depends on (the daily cap's, which a payout's move to `quoted` makes as its condition).
 */
export interface AlongsideWrite {
  sql: string;
  params: unknown[];
  /**
   * The same write, made only where `condition` holds (SQL over the host statement's CTEs): for a
   * host that may run its statement a second time, e.g. after creating a ledger posting's accounts,
   * so that the first run writes nothing.
   */
  onlyWhere?: (condition: string) => string;
}

/**
 * An `AlongsideWrite` that can be gated: `sqlWhere(and)` is the write with `and` at the end of its
 * WHERE clause (empty as given, ` AND <condition>` when its host gates it).
 */
export function gatedWrite(sqlWhere: (and: string) => string, params: unknown[]): AlongsideWrite {
  return { sql: sqlWhere(''), onlyWhere: (condition) => sqlWhere(` AND ${condition}`), params };
}

/** Anything that runs SQL: the database itself or an open transaction. */
export interface Queryable {
  query<R = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/** An open transaction. Functions that must run inside one take `tx: Tx` as their first parameter. */
export interface Tx extends Queryable {
  readonly inTransaction: true;
  /**
   * Runs `callback` once this transaction has committed; never if it rolls back (an attempt that is
   * retried included). For bookkeeping in memory about what the transaction wrote (the outbox rows a
   * request owns, `enqueueMessages`): it runs before `transaction` resolves and must not throw.
   */
  onCommit(callback: () => void): void;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `work` in one transaction: commit when it resolves, roll back when it throws.
   * Serialization failures and deadlocks are retried (up to 3 attempts), so `work` must only touch
   * the database — provider calls and publishing refuse to run inside it (see `assertNoOpenTransaction`).
   */
  transaction<T>(work: (tx: Tx) => Promise<T>, options?: { isolation?: IsolationLevel }): Promise<T>;
  close(): Promise<void>;
}

const openTransaction = new AsyncLocalStorage<{ label: string }>();

/**
 * Throws when called inside `Db.transaction`. Network calls (provider APIs, publishing) call this
 * first: a transaction held open across a network call holds row locks for as long as the remote
 * takes, and its effect could commit while the remote call failed (or the reverse).
 */
export function assertNoOpenTransaction(operation: string): void {
  if (openTransaction.getStore()) {
    throw databaseError('call_inside_transaction', `${operation} must not run inside a database transaction; do it after commit (outbox) or before`);
  }
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_TRANSACTION_ATTEMPTS = 3;

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for a unique-constraint violation, optionally of the named constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (sqlState(error) !== '23505') return false;
  return constraint === undefined || (error as { constraint?: string }).constraint === constraint;
}

/** Connection-level failures are transient: the same statement may succeed on a fresh connection. */
function toDatabaseError(error: unknown): unknown {
  const state = sqlState(error);
  const isConnectionFailure =
    state === undefined
      ? /ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection terminated|timeout exceeded when trying to connect/i.test(
          String((error as Error | null)?.message ?? ''),
        )
      : state.startsWith('08') || state === '57P01' || state === '57P03' || state === '53300';
  if (isConnectionFailure) return databaseError('database_unavailable', 'The database is unreachable', {}, error);
  return error;
}

/** What a retried transaction reports: the SQLSTATE that aborted the attempt (40001 or 40P01). */
export interface TransactionRetry {
  sqlState: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  /** Whether another attempt follows (false: the error goes to the caller). */
  willRetry: boolean;
}

async function withTransactionRetry<T>(run: () => Promise<T>, onRetry?: (retry: TransactionRetry) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const state = sqlState(error);
      const isRetryable = state !== undefined && RETRYABLE_SQLSTATES.has(state);
      if (isRetryable) onRetry?.({ sqlState: state, attempt, willRetry: attempt < MAX_TRANSACTION_ATTEMPTS });
      if (attempt >= MAX_TRANSACTION_ATTEMPTS || !isRetryable) {
        throw toDatabaseError(error);
      }
    }
  }
}

function isolationStatement(isolation: IsolationLevel | undefined): string | undefined {
  return isolation ? `SET TRANSACTION ISOLATION LEVEL ${isolation.toUpperCase()}` : undefined;
}

export interface PostgresOptions {
  connectionString: string;
  /** Pool size per instance; keep max × instances below the server's max_connections. Default 5. */
  maxConnections?: number;
  /** Aborts statements running longer than this. Default 30 s. */
  statementTimeoutMs?: number;
  /**
   * Told of every serialization failure or deadlock a transaction met (logged by the runtime: a
   * deadlock means a lock-order bug, which the design rules out, so each one is worth a look).
   */
  onTransactionRetry?: (retry: TransactionRetry) => void;
}

// int8 → bigint (money in base units, Telegram ids); numeric stays a decimal string.
const postgresTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * Named prepared statements: each connection parses and plans a statement the first time it sees
 * it and reuses that afterwards (the money path's statements are a fixed set, several of them
 * multi-CTE writes whose planning costs more than their execution). The name is a digest of the
 * text. Bounded: past `MAX_PREPARED_STATEMENTS` distinct texts (SQL built with a varying number of
 * rows, say) the rest run unnamed, so no connection accumulates statements without end.
 */
const MAX_PREPARED_STATEMENTS = 1000;
const preparedNames = new Map<string, string>();

function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED_STATEMENTS) {
    name = `pgp_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    preparedNames.set(text, name);
  }
  return name;
}

export function createPostgresDatabase(options: PostgresOptions): Db {
  const statementTimeout = options.statementTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 5,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    types: postgresTypes,
    statement_timeout: statementTimeout,
    // A transaction left open (a bug, a crash between statements) must not hold locks for long.
    idle_in_transaction_session_timeout: 60_000,
    application_name: 'paygateprime',
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);

  // pg's callback form and one promise of ours: pg's own promise and an async wrapper would make
  // three per statement, and every promise costs the framework's per-request domain a little.
  const query = <R>(client: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) =>
    new Promise<QueryResult<R>>((resolve, reject) => {
      try {
        const name = params && params.length > 0 ? preparedName(text) : undefined;
        const config: pg.QueryConfig = name ? { name, text, values: params as unknown[] } : { text, values: params as unknown[] | undefined };
        client.query(config, (error: Error | undefined, result: pg.QueryResult) => {
          if (error) reject(toDatabaseError(error));
          else resolve({ rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length });
        });
      } catch (error) {
        reject(toDatabaseError(error));
      }
    });

  const exec = async (client: pg.Pool | pg.PoolClient, script: string) => {
    try {
      await client.query(script); // no parameters: the simple protocol runs every statement
    } catch (error) {
      throw toDatabaseError(error);
    }
  };

  return {
    kind: 'postgres',
    query: (text, params) => query(pool, text, params),
    exec: (script) => exec(pool, script),
    transaction: (work, txOptions) =>
      withTransactionRetry(async () => {
        const client = await pool.connect().catch((error: unknown) => {
          throw toDatabaseError(error);
        });
        let isBroken = false;
        const committed: (() => void)[] = [];
        try {
          await client.query('BEGIN');
          const setIsolation = isolationStatement(txOptions?.isolation);
          if (setIsolation) await client.query(setIsolation);
          const tx: Tx = {
            inTransaction: true,
            query: (text, params) => query(client, text, params),
            exec: (script) => exec(client, script),
            onCommit: (callback) => void committed.push(callback),
          };
          const result = await openTransaction.run({ label: 'postgres' }, () => work(tx));
          await client.query('COMMIT');
          for (const callback of committed) callback();
          return result;
        } catch (error) {
          try {
            await client.query('ROLLBACK');
          } catch {
            isBroken = true;
          }
          throw error;
        } finally {
          client.release(isBroken);
        }
      }, options.onTransactionRetry),
    close: () => pool.end(),
  };
}

export interface EmbeddedOptions {
  /** Folder to persist the database in; in memory when omitted (tests). */
  dataDir?: string;
}

/**
 * PGlite: real PostgreSQL compiled to WASM, single connection. Transactions are serialized, so it is
 * right for tests of behaviour and for the sandbox, not for tests of lock contention (those run
 * against `DATABASE_URL`).
 */
export async function createEmbeddedDatabase(options: EmbeddedOptions = {}): Promise<Db> {
  // Imported lazily: deployed functions always use PostgreSQL and do not ship the WASM build.
  const { PGlite } = await import('@electric-sql/pglite');
  // PGlite returns int8 as a JS number when it fits; we want bigint always, like the pg pool.
  const liteOptions = { parsers: { 20: (value: string) => BigInt(value) } };
  const lite = options.dataDir ? await PGlite.create(options.dataDir, liteOptions) : await PGlite.create(liteOptions);
  await lite.exec(`SET TIME ZONE 'UTC'`);

  type LiteQueryable = Pick<typeof lite, 'query' | 'exec'>;
  const exec = async (target: LiteQueryable, script: string) => {
    await target.exec(script);
  };
  const query = async <R>(target: LiteQueryable, text: string, params?: readonly unknown[]) => {
    const result = await target.query<R>(text, params as unknown[] | undefined);
    return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
  };

  return {
    kind: 'pglite',
    query: (text, params) => query(lite, text, params),
    exec: (script) => exec(lite, script),
    transaction: (work, txOptions) =>
      withTransactionRetry(async () => {
        const committed: (() => void)[] = [];
        const result = await lite.transaction(async (liteTx) => {
          const setIsolation = isolationStatement(txOptions?.isolation);
          if (setIsolation) await liteTx.query(setIsolation);
          const tx: Tx = {
            inTransaction: true,
            query: (text, params) => query(liteTx, text, params),
            exec: (script) => exec(liteTx, script),
            onCommit: (callback) => void committed.push(callback),
          };
          return openTransaction.run({ label: 'pglite' }, () => work(tx));
        });
        for (const callback of committed) callback(); // lite.transaction resolves once committed
        return result;
      }),
    close: () => lite.close(),
  };
}

export interface DatabaseSettings {
  /** PostgreSQL URL; when absent an embedded PGlite database is used. */
  databaseUrl?: string;
  /** Where the embedded database persists; in memory when absent. */
  embeddedDataDir?: string;
  maxConnections?: number;
  onTransactionRetry?: (retry: TransactionRetry) => void;
}

/** The one way to open the database: PostgreSQL when a URL is configured, embedded PGlite otherwise. */
export async function openDatabase(settings: DatabaseSettings): Promise<Db> {
  if (settings.databaseUrl) {
    return createPostgresDatabase({
      connectionString: settings.databaseUrl,
      maxConnections: settings.maxConnections,
      onTransactionRetry: settings.onTransactionRetry,
    });
  }
  return createEmbeddedDatabase({ dataDir: settings.embeddedDataDir });
}
