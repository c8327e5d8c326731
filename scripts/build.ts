/**
 * `npm run build`: bundles every functions/<name>/index.ts with esbuild into dist/<name>/index.js
 * plus a minimal package.json, so that
 *   npx functions-framework --source=dist/<name> --target=<name>
 * serves it and `gcloud functions deploy <name> --source=dist/<name>` deploys it. Our code is
 * bundled; npm packages stay external and are listed, with the root package.json's exact pins, as
 * the bundle's dependencies (Cloud Build installs them), so native and data-file packages work.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { repositoryRoot } from '../shared/bus/index.js';
import { discoverFunctions } from '../shared/testing/function-host.js';

const FRAMEWORK = '@google-cloud/functions-framework';
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? specifier);
}

/** npm packages the bundle imports statically (dynamic imports are optional, local-only paths). */
function externalPackages(metafile: Metafile): string[] {
  const names = new Set<string>([FRAMEWORK]);
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || builtins.has(imported.path) || imported.kind === 'dynamic-import') continue;
      names.add(packageNameOf(imported.path));
    }
  }
  return [...names].sort();
}

export async function buildFunction(name: string, root = repositoryRoot()): Promise<{ outdir: string; dependencies: Record<string, string> }> {
  const rootPackage = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const outdir = path.join(root, 'dist', name);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(root, 'functions', name, 'index.ts')],
    outfile: path.join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  });
  const dependencies: Record<string, string> = {};
  for (const dependency of externalPackages(result.metafile)) {
    const version = rootPackage.dependencies[dependency];
    if (!version) {
      throw new Error(
        `${name} imports ${dependency}, which is not in package.json "dependencies"` +
          (rootPackage.devDependencies?.[dependency] ? ' (it is a devDependency: deployed functions cannot use it)' : ''),
      );
    }
    dependencies[dependency] = version;
  }
  const manifest = {
    name: `paygateprime-${name}`,
    version: '1.0.0',
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: '>=20' },
    dependencies,
  };
  await writeFile(path.join(outdir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { outdir, dependencies };
}

async function main() {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : discoverFunctions();
  for (const name of names) {
    const { dependencies } = await buildFunction(name);
    console.log(`built dist/${name}/index.js  (${Object.keys(dependencies).join(', ')})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
