-- paygate_app: the role the functions run as. It reads and writes rows (the append-only and
-- state-machine triggers still refuse what they refuse) but owns nothing and has no TRUNCATE, so it
-- cannot ALTER, DROP or TRUNCATE audit_log, the ledger, payment_events or any other table, nor
-- create objects. Migrations run as the owner (whoever runs `npm run migrate`); the default
-- privileges below grant the tables, sequences and functions later migrations create. NOLOGIN: a
-- deployment grants it to the login the functions use (docs/deploy.md, "Database role").
-- Roles belong to the server, not the database: it may exist already (another database on the same
-- server, a migration running concurrently), hence the guard and the handler.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'paygate_app') THEN
    CREATE ROLE paygate_app NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO paygate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO paygate_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO paygate_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO paygate_app;
-- The migration history is the owner's: the functions read it at most.
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM paygate_app;

ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO paygate_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO paygate_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO paygate_app;
