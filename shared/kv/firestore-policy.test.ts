import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The deployed Firestore rules and index config, read from the repo root. */
const readRootFile = (name: string) => readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');

describe('firestore.rules', () => {
  it('denies every client read and write, leaving access to the Admin SDK only', () => {
    const rules = readRootFile('firestore.rules').replace(/\/\/.*$/gm, '');
    expect(rules).toMatch(/match \/\{document=\*\*\}\s*\{\s*allow read, write: if false;\s*\}/);
    expect(rules).not.toMatch(/if (?!false)/);
  });
});

describe('firestore.indexes.json', () => {
  const config = JSON.parse(readRootFile('firestore.indexes.json')) as {
    indexes: unknown[];
    fieldOverrides: { collectionGroup: string; fieldPath: string; ttl?: boolean; indexes?: unknown[] }[];
  };

  it('declares no composite indexes, since the key-value store never queries', () => {
    expect(config.indexes).toEqual([]);
  });

  it('enables the TTL policy on expiresAt of kv_entries, with the field exempt from indexing', () => {
    expect(config.fieldOverrides).toContainEqual({
      collectionGroup: 'kv_entries',
      fieldPath: 'expiresAt',
      ttl: true,
      indexes: [],
    });
    expect(config.fieldOverrides.every((override) => override.fieldPath === 'expiresAt' && override.ttl === true)).toBe(
      true,
    );
  });
});
