import type { Db } from '../db/index.js';

/** The role the functions run as (`sql/027_create_app_role.sql`). */
export const APP_ROLE = 'paygate_app';

/**
 * `db` as the functions' role sees it: every transaction, and every statement outside one, runs
 * after `SET LOCAL ROLE paygate_app`, so it has that role's privileges and no more. Works on both
 * engines (PGlite keeps roles too). The connecting user (a superuser in tests) is only the session user.
 */
export function asAppRole(db: Db): Db {
  const setRole = `SET LOCAL ROLE ${APP_ROLE}`;
  return {
    kind: db.kind,
    query: (text, params) =>
      db.transaction(async (tx) => {
        await tx.query(setRole);
        return tx.query(text, params);
      }),
    exec: (script) =>
      db.transaction(async (tx) => {
        await tx.query(setRole);
        await tx.exec(script);
      }),
    transaction: (work, options) =>
      db.transaction(async (tx) => {
        await tx.query(setRole);
        return work(tx);
      }, options),
    close: () => db.close(),
  };
}
