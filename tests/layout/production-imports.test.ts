import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../shared/bus/topology.js';

const root = repositoryRoot();
const TESTING = path.join(root, 'shared', 'testing') + path.sep;
/** Scripts that ship or change production: they must not load the fakes either. */
const PRODUCTION_SCRIPTS = ['scripts/build.ts', 'scripts/deploy.ts', 'scripts/migrate.ts'];
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(root, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

/**
 * The fakes, simulators and sandbox in shared/testing/ exist for tests and `npm start`; a deployed
 * function that imported one would ship a simulator (or a fake clock) to production.
 */
describe('production code', () => {
  const production = [...sourceFiles('functions'), ...sourceFiles('shared').filter((file) => !file.startsWith(`shared${path.sep}testing${path.sep}`)), ...PRODUCTION_SCRIPTS];

  it('covers the functions, shared/ and the deploy scripts', () => {
    expect(production.length).toBeGreaterThan(100);
    expect(production).toContain(path.join('functions', 'nowpayments-ipn', 'index.ts'));
  });

  it('never imports shared/testing (fakes, simulators, sandbox)', () => {
    const offenders = production.flatMap((file) =>
      [...readFileSync(path.join(root, file), 'utf8').matchAll(SPECIFIER)]
        .map((match) => path.resolve(path.dirname(path.join(root, file)), match[1]!))
        .filter((target) => target.startsWith(TESTING))
        .map((target) => `${file} → ${path.relative(root, target)}`),
    );
    expect(offenders).toEqual([]);
  });
});
