import { createHmac, timingSafeEqual } from 'node:crypto';
import { acceptedVersions, type AcceptedVersion, type SecretRole } from '../secrets/index.js';
import { MAX_JSON_DEPTH, parseJsonPreservingNumbers } from './json-preserving-numbers.js';
import { nowPaymentsError } from './errors.js';

/** The header NowPayments puts the signature in. */
export const IPN_SIGNATURE_HEADER = 'x-nowpayments-sig';

export type IpnVerification =
  | { isValid: true; payload: Record<string, unknown>; key: { role: SecretRole; kid: string } }
  | IpnRefusal;

type IpnRefusal = { isValid: false; reason: 'missing_signature' | 'malformed_json' | 'signature_mismatch' | 'not_an_object' };

/** `authenticateIpnBody`'s answer: `parsed` is JSON.parse's reading, amounts as doubles (to route on, never to count). */
export type IpnAuthentication = { isValid: true; parsed: Record<string, unknown>; key: { role: SecretRole; kid: string } } | IpnRefusal;

/** An HMAC-SHA512 as lower-case hex is 128 characters. */
const SIGNATURE_HEX = /^[0-9a-f]{128}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own property even for the key "__proto__" (plain assignment would change the prototype instead). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value; // far cheaper than defineProperty, which every IPN key went through
}

/**
 * NowPayments' documented Node.js `sortObject`, copied in behaviour: keys sorted at every level, and (a quirk of that
 * example: `typeof [] === 'object'`) arrays turned into objects keyed "0", "1", ….
 */
function sortLikeNodeExample(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(source).sort()) {
    setOwn(sorted, key, sortLikeNodeExample(source[key]));
  }
  return sorted;
}

/** Keys sorted at every level, arrays kept as arrays: what the documented PHP (`tksort`) and Python (`sort_keys`) do. */
function sortKeepingArrays(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeepingArrays);
  if (!isPlainObject(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    setOwn(sorted, key, sortKeepingArrays(value[key]));
  }
  return sorted;
}

/** Whether objects and arrays nest more than `limit` levels deep (walked without recursion). */
function isNestedDeeperThan(root: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(value)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

function hmacHex(secret: string, text: string): string {
  return createHmac('sha512', secret).update(text, 'utf8').digest('hex');
}

function assertSecret(secret: string | undefined): void {
  if (typeof secret !== 'string' || secret === '') {
    // Our configuration is broken, not the sender's request: transient, so the provider retries once it is fixed.
    throw nowPaymentsError('ipn_secret_missing', 'The NowPayments IPN secret is empty; set NOWPAYMENTS_IPN_SECRET.');
  }
}

/**
 * Signs an IPN body the way NowPayments does: hex HMAC-SHA512, keyed by the IPN secret, over
 * `JSON.stringify(sortObject(payload))` with the recursive `sortObject` of their documented Node.js example.
 * The signer beside {@link verifyIpnSignature}, for tests and the simulator.
 *
 * @returns 128 lower-case hex characters, the value of the `x-nowpayments-sig` header.
 * @throws TransientError `ipn_secret_missing` for an empty secret.
 */
export function signIpnPayload(payload: Record<string, unknown>, secret: string): string {
  assertSecret(secret);
  return hmacHex(secret, JSON.stringify(sortLikeNodeExample(payload)));
}

/**
 * Checks an IPN's `x-nowpayments-sig` header against its body, in constant time per candidate, with
 * every accepted secret (during a rotation the current and the previous one: `acceptedVersions`).
 *
 * NowPayments signs `JSON.stringify(sortObject(params))` (hex HMAC-SHA512 with the IPN secret; keys sorted at every
 * level). We rebuild that text from `JSON.parse(rawBody)`, so a body whose keys arrive in any order still verifies.
 * Also accepted, each being an HMAC with our secret over the whole payload: the raw body exactly as received (older
 * docs; and the one form immune to re-serialisation differences), and the sorted form with arrays kept as arrays
 * (the documented PHP and Python examples; the Node example turns arrays into index-keyed objects).
 * The header is compared case-insensitively. The body is parsed once and each candidate text built
 * once, whatever the number of secrets: one HMAC per (text, secret), so outside a rotation a forged
 * header costs what it always did, and during one at most twice that.
 *
 * On success `payload` is the body read by `parseJsonPreservingNumbers`: amounts are exact decimal text, never doubles.
 *
 * @param rawBody the request body exactly as received (not a re-serialised object).
 * @param signature the `x-nowpayments-sig` header; `undefined` when absent.
 * @param secret NOWPAYMENTS_IPN_SECRET, or the accepted versions of the rotating secret (current first).
 * @returns on success also `key`: which version matched (`role`, `kid`), for the log; never the value.
 * @returns `{ isValid: false, reason }` for `missing_signature`, `malformed_json`, `not_an_object` (a JSON array or
 *   scalar) or `signature_mismatch` (wrong secret, altered body, or a header that is not 128 hex characters).
 * @throws TransientError `ipn_secret_missing` for an empty secret (our configuration, not the request).
 */
export function verifyIpnSignature(input: { rawBody: string; signature: string | undefined; secret: string | readonly AcceptedVersion[] }): IpnVerification {
  const authenticated = authenticateIpnBody(input);
  return authenticated.isValid ? readIpnPayloadExactly(input.rawBody, authenticated.key) : authenticated;
}

/**
 * The signature check of `verifyIpnSignature` without the exact reading of the body, for a caller
 * that only routes on it (the first look at a repeat reads its status); same refusals.
 */
export function authenticateIpnBody(input: {
  rawBody: string;
  signature: string | undefined;
  secret: string | readonly AcceptedVersion[];
}): IpnAuthentication {
  const keys = typeof input.secret === 'string' ? acceptedVersions(input.secret, new Date(0)) : input.secret;
  if (keys.length === 0) assertSecret(undefined);
  for (const key of keys) assertSecret(key.value);
  const header = typeof input.signature === 'string' ? input.signature.trim().toLowerCase() : '';
  if (header === '') return { isValid: false, reason: 'missing_signature' };

  let parsed: unknown;
  try {
    parsed = JSON.parse(input.rawBody);
  } catch {
    return { isValid: false, reason: 'malformed_json' };
  }
  if (!isPlainObject(parsed)) return { isValid: false, reason: 'not_an_object' };
  // JSON.parse accepts any nesting; the sorting below recurses, so a body nested deeper than any
  // provider sends is refused here, before it can exhaust the stack.
  if (isNestedDeeperThan(parsed, MAX_JSON_DEPTH)) return { isValid: false, reason: 'malformed_json' };
  if (!SIGNATURE_HEX.test(header)) return { isValid: false, reason: 'signature_mismatch' };

  const received = Buffer.from(header, 'hex');
  // Built one at a time: the documented form matches almost every real IPN, so the others are rarely needed.
  const candidates = [
    () => JSON.stringify(sortLikeNodeExample(parsed)),
    () => input.rawBody,
    () => JSON.stringify(sortKeepingArrays(parsed)),
  ];
  const tried = new Set<string>();
  let matched: AcceptedVersion | undefined;
  for (const candidate of candidates) {
    const text = candidate();
    if (tried.has(text)) continue;
    tried.add(text);
    // Each comparison is constant-time on equal-length buffers. Stopping at a match reveals only
    // which documented form and which secret the (authentic) sender used; a forged header is
    // compared with every form under every accepted secret.
    matched = keys.find((key) => timingSafeEqual(Buffer.from(hmacHex(key.value, text), 'hex'), received));
    if (matched) break;
  }
  if (!matched) return { isValid: false, reason: 'signature_mismatch' };
  return { isValid: true, parsed, key: { role: matched.role, kid: matched.kid } };
}

/** An authentic body read again, exactly (JSON.parse turned amounts into doubles): amounts as decimal text. */
export function readIpnPayloadExactly(rawBody: string, key: { role: SecretRole; kid: string }): IpnVerification {
  let payload: unknown;
  try {
    payload = parseJsonPreservingNumbers(rawBody);
  } catch {
    return { isValid: false, reason: 'malformed_json' };
  }
  return isPlainObject(payload) ? { isValid: true, payload, key } : { isValid: false, reason: 'not_an_object' };
}
