import type { HttpFunction } from '@google-cloud/functions-framework';
import { limitRequestBodies } from './body-limits.js';
import { answerFrameworkErrors } from './framework-errors.js';
import { setSecurityHeaders } from './security-headers.js';

export interface PublicFunctionOptions {
  /** Largest request body the function takes, in bytes; a larger one is 413 before it is read. */
  maxBodyBytes: number;
}

/**
 * A public HTTP function as all three are served (`ff.http(name, publicHttpFunction(options, handler))`):
 * what Express refuses before the handler is answered in the error envelope, whatever NODE_ENV is
 * (`answerFrameworkErrors`); the body is limited to `maxBodyBytes` before it is read
 * (`limitRequestBodies`); every answer carries the security headers (`SECURITY_HEADERS`).
 * Call it when the module loads, as `ff.http` is.
 */
export function publicHttpFunction(options: PublicFunctionOptions, handler: HttpFunction): HttpFunction {
  answerFrameworkErrors();
  const served: HttpFunction = (req, res) => {
    setSecurityHeaders(res);
    return handler(req, res);
  };
  return limitRequestBodies(served, options.maxBodyBytes);
}
