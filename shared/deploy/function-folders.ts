import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repositoryRoot } from '../bus/topology.js';

/** Every deployable: a folder under functions/ with an index.ts, by name, sorted. */
export function discoverFunctions(root = repositoryRoot()): string[] {
  const folder = path.join(root, 'functions');
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(folder, entry.name, 'index.ts')))
    .map((entry) => entry.name)
    .sort();
}
