/**
 * `npm run build`: bundles every functions/<name>/index.ts with esbuild into dist/<name>/index.js
 * plus a minimal package.json, so that
 *   npx functions-framework --source=dist/<name> --target=<name>
 * serves it and `gcloud functions deploy <name> --source=dist/<name>` deploys it. Our code and the
 * pure-JS packages it imports statically are bundled (with their licences in THIRD_PARTY_LICENSES.txt);
 * the rest (functions-framework, Google's clients, packages loaded on first use) stay installed and
 * are listed, with the root package.json's exact pins, as the bundle's dependencies (Cloud Build
 * installs them).
 * Then the dashboard app (web/) into web/dist, the folder Firebase Hosting publishes (firebase.json),
 * and the gzip size of the JS its first page load needs, held to a budget.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { repositoryRoot } from '../shared/bus/topology.js';
import {
  COMMONJS_REQUIRE_BANNER,
  inlinedImports,
  inlinedPackages,
  INSTALLED_PACKAGES,
  NEVER_SHIPPED,
  npmPackagesInlined,
  packageNameOf,
  sharedModulesArePure,
} from '../shared/deploy/bundle-inputs.js';
import { discoverFunctions } from '../shared/deploy/function-folders.js';
import { buildWebApp, formatKiB, INITIAL_JS_BUDGET_BYTES, initialJsSize } from './web-build.js';

const FRAMEWORK = '@google-cloud/functions-framework';
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * npm packages the bundle leaves installed: Google's clients and the packages our code imports on
 * first use (the Pub/Sub and Firestore clients, grammY in the dashboard), which must still be
 * installed. Read from the output, since esbuild also lists the imports TypeScript elides (used as
 * types only). A package our code never names is an optional one a bundled package tries inside
 * `try`/`catch` (node-fetch's `encoding`), which esbuild leaves to run time: not installed.
 */
function externalPackages(metafile: Metafile): string[] {
  const namedByOurCode = new Set<string>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    if (!input.split(/[\\/]/).includes('node_modules')) for (const imported of imports) namedByOurCode.add(packageNameOf(imported.path));
  }
  const names = new Set<string>([FRAMEWORK]);
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || builtins.has(imported.path) || imported.path.startsWith('.')) continue;
      const name = packageNameOf(imported.path);
      if (NEVER_SHIPPED.has(name) || !(namedByOurCode.has(name) || INSTALLED_PACKAGES.has(name))) continue;
      names.add(name);
    }
  }
  return [...names].sort();
}

/** `dependencies`: what dist/<name>/package.json lists; `inlined`: what our code imports from the packages bundled into index.js. */
export async function buildFunction(
  name: string,
  root = repositoryRoot(),
): Promise<{ outdir: string; dependencies: Record<string, string>; inlined: string[] }> {
  const rootPackage = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const outdir = path.join(root, 'dist', name);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const bundle = (alreadyInlined?: ReadonlySet<string>) =>
    build({
      entryPoints: [path.join(root, 'functions', name, 'index.ts')],
      outfile: path.join(outdir, 'index.js'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'warning',
      legalComments: 'none', // the bundled packages' licences are written whole, below
      banner: { js: COMMONJS_REQUIRE_BANNER },
      plugins: [sharedModulesArePure(root), npmPackagesInlined(alreadyInlined)],
    });
  let result = await bundle();
  let inlined = inlinedPackages(result.metafile);
  const loadedBothWays = inlined.filter(({ name: inlinedName }) => externalPackages(result.metafile).includes(inlinedName));
  if (loadedBothWays.length > 0) {
    // Imported statically somewhere and with import() elsewhere: one copy, the bundled one.
    result = await bundle(new Set(loadedBothWays.map(({ name: inlinedName }) => inlinedName)));
    inlined = inlinedPackages(result.metafile);
  }
  const external = externalPackages(result.metafile);
  await writeFile(path.join(outdir, 'THIRD_PARTY_LICENSES.txt'), await licenceTexts(root, inlined));
  const dependencies: Record<string, string> = {};
  for (const dependency of external) {
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
  return { outdir, dependencies, inlined: inlinedImports(result.metafile) };
}

/** Each bundled package's name, version and licence file, as its licence asks of a copy. */
async function licenceTexts(root: string, packages: { name: string; folder: string }[]): Promise<string> {
  const sections: string[] = [];
  for (const { name, folder } of packages) {
    const directory = path.resolve(root, folder);
    const manifest = JSON.parse(await readFile(path.join(directory, 'package.json'), 'utf8')) as { version?: string; license?: string };
    const licenceFile = (await readdir(directory)).find((file) => /^(licen[cs]e|copying)(\.|$)/i.test(file));
    const text = licenceFile ? await readFile(path.join(directory, licenceFile), 'utf8') : `License: ${manifest.license ?? 'see the package'}`;
    sections.push(`${name}@${manifest.version ?? '?'}\n\n${text.trim()}\n`);
  }
  return `Packages bundled into index.js, with their licences.\n\n${sections.join(`\n${'-'.repeat(72)}\n\n`)}`;
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
    const { outdir, dependencies, inlined } = await buildFunction(name);
    const kib = (await stat(path.join(outdir, 'index.js'))).size / 1024;
    console.log(
      `built ${`dist/${name}/index.js`.padEnd(42)} ${kib.toFixed(0).padStart(4)} KiB  bundles ${inlined.join(', ') || 'no package'}; installs ${Object.keys(dependencies).join(', ')}`,
    );
  }
  if (requested.length === 0 || requested.includes('web')) await buildDashboardApp();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
