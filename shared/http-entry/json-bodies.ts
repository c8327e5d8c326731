import { createRequire } from 'node:module';

type Next = (error?: unknown) => void;
type Middleware = (req: { body?: unknown }, res: unknown, next: Next) => void;
interface BodyParser {
  json(options?: unknown): Middleware;
  [IS_LENIENT]?: true;
}

const IS_LENIENT = Symbol.for('paygateprime.lenientJsonBodies');

/**
 * Lets a public HTTP function answer a malformed JSON body itself.
 *
 * The Functions Framework parses `application/json` bodies (up to 1 GB) before the function runs.
 * On a syntax error, Express answers with its own HTML page — the stack trace unless
 * NODE_ENV=production — and logs the error object, raw body included: a mistyped login request
 * would put the password in Cloud Logging. This wraps the framework's JSON parser so that a parse
 * failure only leaves `req.body` undefined; `req.rawBody` is still set (the framework saves it before
 * parsing) and the function's own validation answers in its error envelope.
 *
 * Call it when the function's module loads: the framework builds its Express app after loading the
 * function, and asks body-parser for its JSON parser then. body-parser is resolved from the
 * framework's own location, so it is the instance the framework uses.
 */
export function acceptMalformedJsonBodies(): void {
  const requireHere = createRequire(import.meta.url);
  const bodyParser = createRequire(requireHere.resolve('@google-cloud/functions-framework'))('body-parser') as BodyParser;
  if (bodyParser[IS_LENIENT]) return;
  const strictJson = bodyParser.json.bind(bodyParser);
  bodyParser.json = (options?: unknown): Middleware => {
    const parse = strictJson(options);
    return (req, res, next) =>
      parse(req, res, (error?: unknown) => {
        if ((error as { type?: unknown } | undefined)?.type === 'entity.parse.failed') {
          req.body = undefined;
          next();
          return;
        }
        next(error);
      });
  };
  bodyParser[IS_LENIENT] = true;
}
