import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../shared/bus/topology.js';
import { ERROR_KINDS, type ErrorKind } from '../../shared/errors/index.js';

const root = repositoryRoot();

function productionFiles(): string[] {
  return ['functions', 'shared']
    .flatMap((folder) => readdirSync(path.join(root, folder), { withFileTypes: true, recursive: true }).map((entry) => ({ folder, entry })))
    .filter(({ entry }) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map(({ entry }) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .filter((file) => !file.startsWith(path.join('shared', 'testing') + path.sep));
}

/** The `errors.ts` of each shared/ folder and the codes it declares. */
async function folderErrorTables(): Promise<Map<string, Record<string, ErrorKind>>> {
  const tables = new Map<string, Record<string, ErrorKind>>();
  for (const file of productionFiles().filter((candidate) => path.basename(candidate) === 'errors.ts' && candidate.startsWith('shared'))) {
    const exports = (await import(pathToFileURL(path.join(root, file)).href)) as Record<string, unknown>;
    const factory = Object.values(exports).find((value): value is { codes: Record<string, ErrorKind> } => typeof value === 'function' && 'codes' in value);
    if (factory) tables.set(path.dirname(file), factory.codes);
  }
  return tables;
}

describe('the closed error model', () => {
  it('has no plain Error thrown or rejected in production code', () => {
    const offenders = productionFiles().flatMap((file) =>
      readFileSync(path.join(root, file), 'utf8')
        .split('\n')
        .flatMap((line, index) => (/\b(throw|reject\()\s*new (Error|TypeError|RangeError)\(/.test(line) ? [`${file}:${index + 1}`] : [])),
    );
    expect(offenders).toEqual([]);
  });

  it('declares each folder’s codes in its errors.ts, with kinds from the one table', async () => {
    const tables = await folderErrorTables();
    expect(tables.size).toBeGreaterThan(20);
    for (const [folder, codes] of tables) {
      for (const [code, kind] of Object.entries(codes)) {
        expect(code, `${folder}: ${code}`).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
        expect(Object.keys(ERROR_KINDS), `${folder}: ${code}`).toContain(kind);
      }
    }
  });

  it('gives a code the same kind in every folder that declares it', async () => {
    const kindsByCode = new Map<string, Set<string>>();
    for (const [folder, codes] of await folderErrorTables()) {
      for (const [code, kind] of Object.entries(codes)) kindsByCode.set(code, (kindsByCode.get(code) ?? new Set()).add(`${kind} (${folder})`));
    }
    const disagreements = [...kindsByCode].filter(([, kinds]) => new Set([...kinds].map((entry) => entry.split(' ')[0])).size > 1);
    expect(disagreements.map(([code, kinds]) => `${code}: ${[...kinds].join(', ')}`)).toEqual([]);
  });

  it('raises a folder’s errors only through its own factory', () => {
    const offenders = productionFiles().flatMap((file) => {
      if (!file.startsWith('shared')) return [];
      const folder = file.split(path.sep)[1]!;
      return [...readFileSync(path.join(root, file), 'utf8').matchAll(/from '(\.\.\/([a-z-]+)\/errors\.js)'/g)]
        .filter((match) => match[2] !== folder)
        .map((match) => `${file} imports ${match[1]}`);
    });
    expect(offenders).toEqual([]);
  });
});
