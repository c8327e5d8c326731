export {
  type AlongsideWrite,
  gatedWrite,
  type Db,
  type Tx,
  type Queryable,
  type QueryResult,
  type Row,
  type IsolationLevel,
  type DatabaseSettings,
  type TransactionRetry,
  openDatabase,
  createPostgresDatabase,
  createEmbeddedDatabase,
  assertNoOpenTransaction,
  isUniqueViolation,
} from './database.js';
export { type Migration, type MigrationReport, MigrationError, readMigrations, migrate, migrateToLatest, sqlDirectory } from './migrations.js';
