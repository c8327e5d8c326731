import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';

/**
 * Marks our shared/ modules free of import-time side effects (true: they only declare), so that a
 * function's bundle keeps only the modules it uses. Without it, importing one helper from a barrel
 * (shared/payments/index.ts) pulls in every module the barrel re-exports, and with them their npm
 * packages: the IPN webhook loaded grammY and settle-payment's whole dependency tree at cold start.
 */
export function sharedModulesArePure(root: string): Plugin {
  const shared = path.join(root, 'shared') + path.sep;
  return {
    name: 'shared-modules-are-pure',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if ((args.pluginData as { isOwnLookup?: boolean } | undefined)?.isOwnLookup) return undefined;
        const resolved = await pluginBuild.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { isOwnLookup: true },
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return resolved.path.startsWith(shared) ? { ...resolved, sideEffects: false } : resolved;
      });
    },
  };
}

/**
 * Packages a bundle may name but never installs: the embedded database (local runtime and tests
 * only) and pg's optional native binding (required only by `pg.native`, which we never use).
 */
export const NEVER_SHIPPED: ReadonlySet<string> = new Set(['@electric-sql/pglite', 'pg-native']);

/**
 * npm packages a bundle leaves installed (listed in dist/<name>/package.json) instead of inlining:
 * the runtime that loads the bundle, Google's clients (they read .proto and JSON files next to their
 * code at run time), and native or local-only packages.
 */
export const INSTALLED_PACKAGES: ReadonlySet<string> = new Set([
  '@google-cloud/functions-framework',
  '@google-cloud/firestore',
  '@google-cloud/pubsub',
  '@google-cloud/scheduler',
  '@google-cloud/secret-manager',
  ...NEVER_SHIPPED,
]);

/** `zod/mini` → `zod`, `@noble/curves/secp256k1` → `@noble/curves`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? specifier);
}

/** The npm packages with code in a bundle (after tree shaking, by esbuild's metafile), each with its folder. */
export function inlinedPackages(metafile: Metafile): { name: string; folder: string }[] {
  const byFolder = new Map<string, string>();
  const shipped = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => (bytesInOutput > 0 ? [input] : [])),
  );
  for (const input of shipped) {
    const parts = input.split(/[\\/]/);
    const at = parts.lastIndexOf('node_modules');
    if (at < 0) continue;
    const depth = parts[at + 1]?.startsWith('@') ? 2 : 1;
    byFolder.set(parts.slice(0, at + 1 + depth).join('/'), parts.slice(at + 1, at + 1 + depth).join('/'));
  }
  return [...byFolder].map(([folder, name]) => ({ name, folder })).sort((a, b) => a.folder.localeCompare(b.folder));
}

const BARE_SPECIFIER = /^[^./]/; // a package name, not a path (esbuild filters are Go regular expressions)

/** What our code imports from the packages a bundle inlined (`zod`, `@noble/curves/secp256k1`), as written. */
export function inlinedImports(metafile: Metafile): string[] {
  const withCode = new Set(inlinedPackages(metafile).map(({ name }) => name));
  const specifiers = new Set<string>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    if (input.split(/[\\/]/).includes('node_modules')) continue;
    for (const { original, external } of imports) {
      if (original && !external && BARE_SPECIFIER.test(original) && withCode.has(packageNameOf(original))) specifiers.add(original);
    }
  }
  return [...specifiers].sort();
}

/**
 * Inlines the pure-JS npm packages a function imports statically. Node resolves, reads and links an
 * ESM package file by file (zod 4 is some 70 files, grammY 40): loaded as one bundle they start in
 * about half the time. A package our code imports with `import()` stays installed and is loaded on
 * the first use that needs it, as before, so that its parse stays off the cold start; unless the
 * function also imports it statically (`alreadyInlined`): then `import()` reaches the bundled copy.
 */
export function npmPackagesInlined(alreadyInlined: ReadonlySet<string> = new Set()): Plugin {
  return {
    name: 'npm-packages-inlined',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: BARE_SPECIFIER }, (args) => {
        const name = packageNameOf(args.path);
        if (args.path.startsWith('node:') || builtinModules.includes(name)) return undefined;
        const fromOurCode = !args.importer.split(path.sep).includes('node_modules');
        const onFirstUse = fromOurCode && args.kind === 'dynamic-import' && !alreadyInlined.has(name);
        if (INSTALLED_PACKAGES.has(name) || onFirstUse) {
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

/**
 * A bundled CommonJS package calls `require` for Node's modules; an ES module has none, so the
 * bundle defines one (named so that it cannot clash with ours).
 */
export const COMMONJS_REQUIRE_BANNER =
  "import { createRequire as __createRequireForBundledPackages } from 'node:module';\n" +
  'const require = __createRequireForBundledPackages(import.meta.url);';

export interface BundleContents {
  /** Source files (relative to the root, `/`-separated) with code in the bundle; type-only modules contribute none. */
  files: string[];
  /** The bundle's code after tree shaking, cut at esbuild's `// <file>` markers: what ships of each file. */
  sections: { file: string; code: string }[];
}

/** What `npm run build` ships for a function, computed without writing anything (about 0.2 s). */
export async function bundleContents(root: string, name: string): Promise<BundleContents> {
  const result = await build({
    entryPoints: [path.join(root, 'functions', name, 'index.ts')],
    outfile: path.join(root, 'dist', name, 'index.js'),
    absWorkingDir: root,
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
    plugins: [sharedModulesArePure(root)],
  });
  const files = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (bytesInOutput > 0) files.add(input.split(path.sep).join('/'));
    }
  }
  const code = result.outputFiles.find((file) => file.path.endsWith('.js'))?.text ?? '';
  const sections: BundleContents['sections'] = [];
  for (const part of code.split(/^\/\/ (?=(?:shared|functions)\/\S+\.ts$)/m).slice(1)) {
    const newline = part.indexOf('\n');
    sections.push({ file: part.slice(0, newline), code: part.slice(newline + 1) });
  }
  return { files: [...files].sort(), sections };
}
