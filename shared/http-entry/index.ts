export { type ErrorBody, type HttpResult, errorResult, sendResult, statusOfCode, clientIpOf } from './responses.js';
export { createIpAllowlist } from './ip-allowlist.js';
export { acceptMalformedJsonBodies } from './json-bodies.js';
export { answerFrameworkErrors } from './framework-errors.js';
export { serveWithRelay } from './serve-with-relay.js';
