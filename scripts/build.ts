/**
 * `npm run build`: bundles every functions/<name>/index.ts with esbuild into dist/<name>/index.js
 * plus a minimal package.json, so that
 *   npx functions-framework --source=dist/<name> --target=<name>
 * serves it and `gcloud functions deploy <name> --source=dist/<name>` deploys it. Our code is
 * bundled; npm packages stay external and are listed, with the root package.json's exact pins, as
 * the bundle's dependencies (Cloud Build installs them), so native and data-file packages work.
 * Then the dashboard app (web/) into web/dist, the folder Firebase Hosting publishes (firebase.json),
 * and the gzip size of the JS its first page load needs, held to a budget.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { repositoryRoot } from '../shared/bus/topology.js';
import { sharedModulesArePure } from '../shared/deploy/bundle-inputs.js';
import { discoverFunctions } from '../shared/deploy/function-folders.js';
import { buildWebApp, formatKiB, INITIAL_JS_BUDGET_BYTES, initialJsSize } from './web-build.js';

const FRAMEWORK = '@google-cloud/functions-framework';
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? specifier);
}

// Loaded only by the local runtime and tests (the embedded database): never shipped.
const LOCAL_ONLY_PACKAGES = new Set(['@electric-sql/pglite']);

/**
 * npm packages the bundle imports, statically or on first use (the Pub/Sub and Firestore clients
 * are imported dynamically to keep cold starts short, and must still be installed).
 */
function externalPackages(metafile: Metafile): string[] {
  const names = new Set<string>([FRAMEWORK]);
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || builtins.has(imported.path) || imported.path.startsWith('.')) continue;
      const name = packageNameOf(imported.path);
      if (!LOCAL_ONLY_PACKAGES.has(name)) names.add(name);
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
    plugins: [sharedModulesArePure(root)],
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

/** The dashboard app: web/dist, with what a browser loads first measured against its budget. */
async function buildDashboardApp() {
  const started = performance.now();
  await buildWebApp();
  const initial = await initialJsSize();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`built ${'web/dist (dashboard app)'.padEnd(42)} in ${seconds} s; initial JS ${formatKiB(initial.gzipBytes)} gzip (budget ${formatKiB(INITIAL_JS_BUDGET_BYTES)}): ${initial.files.map((file) => `${file.file} ${formatKiB(file.bytes)}`).join(', ')}`);
  if (initial.gzipBytes > INITIAL_JS_BUDGET_BYTES) {
    throw new Error(`the dashboard's initial JS is ${formatKiB(initial.gzipBytes)} gzip, over its budget of ${formatKiB(INITIAL_JS_BUDGET_BYTES)}: split a page out with import() or drop a dependency`);
  }
}

/** `npm run build`: every function and the dashboard app; `npm run build -- <name>… [web]` only those. */
async function main() {
  const requested = process.argv.slice(2);
  const names = requested.length > 0 ? requested.filter((name) => name !== 'web') : discoverFunctions();
  for (const name of names) {
    const { outdir, dependencies } = await buildFunction(name);
    const kib = (await stat(path.join(outdir, 'index.js'))).size / 1024;
    // Our code's size; the packages listed are what the function loads from node_modules besides.
    console.log(`built ${`dist/${name}/index.js`.padEnd(42)} ${kib.toFixed(0).padStart(4)} KiB  (${Object.keys(dependencies).join(', ')})`);
  }
  if (requested.length === 0 || requested.includes('web')) await buildDashboardApp();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
