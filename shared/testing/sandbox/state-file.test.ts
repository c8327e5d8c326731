import { readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createStateFileWriter, readStateFile, StateFileError, writeFileAtomically } from './state-file.js';

const CounterSchema = z.object({ version: z.literal(1), count: z.number().int() });

describe('state files', () => {
  let folder = '';
  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'pgp-state-file-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('writes through a temporary file that is renamed away, creating the folder', () => {
    const file = path.join(folder, 'nested', 'state.json');
    writeFileAtomically(file, '{"version":1,"count":2}');
    expect(readdirSync(path.dirname(file))).toEqual(['state.json']);
    expect(readStateFile(file, CounterSchema)).toEqual({ version: 1, count: 2 });
  });

  it('reads nothing when there is no file yet', () => {
    expect(readStateFile(path.join(folder, 'missing.json'), CounterSchema)).toBeUndefined();
  });

  it('refuses a file that is not JSON, or not the expected shape, and says how to start over', () => {
    const file = path.join(folder, 'state.json');
    writeFileSync(file, '{"version":1,"cou');
    expect(() => readStateFile(file, CounterSchema)).toThrow(StateFileError);
    writeFileSync(file, '{"version":1,"count":"two"}');
    expect(() => readStateFile(file, CounterSchema)).toThrow(/count: .*--reset/);
  });

  it('skips a write whose content did not change', () => {
    const file = path.join(folder, 'state.json');
    const writer = createStateFileWriter(file);
    writer.save({ version: 1, count: 1 });
    writeFileSync(file, 'changed behind the writer’s back');
    writer.save({ version: 1, count: 1 });
    expect(() => readStateFile(file, CounterSchema)).toThrow(StateFileError);
    writer.save({ version: 1, count: 2 });
    expect(readStateFile(file, CounterSchema)).toEqual({ version: 1, count: 2 });
  });
});
