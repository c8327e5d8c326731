import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import path from 'node:path';
import { repositoryRoot } from '../../bus/topology.js';

/**
 * Firebase Hosting, as far as `npm start` needs it: the `hosting` section of firebase.json read and
 * applied, so the local runtime serves the dashboard app exactly as production does — the built
 * files of web/dist, its headers (CSP, HSTS, caching), the rewrites of `/api/**` and the webhooks to
 * their functions, and the SPA fallback to index.html. One origin, as PUBLIC_BASE_URL expects.
 *
 * Rules as Firebase applies them: a file that exists is served first; otherwise the first matching
 * rewrite wins; headers of every matching rule apply, a later rule overriding an earlier one's key.
 */
export interface HostingRewrite {
  source: string;
  destination?: string;
  /** Cloud Run service (a gen2 function is one, named like the function). */
  run?: { serviceId: string; region?: string };
  function?: { functionId: string; region?: string } | string;
}

export interface HostingConfig {
  public: string;
  ignore?: string[];
  rewrites?: HostingRewrite[];
  headers?: { source: string; headers: { key: string; value: string }[] }[];
}

/** The `hosting` section of the repository's firebase.json. */
export function loadHostingConfig(root = repositoryRoot()): HostingConfig {
  const config = JSON.parse(readFileSync(path.join(root, 'firebase.json'), 'utf8')) as { hosting?: HostingConfig };
  if (!config.hosting) throw new Error('firebase.json has no "hosting" section');
  return config.hosting;
}

/** A Firebase Hosting glob (`**`, `*`, `?`, `@(a|b)`) as a regular expression over the request path. */
export function hostingGlob(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index]!;
    if (glob.startsWith('**', index)) {
      source += '.*';
      index += 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (glob.startsWith('@(', index)) {
      const end = glob.indexOf(')', index);
      source += `(?:${glob
        .slice(index + 2, end)
        .split('|')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
        .join('|')})`;
      index = end;
    } else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${glob.startsWith('/') || glob.startsWith('**') ? '' : '/'}${source}$`);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

export interface HostingHandlerOptions {
  config?: HostingConfig;
  root?: string;
  /** Hands a request to a function, URL unchanged (the rewrite's target); false when there is no such function. */
  serveFunction: (name: string, request: IncomingMessage, response: ServerResponse) => boolean;
}

export function createHostingHandler(options: HostingHandlerOptions): RequestListener {
  const root = options.root ?? repositoryRoot();
  const config = options.config ?? loadHostingConfig(root);
  const publicDir = path.resolve(root, config.public);
  const rewrites = (config.rewrites ?? []).map((rule) => ({ rule, pattern: hostingGlob(rule.source) }));
  const headerRules = (config.headers ?? []).map((rule) => ({ rule, pattern: hostingGlob(rule.source) }));
  const ignored = (config.ignore ?? []).map(hostingGlob);

  const headersFor = (pathname: string) => {
    const headers: Record<string, string> = {};
    for (const { rule, pattern } of headerRules) {
      if (!pattern.test(pathname)) continue;
      for (const { key, value } of rule.headers) headers[key.toLowerCase()] = value;
    }
    return headers;
  };

  /** A file under the public folder for this path, never outside it, never an ignored one. */
  const fileFor = (pathname: string): string | undefined => {
    const relative = pathname === '/' ? '/index.html' : pathname;
    const file = path.resolve(publicDir, `.${relative}`);
    if (!file.startsWith(publicDir + path.sep)) return undefined;
    if (ignored.some((pattern) => pattern.test(relative))) return undefined;
    try {
      return statSync(file).isFile() ? file : undefined;
    } catch {
      return undefined;
    }
  };

  const sendFile = (request: IncomingMessage, response: ServerResponse, file: string, pathname: string) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed');
      return;
    }
    const size = statSync(file).size;
    response.writeHead(200, {
      ...headersFor(pathname),
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': String(size),
    });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  };

  return (request, response) => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('Bad request');
      return;
    }
    const file = fileFor(pathname);
    if (file) return sendFile(request, response, file, pathname);
    for (const { rule, pattern } of rewrites) {
      if (!pattern.test(pathname)) continue;
      const target = rule.run?.serviceId ?? (typeof rule.function === 'string' ? rule.function : rule.function?.functionId);
      if (target) {
        // The function sees the path as the browser sent it, mounted at the root: no client-chosen prefix (cookie paths).
        delete request.headers['x-forwarded-prefix'];
        if (options.serveFunction(target, request, response)) return;
        response.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`firebase.json rewrites ${rule.source} to ${target}, which is not running here`);
        return;
      }
      if (rule.destination) {
        const destination = fileFor(rule.destination);
        if (destination) return sendFile(request, response, destination, pathname);
        if (!existsSync(publicDir) || !fileFor('/index.html')) {
          response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
          response.end(`The dashboard app is not built (no ${path.relative(root, publicDir)}/index.html): run npm run build, or npm start, which builds it.\n`);
          return;
        }
      }
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code: 'not_found', message: `Nothing at ${pathname}` } }));
  };
}
