import path from 'node:path';
import { build, type Plugin } from 'esbuild';

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
