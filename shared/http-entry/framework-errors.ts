import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { PermanentError } from '../errors/index.js';
import { logger } from '../logging/index.js';
import { bodyLimitOfApp, capRequestBody } from './body-limits.js';
import { acceptMalformedJsonBodies } from './json-bodies.js';
import { errorResult, type HttpResult } from './responses.js';
import { setSecurityHeaders } from './security-headers.js';
import { httpEntryError } from './errors.js';

type Done = (error?: unknown) => void;
interface ExpressApplication {
  handle(this: object, req: IncomingMessage, res: ServerResponse, callback?: Done): unknown;
  [IS_ANSWERED_HERE]?: true;
}

const IS_ANSWERED_HERE = Symbol.for('paygateprime.frameworkErrorsInEnvelope');

/**
 * What the request did wrong, when Express or its body parsers refused it (a 4xx `status` on the
 * error); undefined for anything else, which is then our fault.
 */
function refusalOf(error: unknown): PermanentError | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  const type = (error as { type?: unknown }).type;
  if (error instanceof URIError) return httpEntryError('malformed_path', 'The path holds an invalid percent-escape; write a literal "%" as %25');
  if (type === 'charset.unsupported') return httpEntryError('unsupported_media_type', 'Send the body in UTF-8 (charset=utf-8, or no charset)');
  if (type === 'encoding.unsupported') return httpEntryError('unsupported_media_type', 'Send the body without Content-Encoding (or as gzip, deflate or br)');
  if (status === 413) return httpEntryError('payload_too_large', 'The body is too large or has too many form fields');
  if (status === 415) return httpEntryError('unsupported_media_type', 'Send the body as JSON with Content-Type: application/json');
  return httpEntryError('malformed_body', 'The body could not be read: check Content-Type, Content-Encoding and Content-Length');
}

/** Writes `result` in the envelope with the security headers, unless an answer was already started. */
function writeEnvelope(req: IncomingMessage, res: ServerResponse, result: HttpResult): void {
  if (res.headersSent) return;
  res.statusCode = result.status;
  setSecurityHeaders(res);
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(req.method === 'HEAD' ? undefined : JSON.stringify(result.body));
}

/** Answers in the error envelope once the request body is read off, so a keep-alive connection stays in step. */
function answerInEnvelope(req: IncomingMessage, res: ServerResponse): Done {
  return (error) => {
    if (res.headersSent) {
      // Too late for an answer: end the connection, as Express would.
      req.socket.destroy();
      return;
    }
    const refusal = error === undefined ? httpEntryError('not_found', 'No function is served at this path') : refusalOf(error);
    if (!refusal) logger.error('http.framework_failed', { method: req.method, error });
    const result = errorResult(refusal ?? error);
    const write = () => writeEnvelope(req, res, result);
    if (req.complete || req.readableEnded || req.destroyed) {
      write();
      return;
    }
    req.once('end', write);
    req.once('close', write);
    req.resume();
  };
}

/** The declared body length, when the request states a valid one. */
function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (typeof header !== 'string' || !/^\d{1,16}$/.test(header)) return undefined;
  return Number(header);
}

/** Up to this much of a refused body is read off after the answer, so the connection stays usable; more closes it. */
const READ_OFF_BYTES = 1024 * 1024;

/**
 * A body declared larger than the function takes: 413 at once, before any of it is read. Node then
 * reads off what the client still sends (dropped, never buffered) so that a keep-alive connection
 * stays in step; a body declared over `READ_OFF_BYTES` closes the connection after the answer.
 */
function refuseDeclaredTooLarge(req: IncomingMessage, res: ServerResponse, maxBytes: number, declared: number): void {
  if (declared > READ_OFF_BYTES) res.setHeader('connection', 'close');
  writeEnvelope(req, res, errorResult(httpEntryError('payload_too_large', `Request bodies are limited to ${maxBytes} bytes`)));
}

/**
 * Lets our error envelope answer what Express refuses before a function runs: a path with an
 * invalid percent-escape (`/%E0%A4%A`), a body in a charset or Content-Encoding body-parser does
 * not read, a gzip body that is not gzip, too many form fields, a body over the function's limit
 * (`limitRequestBodies`; declared too large: refused before it is read). Whatever NODE_ENV is: our
 * callback replaces Express's final handler, which alone looks at it. Express's own answer is an HTML
 * page with the exception and its stack trace (only the status text when NODE_ENV=production),
 * which no caller can parse and which shows our file paths. Malformed JSON is handed to the
 * function instead (`acceptMalformedJsonBodies`, installed here too), which answers it itself.
 *
 * Call it when the function's module loads: the framework builds its Express app after loading
 * the function, and each app copies `handle` from Express's prototype when it is created. Express
 * is resolved from the framework's own location, so it is the instance the framework uses.
 */
export function answerFrameworkErrors(): void {
  acceptMalformedJsonBodies();
  const requireHere = createRequire(import.meta.url);
  const express = createRequire(requireHere.resolve('@google-cloud/functions-framework'))('express') as { application: ExpressApplication };
  const application = express.application;
  if (application[IS_ANSWERED_HERE]) return;
  const handle = application.handle;
  application.handle = function handleWithEnvelope(this: object, req, res, callback) {
    // The function's body limit (`limitRequestBodies`), before any body parser runs.
    const maxBytes = bodyLimitOfApp(this);
    if (maxBytes !== undefined) {
      const declared = declaredLength(req) ?? 0;
      if (declared > maxBytes) return refuseDeclaredTooLarge(req, res, maxBytes, declared);
      capRequestBody(req, maxBytes);
    }
    return handle.call(this, req, res, callback ?? answerInEnvelope(req, res));
  };
  application[IS_ANSWERED_HERE] = true;
}
