import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../shared/bus/topology.js';
import { discoverFunctions } from '../../shared/deploy/function-folders.js';

/** A function folder holds a thin wrapper: configuration, clients, and one call into shared/. */
const MAX_WRAPPER_LINES = 40;

describe('function wrappers', () => {
  it.each(discoverFunctions())(`functions/%s/index.ts is at most ${MAX_WRAPPER_LINES} lines`, (name) => {
    const text = readFileSync(path.join(repositoryRoot(), 'functions', name, 'index.ts'), 'utf8');
    expect(text.replace(/\n$/, '').split('\n').length).toBeLessThanOrEqual(MAX_WRAPPER_LINES);
  });
});
