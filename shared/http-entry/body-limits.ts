import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';

type Next = (error?: unknown) => void;
type Middleware = (req: IncomingMessage, res: unknown, next: Next) => void;
type ParserFactory = (options?: Record<string, unknown>) => Middleware;
type BodyParser = Record<'json' | 'text' | 'urlencoded' | 'raw', ParserFactory> & { [IS_LIMITED]?: true };
interface FunctionWrappers {
  wrapUserFunction: (userFunction: unknown, signatureType: unknown) => unknown;
  [IS_LIMITED]?: true;
}
interface ExpressApplication {
  init(this: object): unknown;
  [IS_LIMITED]?: true;
}

const IS_LIMITED = Symbol.for('paygateprime.requestBodyLimits');
const REQUEST_LIMIT = Symbol.for('paygateprime.requestBodyLimit');

/** Body limit (bytes) of each function registered through `limitRequestBodies`, by its handler. */
const limitsByFunction = new WeakMap<object, number>();
/** The same limit, by the Express app the framework built for that function. */
const limitsByApp = new WeakMap<object, number>();
/** The app `express()` made last: the framework builds its app and wraps the function in one synchronous call. */
let latestApp: object | undefined;

/**
 * Caps the request body of the function whose handler is `handler` at `maxBytes`.
 *
 * The Functions Framework reads every body with body-parser before the function runs, up to 1 GB
 * (`limit: '1024mb'`, fixed in its server), into memory. This gives each of our public functions its
 * own limit there, so that a large body is refused before it is held:
 * - a declared `Content-Length` above the limit is answered 413 at once, before any of the body is
 *   read (`answerFrameworkErrors` does it, as the app starts handling the request);
 * - a body without one (chunked) or one that inflates (`Content-Encoding: gzip`) is buffered only up
 *   to the limit; the rest is read off and dropped, and the answer is 413 in the envelope.
 *
 * Which function an app serves is learnt when the framework builds it: it creates the Express app,
 * then wraps the handler (`wrapUserFunction`, looked up on its module at each call), in one
 * synchronous call; both are watched here. Call it when the function's module loads (as
 * `publicHttpFunction` does), before the framework builds its server.
 */
export function limitRequestBodies<F extends object>(handler: F, maxBytes: number): F {
  installBodyLimits();
  limitsByFunction.set(handler, maxBytes);
  return handler;
}

/** The body limit of the function this Express app serves; undefined when it has none of ours. */
export function bodyLimitOfApp(app: object): number | undefined {
  return limitsByApp.get(app);
}

/** Marks `req` to be read with at most `maxBytes` by the (patched) body parsers. */
export function capRequestBody(req: IncomingMessage, maxBytes: number): void {
  (req as IncomingMessage & { [REQUEST_LIMIT]?: number })[REQUEST_LIMIT] = maxBytes;
}

function installBodyLimits(): void {
  const requireHere = createRequire(import.meta.url);
  const frameworkMain = requireHere.resolve('@google-cloud/functions-framework');
  const requireFramework = createRequire(frameworkMain);

  const application = (requireFramework('express') as { application: ExpressApplication }).application;
  if (!application[IS_LIMITED]) {
    const init = application.init;
    application.init = function initRemembered(this: object) {
      latestApp = this;
      return init.call(this);
    };
    application[IS_LIMITED] = true;
  }

  // The framework's own module, by path: its package exports only the public entry points.
  const wrappers = requireFramework('./function_wrappers.js') as FunctionWrappers;
  if (!wrappers[IS_LIMITED]) {
    const wrap = wrappers.wrapUserFunction;
    wrappers.wrapUserFunction = (userFunction, signatureType) => {
      const limit = typeof userFunction === 'function' ? limitsByFunction.get(userFunction) : undefined;
      if (limit !== undefined && latestApp) limitsByApp.set(latestApp, limit);
      return wrap(userFunction, signatureType);
    };
    wrappers[IS_LIMITED] = true;
  }

  const bodyParser = requireFramework('body-parser') as BodyParser;
  if (!bodyParser[IS_LIMITED]) {
    for (const type of ['json', 'text', 'urlencoded', 'raw'] as const) {
      const factory = bodyParser[type].bind(bodyParser);
      bodyParser[type] = (options) => {
        const uncapped = factory(options);
        const capped = new Map<number, Middleware>();
        return (req, res, next) => {
          const limit = (req as IncomingMessage & { [REQUEST_LIMIT]?: number })[REQUEST_LIMIT];
          if (limit === undefined) return uncapped(req, res, next);
          let parser = capped.get(limit);
          if (!parser) capped.set(limit, (parser = factory({ ...options, limit })));
          return parser(req, res, next);
        };
      };
    }
    bodyParser[IS_LIMITED] = true;
  }
}
