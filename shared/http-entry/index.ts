export { type ErrorBody, type HttpResult, errorResult, clientIpOf } from './responses.js';
export { createIpAllowlist } from './ip-allowlist.js';
