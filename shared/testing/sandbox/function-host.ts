import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { repositoryRoot } from '../../bus/topology.js';
import { discoverFunctions } from '../../deploy/function-folders.js';

/** Imports functions/<name>/index.ts, which registers the function under <name>. */
export async function loadFunction(name: string, root = repositoryRoot()): Promise<void> {
  await import(pathToFileURL(path.join(root, 'functions', name, 'index.ts')).href);
}

export interface FunctionHost {
  url: string;
  port: number;
  functions: string[];
  /**
   * Hands a request to function `name` with its URL unchanged, as a Firebase Hosting rewrite does
   * (`/api/v1/me` reaches dashboard-api as `/api/v1/me`, mounted at the root); false when there is
   * no such function.
   */
  serve(name: string, request: http.IncomingMessage, response: http.ServerResponse): boolean;
  close(): Promise<void>;
}

export interface FunctionHostOptions {
  /** Defaults to every discovered function. */
  functions?: string[];
  /** Functions already registered with the Functions Framework by the caller (test functions). */
  preloaded?: string[];
  port?: number;
  host?: string;
  /** Extra handlers by first path segment (simulators, the sandbox page). */
  routes?: Record<string, http.RequestListener>;
  /** What answers paths that name no function and no route (the dashboard app); default a JSON 404. */
  fallback?: http.RequestListener;
  /** Extra checks for `GET /healthz` (e.g. a database ping); a throw answers 503 without details. */
  healthCheck?: () => Promise<void>;
  /**
   * Runs once the port is known and before any function module loads (functions read their
   * configuration at load): the local runtime sets simulator URLs and PUBLIC_BASE_URL here.
   */
  beforeLoad?: (url: string) => void | Promise<void>;
}

/**
 * Serves every function on one port under `/<name>`, each through the Functions Framework's own
 * server (the same request handling as production), plus `GET /healthz`.
 */
export async function startFunctionHost(options: FunctionHostOptions = {}): Promise<FunctionHost> {
  const loaded = options.functions ?? discoverFunctions();
  const names = [...loaded, ...(options.preloaded ?? [])];
  const servers = new Map<string, http.Server>();
  const routes = options.routes ?? {};

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const [, first = '', ...rest] = url.pathname.split('/');
    if (first === 'healthz') {
      const check = options.healthCheck ?? (async () => undefined);
      check().then(
        () => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ status: 'ok', functions: names }));
        },
        () => {
          // Never echo the error: it may hold a connection string.
          response.writeHead(503, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ status: 'unavailable' }));
        },
      );
      return;
    }
    const target = servers.get(first);
    if (target) {
      request.url = `/${rest.join('/')}${url.search}`;
      // What a path-rewriting proxy says: the function is mounted under /<name> (cookie paths need it).
      request.headers['x-forwarded-prefix'] = `/${first}`;
      target.emit('request', request, response);
      return;
    }
    const route = routes[first];
    if (route) {
      route(request, response);
      return;
    }
    if (options.fallback) {
      options.fallback(request, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code: 'not_found', message: `No function or route named "${first}"` } }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  try {
    await options.beforeLoad?.(url);
    for (const name of loaded) await loadFunction(name);
    for (const name of names) servers.set(name, getTestServer(name));
  } catch (error) {
    server.close();
    throw error;
  }
  return {
    url,
    port,
    functions: names,
    serve(name, request, response) {
      const target = servers.get(name);
      if (!target) return false;
      // Mounted at the root, like behind Firebase Hosting: a client must not choose the cookie path.
      delete request.headers['x-forwarded-prefix'];
      target.emit('request', request, response);
      return true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
