/**
 * Builds the dashboard app (web/) with Vite into web/dist, for `npm run build` and `npm start`, and
 * measures what a browser loads first. `npm start` rebuilds only when a source changed since the
 * last build (web/dist/build-inputs.json lists them) and `--dev` rebuilds on every change.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { repositoryRoot } from '../shared/bus/topology.js';

const gzipAsync = promisify(gzip);

export const WEB_ROOT = path.join(repositoryRoot(), 'web');
export const WEB_DIST = path.join(WEB_ROOT, 'dist');
/** What index.html loads before the app can show anything, gzip-compressed (issue 17's budget). */
export const INITIAL_JS_BUDGET_BYTES = 200 * 1024;

/** Vite's own build, quiet unless something is wrong. `watch`: keep rebuilding on changes (returns once the first build is done). */
export async function buildWebApp(options: { watch?: boolean } = {}): Promise<void> {
  const { build } = await import('vite');
  const result = await build({
    configFile: path.join(WEB_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    ...(options.watch ? { build: { watch: {} } } : {}),
  });
  if (options.watch && result && 'on' in result) {
    await new Promise<void>((resolve, reject) => {
      result.on('event', (event) => {
        if (event.code === 'END') resolve();
        if (event.code === 'ERROR') reject(event.error);
      });
    });
  }
}

/** The scripts index.html loads at once (its module script and modulepreloads), with their gzip sizes. */
export async function initialJsSize(dist = WEB_DIST): Promise<{ files: { file: string; bytes: number; gzipBytes: number }[]; gzipBytes: number }> {
  const html = await readFile(path.join(dist, 'index.html'), 'utf8');
  const sources = [...html.matchAll(/<script[^>]+src="([^"]+)"|<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)].map((match) => match[1] ?? match[2]!);
  const files = await Promise.all(
    sources.map(async (source) => {
      const content = await readFile(path.join(dist, source.replace(/^\//, '')));
      return { file: source, bytes: content.length, gzipBytes: (await gzipAsync(content)).length };
    }),
  );
  return { files, gzipBytes: files.reduce((sum, file) => sum + file.gzipBytes, 0) };
}

/**
 * Why web/dist must be built again, or undefined when it is current: no build yet, or a file it was
 * made from (listed in build-inputs.json) or the Vite config changed after it.
 */
export async function webAppStaleness(root = repositoryRoot()): Promise<string | undefined> {
  let inputs: { builtAt: string; files: string[] };
  try {
    inputs = JSON.parse(await readFile(path.join(WEB_DIST, 'build-inputs.json'), 'utf8')) as typeof inputs;
  } catch {
    return 'web/dist has not been built yet';
  }
  const builtAt = Date.parse(inputs.builtAt);
  for (const file of [...inputs.files, 'web/index.html', 'web/vite.config.ts', 'package-lock.json']) {
    try {
      if ((await stat(path.join(root, file))).mtimeMs > builtAt) return `${file} changed since the last build`;
    } catch {
      return `${file} is gone since the last build`;
    }
  }
  return undefined;
}

export function formatKiB(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
