import { builtinModules } from 'node:module';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const webRoot = path.dirname(fileURLToPath(import.meta.url));
const repositoryRoot = path.dirname(webRoot);

/** File that lists every source file of the last build (see `scripts/web-build.ts`, which rebuilds when one changed). */
export const BUILD_INPUTS_FILE = 'build-inputs.json';

/**
 * Writes `dist/build-inputs.json`: the repository files the bundle was made from (web/ and the
 * shared/ modules it imports, not node_modules). `npm start` compares their modification times
 * with the build's to decide whether the app must be rebuilt before it is served.
 */
function buildInputs(): Plugin {
  let outDir = '';
  return {
    name: 'paygateprime-build-inputs',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    writeBundle() {
      const files = [...this.getModuleIds()]
        .filter((id) => path.isAbsolute(id) && id.startsWith(repositoryRoot) && !id.includes(`${path.sep}node_modules${path.sep}`))
        .map((id) => path.relative(repositoryRoot, id.split('?')[0]!))
        .sort();
      writeFileSync(path.join(outDir, BUILD_INPUTS_FILE), `${JSON.stringify({ builtAt: new Date().toISOString(), files }, null, 2)}\n`);
    },
  };
}

/**
 * Fails the build when app code reaches a Node built-in (`node:crypto` through a shared/ index, say):
 * Vite would only stub it, and the app would die in the browser at start. Import the pure module.
 */
function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'paygateprime-no-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (importer && !importer.includes(`${path.sep}node_modules${path.sep}`) && (source.startsWith('node:') || builtins.has(source))) {
        this.error(`${path.relative(repositoryRoot, importer)} imports ${source}, which a browser does not have: import the pure module instead`);
      }
      return null;
    },
  };
}

/**
 * The dashboard SPA. `npm run build` (scripts/build.ts) and `npm start` build it into web/dist;
 * `npx vite web` serves it with hot reload and sends `/api` to a running `npm start`
 * (PGP_RUNTIME_URL, default http://127.0.0.1:8080).
 */
export default defineConfig({
  root: webRoot,
  plugins: [react(), buildInputs(), noNodeBuiltins()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Hashed names under assets/: cached for a year by Firebase Hosting (firebase.json) and npm start.
    assetsDir: 'assets',
    reportCompressedSize: false,
    // The budget that counts is the gzip size of the initial JS, checked by npm run build (scripts/build.ts).
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { '/api': { target: process.env.PGP_RUNTIME_URL ?? 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
