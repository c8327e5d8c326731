import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTopology, repositoryRoot } from '../bus/topology.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { renderStateOwnersTable, STATE_MACHINES, STEADY_STATUS_COLUMNS } from './index.js';

/** Every `status`/`state` column the schema checks against a list of values, with those values. */
async function checkedStateColumns(testDb: TestDatabase): Promise<Map<string, string[]>> {
  const { rows } = await testDb.db.query<{ table_name: string; column_name: string; definition: string }>(
    `SELECT c.relname AS table_name, a.attname AS column_name, pg_get_constraintdef(k.oid) AS definition
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (k.conkey)
      WHERE k.contype = 'c' AND a.attname IN ('status', 'state') AND array_length(k.conkey, 1) = 1
        AND pg_get_constraintdef(k.oid) LIKE '%ARRAY[%'`,
  );
  const columns = new Map<string, string[]>();
  for (const row of rows) {
    const values = [...row.definition.matchAll(/'([a-z_]+)'::text/g)].map((match) => match[1] ?? '');
    columns.set(`${row.table_name}.${row.column_name}`, values);
  }
  return columns;
}

describe('state owners', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.dispose());

  it('finds the state columns of the schema (the check below has something to check)', async () => {
    const columns = await checkedStateColumns(testDb);
    expect(columns.get('payouts.state')).toContain('transfer_broadcast');
    expect(columns.size).toBeGreaterThanOrEqual(10);
  });

  it('gives every state the database allows an owner, unless it is terminal', async () => {
    const unowned: string[] = [];
    for (const [column, values] of await checkedStateColumns(testDb)) {
      if (STEADY_STATUS_COLUMNS[column]) continue;
      const [table, name] = column.split('.');
      const machine = STATE_MACHINES.find((candidate) => candidate.table === table && candidate.column === name);
      if (!machine) {
        unowned.push(`${column} (no state machine declared in shared/watchdog/state-owners.ts)`);
        continue;
      }
      for (const value of values) {
        if (!machine.terminal.includes(value) && !machine.states[value]) unowned.push(`${column} = '${value}'`);
      }
    }
    expect(unowned).toEqual([]);
  });

  it('declares only states the database knows', async () => {
    const columns = await checkedStateColumns(testDb);
    for (const machine of STATE_MACHINES.filter((candidate) => candidate.column)) {
      const values = columns.get(`${machine.table}.${machine.column}`) ?? [];
      for (const state of [...machine.terminal, ...Object.keys(machine.states).filter((state) => !machine.states[state]?.where)]) {
        expect(values, `${machine.name}.${state}`).toContain(state);
      }
    }
  });

  it('names as owner a function that exists and runs on a schedule', () => {
    const topology = loadTopology();
    const scheduled = new Set(
      topology.schedulerJobs.flatMap((job) => topology.subscriptions.filter((subscription) => subscription.topic === job.topic).map((subscription) => subscription.function)),
    );
    for (const machine of STATE_MACHINES) {
      for (const [state, owned] of Object.entries(machine.states)) {
        expect(existsSync(path.join(repositoryRoot(), 'functions', owned.owner, 'index.ts')), `${machine.name}.${state}: functions/${owned.owner}`).toBe(true);
        expect(scheduled.has(owned.owner), `${machine.name}.${state}: ${owned.owner} is scheduled`).toBe(true);
        expect(owned.alertAfterSeconds, `${machine.name}.${state}`).toBeGreaterThan(owned.redriveAfterSeconds ?? 0);
      }
    }
  });

  it('is the table docs/reliability.md shows (regenerate: npx tsx scripts/reliability-table.ts)', () => {
    const doc = readFileSync(path.join(repositoryRoot(), 'docs', 'reliability.md'), 'utf8');
    const table = /<!-- state-owners:start -->\n([\s\S]*?)\n<!-- state-owners:end -->/.exec(doc)?.[1];
    expect(table).toBe(renderStateOwnersTable());
  });
});
