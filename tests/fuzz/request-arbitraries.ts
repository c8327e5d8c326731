import http from 'node:http';
import { gzipSync } from 'node:zlib';
import * as fc from 'fast-check';

/**
 * Generators of hostile HTTP requests, shared by the fuzz suites of the three public entry points.
 * They produce plain data (replayable from a fast-check seed and path); each suite turns it into
 * bytes against its running gateway, where ids, secrets and the clock are known.
 */

// ---- JSON with numbers JSON.stringify cannot write ----

/** A JSON number written exactly as given (`1e400`, `-0`, 30 digits): JSON.stringify would round or refuse it. */
export interface RawNumber {
  readonly rawNumber: string;
}
export type JsonLike = null | boolean | number | string | RawNumber | JsonLike[] | { [key: string]: JsonLike };

export const rawNumber = (text: string): RawNumber => ({ rawNumber: text });

function isRawNumber(value: unknown): value is RawNumber {
  return typeof value === 'object' && value !== null && typeof (value as { rawNumber?: unknown }).rawNumber === 'string' && Object.keys(value).length === 1;
}

/** Sets an own property even for `__proto__`, which plain assignment would turn into a prototype change. */
export function withKey(target: { [key: string]: JsonLike }, key: string, value: JsonLike): { [key: string]: JsonLike } {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** Own keys whose value is not `undefined` (absent, as in JSON.stringify). */
function presentKeys(value: { [key: string]: JsonLike | undefined }): string[] {
  return Object.keys(value).filter((key) => value[key] !== undefined);
}

/** The JSON text of `value`, raw numbers verbatim. Non-finite JS numbers become `null`, as JSON.stringify does. */
export function jsonText(value: JsonLike): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (isRawNumber(value)) return value.rawNumber;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  return `{${presentKeys(value)
    .map((key) => `${JSON.stringify(key)}:${jsonText(value[key]!)}`)
    .join(',')}}`;
}

function clone(value: JsonLike): JsonLike {
  if (value === null || typeof value !== 'object' || isRawNumber(value)) return value;
  if (Array.isArray(value)) return value.map(clone);
  const copy: { [key: string]: JsonLike } = {};
  for (const key of presentKeys(value)) withKey(copy, key, clone(value[key]!));
  return copy;
}

type JsonPath = (string | number)[];

/** Every place in `value` a mutation can hit: the root, each property and each element. */
function pathsOf(value: JsonLike, prefix: JsonPath = []): JsonPath[] {
  const paths: JsonPath[] = [prefix];
  if (value === null || typeof value !== 'object' || isRawNumber(value)) return paths;
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...pathsOf(item, [...prefix, index])));
  else for (const key of presentKeys(value)) paths.push(...pathsOf(value[key]!, [...prefix, key]));
  return paths;
}

function containerAt(root: JsonLike, path: JsonPath): JsonLike | undefined {
  let node: JsonLike | undefined = root;
  for (const step of path) {
    if (node === null || typeof node !== 'object' || isRawNumber(node)) return undefined;
    node = Array.isArray(node) ? node[step as number] : Object.prototype.hasOwnProperty.call(node, step) ? (node as Record<string, JsonLike>)[step as string] : undefined;
  }
  return node;
}

// ---- hostile values ----

const BIG_DIGITS = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 16, maxLength: 80 });

/** Numbers that break naive parsing: exponents, overflow, underflow, negative zero, long digit runs. */
export const hostileNumber: fc.Arbitrary<JsonLike> = fc.oneof(
  fc.constantFrom(0, -1, 1, 0.5, -0.01, 2 ** 31, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, 1e21, 5e-324),
  fc.constantFrom('1e400', '-1e400', '1e-400', '1E+2', '2e0', '-0', '0.0', '1.000000000000000000001', '0.00000000000000000000000000000000000001', '1e-7', '9e15').map(rawNumber),
  fc.tuple(fc.constantFrom('', '-'), BIG_DIGITS, fc.option(BIG_DIGITS), fc.option(fc.integer({ min: -400, max: 400 }))).map(([sign, whole, fraction, exponent]) =>
    rawNumber(`${sign}${whole.replace(/^0+(?=\d)/, '')}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : `e${exponent}`}`),
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/**
 * A character every text field must refuse, wherever it stands (`shared/user-text`): a C0 control
 * other than tab and line feed, U+FFFE, U+FFFF, or a lone surrogate.
 */
export const refusedCharacter: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).filter((code) => code !== 0x09 && code !== 0x0a).map((code) => String.fromCharCode(code)),
  fc.constantFrom('\uFFFE', '\uFFFF', '\uD800', '\uDBFF', '\uDC00', '\uDFFF'),
);

/** Ordinary text (printable ASCII, so no surrogate can pair with the one inserted) with a refused character somewhere. */
export const textWithRefusedCharacter: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 12 }), refusedCharacter, fc.string({ minLength: 1, maxLength: 12 }))
  .map(([before, refused, after]) => `${before}${refused}${after}`);

/** Strings that break naive handling: NUL (PostgreSQL text refuses it), lone surrogates, injections, huge text. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  textWithRefusedCharacter,
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '\u202egnp.exe',
    '🙂👍🏽',
    'e\u0301',
    'null',
    'true',
    '0',
    '-1',
    '1e400',
    'NaN',
    'Infinity',
    '0x1F',
    "'; DROP TABLE payments; --",
    '1 OR 1=1',
    '<script>alert(1)</script>',
    '../../../etc/passwd',
    '%00%ff',
    '%s%n%x',
    '${7*7}{{7*7}}',
    '__proto__',
    'constructor',
    '\r\nX-Injected: 1',
    '\\u0000',
    'ch_',
    'chk_AAAAAAAAAAAAAAAAAAAAAA',
    'acc_AAAAAAAAAAAAAAAAAAAAAA',
    'po_AAAAAAAAAAAAAAAAAAAAAA',
    '00000000-0000-0000-0000-000000000000',
    '2026-02-30T25:61:61.000000Z',
    '0000-01-01T00:00:00Z',
  ),
  fc.integer({ min: 257, max: 200_000 }).map((length) => 'A'.repeat(length)),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

/**
 * Nested arrays or objects inside a value (validators that recurse). The `deep` body plan nests far
 * deeper as text; this one stays within what the generators themselves can recurse through.
 */
export const deepValue: fc.Arbitrary<JsonLike> = fc.tuple(fc.integer({ min: 20, max: 500 }), fc.boolean()).map(([depth, isArray]) => {
  let value: JsonLike = 1;
  for (let level = 0; level < depth; level++) value = isArray ? [value] : { a: value };
  return value;
});

/** Any hostile value: wrong types, extreme numbers and strings, containers where scalars belong. */
export const hostileValue: fc.Arbitrary<JsonLike> = fc.oneof(
  { arbitrary: hostileNumber, weight: 3 },
  { arbitrary: hostileString, weight: 3 },
  { arbitrary: fc.constantFrom<JsonLike>(null, true, false, [], {}, [null], { '': '' }), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonLike>, weight: 2 },
  { arbitrary: deepValue, weight: 1 },
);

const mutationKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', '', 'toString', 'isAdmin', 'id', 'status'), fc.string({ maxLength: 12 }));

interface Mutation {
  kind: 'replace' | 'delete' | 'add' | 'wrap';
  at: number;
  key: string;
  value: JsonLike;
}

function applyMutation(root: JsonLike, paths: JsonPath[], mutation: Mutation): JsonLike {
  const path = paths[mutation.at % paths.length]!;
  if (path.length === 0) {
    if (mutation.kind === 'replace') return mutation.value;
    if (mutation.kind === 'wrap') return [root];
    if (mutation.kind === 'add' && root !== null && typeof root === 'object' && !Array.isArray(root) && !isRawNumber(root)) return withKey(root, mutation.key, mutation.value);
    return root;
  }
  const parent = containerAt(root, path.slice(0, -1));
  const last = path.at(-1)!;
  if (parent === null || typeof parent !== 'object' || isRawNumber(parent) || parent === undefined) return root;
  // An earlier mutation turned the container into another kind (an object key now on an array).
  if (Array.isArray(parent) !== (typeof last === 'number')) return root;
  const current = Array.isArray(parent) ? parent[last as number] : (parent as Record<string, JsonLike>)[last as string];
  if (current === undefined) return root; // an earlier mutation removed it
  const next: JsonLike | undefined =
    mutation.kind === 'replace'
      ? mutation.value
      : mutation.kind === 'wrap'
        ? [current]
        : mutation.kind === 'add' && current !== null && typeof current === 'object' && !Array.isArray(current) && !isRawNumber(current)
          ? withKey(current, mutation.key, mutation.value)
          : mutation.kind === 'add'
            ? current
            : undefined;
  if (Array.isArray(parent)) {
    if (next === undefined) parent.splice(last as number, 1);
    else parent[last as number] = next;
  } else if (next === undefined) {
    delete (parent as Record<string, JsonLike>)[last as string];
  } else {
    withKey(parent as { [key: string]: JsonLike }, last as string, next);
  }
  return root;
}

/**
 * `example` with up to `maxMutations` fields replaced by hostile values, removed, added or wrapped
 * in an array. A share `intactShare` (default a third) stays as given, so requests also reach the
 * handlers intact.
 */
export function mutatedJson(example: JsonLike, options: { maxMutations?: number; intactShare?: number } = {}): fc.Arbitrary<JsonLike> {
  const paths = pathsOf(example);
  const mutation = fc.record({ kind: fc.constantFrom('replace' as const, 'delete' as const, 'add' as const, 'wrap' as const), at: fc.nat(), key: mutationKey, value: hostileValue });
  const intact = Math.round((options.intactShare ?? 1 / 3) * 100);
  const mutations = fc.oneof({ weight: intact, arbitrary: fc.constant([]) }, { weight: 100 - intact, arbitrary: fc.array(mutation, { minLength: 1, maxLength: options.maxMutations ?? 3 }) });
  return mutations.map((list) => list.reduce((root, m) => applyMutation(root, paths, m), clone(example)));
}

// ---- bodies ----

/** How the bytes of a body are made from a JSON value (or not). */
export type BodyPlan =
  | { kind: 'json'; value: JsonLike }
  | { kind: 'truncated'; value: JsonLike; keep: number }
  | { kind: 'duplicate-keys'; value: JsonLike; extra: JsonLike }
  | { kind: 'bom'; value: JsonLike }
  | { kind: 'utf16'; value: JsonLike }
  | { kind: 'oversized'; value: JsonLike; padBytes: number }
  | { kind: 'deep'; depth: number; open: '[' | '{"a":' }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'empty' };

/**
 * Bodies around a JSON value: mostly the value itself (mutated by `valueArbitrary`), then truncated,
 * with duplicate keys, a BOM, UTF-16, padded past `oversizeBytes`, nested thousands deep, plain
 * text, random bytes and nothing at all.
 */
export function bodyPlan(valueArbitrary: fc.Arbitrary<JsonLike>, options: { oversizeBytes: number }): fc.Arbitrary<BodyPlan> {
  return fc.oneof(
    { weight: 20, arbitrary: valueArbitrary.map((value) => ({ kind: 'json' as const, value })) },
    { weight: 2, arbitrary: fc.tuple(valueArbitrary, fc.nat()).map(([value, keep]) => ({ kind: 'truncated' as const, value, keep })) },
    { weight: 1, arbitrary: fc.tuple(valueArbitrary, hostileValue).map(([value, extra]) => ({ kind: 'duplicate-keys' as const, value, extra })) },
    { weight: 1, arbitrary: valueArbitrary.map((value) => ({ kind: 'bom' as const, value })) },
    { weight: 1, arbitrary: valueArbitrary.map((value) => ({ kind: 'utf16' as const, value })) },
    {
      weight: 1,
      arbitrary: fc.tuple(valueArbitrary, fc.integer({ min: 1, max: 4096 })).map(([value, extra]) => ({ kind: 'oversized' as const, value, padBytes: options.oversizeBytes + extra })),
    },
    { weight: 1, arbitrary: fc.record({ depth: fc.integer({ min: 1_000, max: 100_000 }), open: fc.constantFrom('[' as const, '{"a":' as const) }).map((plan) => ({ kind: 'deep' as const, ...plan })) },
    { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('undefined', 'NaN', "{'a':1}", '{"a":1', '[1,]', '{"a":01}', '"\\ud800"', 'a=1&b=2')).map((text) => ({ kind: 'text' as const, text })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  );
}

/** The bytes of a body plan; `undefined` for no body at all. */
export function bodyBytes(plan: BodyPlan): Buffer | undefined {
  switch (plan.kind) {
    case 'json':
      return Buffer.from(jsonText(plan.value), 'utf8');
    case 'truncated': {
      const text = jsonText(plan.value);
      return Buffer.from(text.slice(0, plan.keep % Math.max(1, text.length)), 'utf8');
    }
    case 'duplicate-keys': {
      const text = jsonText(plan.value);
      if (!text.startsWith('{') || text === '{}') return Buffer.from(text, 'utf8');
      const firstKey = /^\{("(?:[^"\\]|\\.)*"):/.exec(text)?.[1] ?? '"a"';
      return Buffer.from(`${text.slice(0, -1)},${firstKey}:${jsonText(plan.extra)}}`, 'utf8');
    }
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(jsonText(plan.value), 'utf8')]);
    case 'utf16':
      return Buffer.from(jsonText(plan.value), 'utf16le');
    case 'oversized': {
      const text = jsonText(plan.value);
      const padding = JSON.stringify('x'.repeat(plan.padBytes));
      return Buffer.from(text.startsWith('{') && text !== '{}' ? `{"padding":${padding},${text.slice(1)}` : `{"padding":${padding},"value":${text}}`, 'utf8');
    }
    case 'deep':
      return Buffer.from(`${plan.open.repeat(plan.depth)}1${(plan.open === '[' ? ']' : '}').repeat(plan.depth)}`, 'utf8');
    case 'text':
      return Buffer.from(plan.text, 'utf8');
    case 'bytes':
      return Buffer.from(plan.bytes);
    case 'empty':
      return undefined;
  }
}

/** The body as text, for labels and signing (bytes that are not UTF-8 come out replaced). */
export function bodyPreview(bytes: Buffer | undefined, max = 300): string {
  if (!bytes) return '(no body)';
  const text = bytes.toString('utf8');
  return text.length > max ? `${text.slice(0, max)}… (${bytes.length} bytes)` : text;
}

// ---- headers ----

/** Characters Node lets a header value carry (tab, visible ASCII, Latin-1): what any client can send. */
const headerChar = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xff }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constant('\t') },
);
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: headerChar, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 4_000 }).map((length) => 'x'.repeat(length)) },
);

/**
 * Node's HTTP parser answers 431 itself, before any function runs, once the request line and
 * headers pass 16 KiB (Google's front end has its own limit in production). Long values are cut so
 * the headers stay below 8 KiB and paths below 6 KiB: what the fuzz tests is our code, not Node's parser.
 */
export const MAX_HEADER_BYTES = 8 * 1024;

export function boundedHeaders(headers: Record<string, string>): Record<string, string> {
  let budget = MAX_HEADER_BYTES;
  const bounded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const kept = value.slice(0, Math.max(0, budget - name.length - 4));
    budget -= name.length + 4 + kept.length;
    bounded[name] = kept;
  }
  return bounded;
}

/** Content types: the right one mostly, then parameters, near misses, other types and none. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 16, arbitrary: fc.constant('application/json') },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON; Charset=UTF-8',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json;charset=koi8-r',
      'application/json; boundary=x',
      'application/cloudevents+json',
      'application/vnd.api+json',
      'text/plain',
      'text/plain; charset=iso-8859-1',
      'text/plain; charset=x-unknown',
      'text/html',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-16',
      'multipart/form-data; boundary=----x',
      'application/octet-stream',
      '*/*',
      '',
      'json',
      'application/',
    ),
  },
  { weight: 2, arbitrary: headerValue },
  { weight: 2, arbitrary: fc.constant(undefined) },
);

/** Content-Encoding: none mostly; real gzip of the body; encodings the body does not have; unknown ones. */
export const contentEncoding: fc.Arbitrary<'gzip-real' | string | undefined> = fc.oneof(
  { weight: 20, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('gzip-real') },
  { weight: 2, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, gzip', 'GZIP') },
);

/** Applies a generated Content-Encoding to the body bytes (`gzip-real` compresses them for real). */
export function encodeBody(bytes: Buffer | undefined, encoding: string | undefined): { bytes: Buffer | undefined; header: string | undefined } {
  if (encoding === 'gzip-real') return { bytes: gzipSync(bytes ?? Buffer.alloc(0)), header: 'gzip' };
  return { bytes, header: encoding };
}

/** Extra headers a hostile or sloppy client adds: proxies, tracing, cookies, random names. */
export const noiseHeaders: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), headerValue, fc.constant('1.2.3.4, 5.6.7.8, ::1')),
      'x-forwarded-prefix': fc.oneof(fc.constantFrom('/a', '/../x', '//', '/a b'), headerValue),
      'user-agent': headerValue,
      traceparent: fc.oneof(fc.constantFrom('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '00-zz-zz-zz', 'ff-ffffffffffffffffffffffffffffffff-ffffffffffffffff-ff'), headerValue),
      'x-cloud-trace-context': fc.oneof(fc.constantFrom('105445aa7843bc8bf206b12000100000/1;o=1', '/;o=', 'abc/-1;o=9'), headerValue),
      cookie: fc.oneof(fc.constantFrom('__Secure-pgp_refresh=', '__Secure-pgp_refresh=%zz', 'a=b; a=c', '=;;=;'), headerValue),
      accept: headerValue,
      'accept-language': headerValue,
      'sec-fetch-site': fc.constantFrom('same-origin', 'cross-site', 'none', 'x'),
      'x-request-id': headerValue,
    },
    { requiredKeys: [] },
  )
  .chain((known) =>
    fc
      .dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,16}$/), headerValue, { maxKeys: 3 })
      .map((random) => ({ ...random, ...known })),
  );

// ---- methods, paths, queries ----

/** Every method Node's HTTP parser accepts, except CONNECT (a tunnel, not a request). */
export const anyMethod = fc.constantFrom(...http.METHODS.filter((method) => method !== 'CONNECT'));

/** `expected` mostly, any other method sometimes. */
export function methodFor(expected: string): fc.Arbitrary<string> {
  return fc.oneof({ weight: 9, arbitrary: fc.constant(expected) }, { weight: 1, arbitrary: anyMethod });
}

const pathChar = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~') },
  { weight: 2, arbitrary: fc.constantFrom(...'!$&\'()*+,;=:@') },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }).map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%z', '%E0%A4%A', '%C0%AF', '%ED%A0%80') },
);
/**
 * One path segment as a client could send it: percent-escapes valid or not. Raw bytes above 0x7e are
 * left out: Node's HTTP parser refuses them with its own 400 before any function runs.
 */
export const pathSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: pathChar, minLength: 1, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', '', 'favicon.ico', 'robots.txt', '%2e%2e', '%2F') },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 1_500 }).map((length) => 'a'.repeat(length)) },
);

/** Percent-encodes the UTF-8 bytes of `text` (a lone surrogate becomes U+FFFD, where encodeURIComponent throws). */
export function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`)).join('');
}

/** A query string (with its `?`), or ''. Keys given are used most, so validators see them. */
export function queryString(keys: readonly string[], value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const key = keys.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }) : fc.string({ maxLength: 8 });
  const pair = fc.tuple(key, value.map((text) => text.slice(0, 400)), fc.boolean()).map(([k, v, isRaw]) => (isRaw ? `${k.replace(/[^\x21-\x7e]/g, '')}=${v.replace(/[^\x21-\x7e]/g, '')}` : `${percentEncode(k)}=${percentEncode(v)}`));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    { weight: 3, arbitrary: fc.array(pair, { minLength: 1, maxLength: 5 }).map((pairs) => `?${pairs.join('&')}`) },
    { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?a', '?a=%zz', '?%E0%A4%A=1', '?__proto__[x]=1', '?a[]=1&a[]=2', '?constructor=1') },
  );
}

/**
 * `path` below a function's mount, with `/x` in front when its dot segments (`..`, `%2e%2e`) would
 * climb above the mount: locally one host serves every function under `/<name>` and resolves them
 * first, where in production the function's service is the whole origin.
 */
export function keepInsideMount(path: string): string {
  const isInside = (candidate: string) => {
    const pathname = new URL(`/mount${candidate.startsWith('/') || candidate.startsWith('?') || candidate === '' ? candidate : `/${candidate}`}`, 'http://host').pathname;
    return pathname === '/mount' || pathname.startsWith('/mount/');
  };
  let kept = path;
  // Each `/x` absorbs one `..`; a path has fewer of those than characters.
  for (let guard = 0; !isInside(kept) && guard <= path.length; guard++) kept = `/x${kept}`;
  return kept;
}

/** Loopback addresses the requests leave from (Linux routes 127/8 to lo): each is another client IP. */
export const clientAddress: fc.Arbitrary<string> = fc.integer({ min: 2, max: 40 }).map((host) => `127.0.0.${host}`);
