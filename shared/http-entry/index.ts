export { type ErrorBody, type HttpResult, errorResult, sendResult, clientIpOf } from './responses.js';
export { createIpAllowlist } from './ip-allowlist.js';
export { acceptMalformedJsonBodies } from './json-bodies.js';
export { answerFrameworkErrors } from './framework-errors.js';
export { limitRequestBodies } from './body-limits.js';
export { SECURITY_HEADERS, setSecurityHeaders } from './security-headers.js';
export { type PublicFunctionOptions, publicHttpFunction } from './public-function.js';
export { serveWithRelay } from './serve-with-relay.js';
export { httpEntryError } from './errors.js';
