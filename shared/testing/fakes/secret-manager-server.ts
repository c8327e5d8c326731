import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Secret Manager's public REST API (v1), enough for the official client
 * (`@google-cloud/secret-manager`) on its REST transport to create secrets, add, access, disable
 * and destroy versions, and move version aliases and annotations:
 *
 *   POST   /v1/projects/{p}/secrets?secretId={s}             create (body: Secret)
 *   GET    /v1/projects/{p}/secrets/{s}                      get
 *   PATCH  /v1/projects/{p}/secrets/{s}?updateMask=a,b       update versionAliases / annotations / labels
 *   POST   /v1/projects/{p}/secrets/{s}:addVersion           add (body: { payload: { data: base64 } })
 *   GET    /v1/projects/{p}/secrets/{s}/versions/{v}         get a version ({v}: number, `latest` or an alias)
 *   GET    /v1/projects/{p}/secrets/{s}/versions/{v}:access  access
 *   POST   /v1/projects/{p}/secrets/{s}/versions/{v}:disable | :enable | :destroy
 *
 * Errors are Google's JSON error (`{ error: { code, message, status } }`): 404 NOT_FOUND,
 * 409 ALREADY_EXISTS, 400 INVALID_ARGUMENT, 400 FAILED_PRECONDITION (a disabled or destroyed version).
 * `failNext(n)` answers the next n requests 503 UNAVAILABLE (an outage). `requests` counts calls by
 * method, so tests can assert caching. No authentication is checked.
 *
 * Connect the client with {@link secretManagerClientOptions}. The deploy tooling may speak to the
 * same server (`seed`, `secret` read state directly).
 */
export interface FakeSecretManager {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Creates (or replaces) a secret with these values as versions 1..n and the given aliases. */
  seed(project: string, secretId: string, values: string[], aliases?: Record<string, number>, annotations?: Record<string, string>): void;
  /** The stored state of one secret, for assertions. */
  secret(project: string, secretId: string): FakeSecret | undefined;
  /** Requests received, by operation (`get`, `access`, `addVersion`, `update`, `create`, …). */
  requests: Record<string, number>;
  failNext(count: number): void;
  close(): Promise<void>;
}

export interface FakeSecret {
  versions: { value: Buffer; state: 'ENABLED' | 'DISABLED' | 'DESTROYED'; createTime: string }[];
  aliases: Record<string, number>;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  createTime: string;
  etag: number;
}

/**
 * Options for `new SecretManagerServiceClient(…)` reaching the fake over plain HTTP with google-gax's
 * REST fallback (`fallback: true`, `apiEndpoint`, `port`, `protocol: 'http'`) and an auth client that
 * adds no credentials (google-gax calls its `getRequestHeaders` and `fetch`).
 */
export function secretManagerClientOptions(server: { port: number }): Record<string, unknown> {
  return {
    fallback: true,
    apiEndpoint: '127.0.0.1',
    port: server.port,
    protocol: 'http',
    authClient: {
      getRequestHeaders: async () => new Headers(),
      fetch: (url: string, init: { method?: string; headers?: Headers; body?: string | Buffer; signal?: AbortSignal }) =>
        fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal }),
    },
  };
}

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS', 503: 'UNAVAILABLE' };

class HttpFailure {
  constructor(
    readonly code: number,
    readonly message: string,
    readonly status = STATUS_NAMES[code] ?? 'UNKNOWN',
  ) {}
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** CRC32C (Castagnoli), as Secret Manager returns it in `payload.dataCrc32c` (int64 as a decimal string). */
function crc32c(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return String((crc ^ 0xffffffff) >>> 0);
}

/** Starts the fake on 127.0.0.1 (port 0 = any free port). */
export async function startFakeSecretManager(options: { port?: number; now?: () => Date } = {}): Promise<FakeSecretManager> {
  const now = options.now ?? (() => new Date());
  const secrets = new Map<string, FakeSecret>();
  const requests: Record<string, number> = {};
  let failures = 0;

  const secretJson = (name: string, secret: FakeSecret) => ({
    name,
    replication: { automatic: {} },
    createTime: secret.createTime,
    labels: secret.labels,
    annotations: secret.annotations,
    versionAliases: Object.fromEntries(Object.entries(secret.aliases).map(([alias, version]) => [alias, String(version)])),
    etag: `"${secret.etag}"`,
  });
  const versionJson = (name: string, number: number, secret: FakeSecret) => ({
    name: `${name}/versions/${number}`,
    createTime: secret.versions[number - 1]!.createTime,
    state: secret.versions[number - 1]!.state,
    replicationStatus: { automatic: {} },
    etag: `"1"`,
  });
  const find = (name: string) => {
    const secret = secrets.get(name);
    if (!secret) throw new HttpFailure(404, `Secret [${name}] not found or has no versions.`);
    return secret;
  };
  const versionOf = (name: string, secret: FakeSecret, reference: string) => {
    const number = /^\d+$/.test(reference)
      ? Number(reference)
      : reference === 'latest'
        ? secret.versions.findLastIndex((version) => version.state === 'ENABLED') + 1
        : secret.aliases[reference];
    if (number === undefined || number < 1 || number > secret.versions.length) throw new HttpFailure(404, `Secret Version [${name}/versions/${reference}] not found.`);
    return number;
  };

  async function handle(request: IncomingMessage): Promise<unknown> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    const method = request.method ?? 'GET';
    const body = method === 'GET' ? '' : await readBody(request);
    const json = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    let match: RegExpExecArray | null;

    if ((match = /^\/v1\/(projects\/[^/]+)\/secrets$/.exec(path)) && method === 'POST') {
      count('create');
      const secretId = url.searchParams.get('secretId') ?? '';
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(secretId)) throw new HttpFailure(400, 'secretId is invalid');
      const name = `${match[1]}/secrets/${secretId}`;
      if (secrets.has(name)) throw new HttpFailure(409, `Secret [${name}] already exists.`);
      const secret: FakeSecret = { versions: [], aliases: {}, annotations: (json.annotations as Record<string, string>) ?? {}, labels: (json.labels as Record<string, string>) ?? {}, createTime: now().toISOString(), etag: 1 };
      secrets.set(name, secret);
      return secretJson(name, secret);
    }
    if ((match = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+):addVersion$/.exec(path)) && method === 'POST') {
      count('addVersion');
      const name = match[1]!;
      const secret = find(name);
      const data = (json.payload as { data?: string } | undefined)?.data;
      if (typeof data !== 'string') throw new HttpFailure(400, 'payload.data is required');
      secret.versions.push({ value: Buffer.from(data, 'base64'), state: 'ENABLED', createTime: now().toISOString() });
      return versionJson(name, secret.versions.length, secret);
    }
    if ((match = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)$/.exec(path))) {
      const name = match[1]!;
      const secret = find(name);
      if (method === 'GET') {
        count('get');
        return secretJson(name, secret);
      }
      if (method === 'PATCH') {
        count('update');
        const fields = (url.searchParams.get('updateMask') ?? '').split(',').filter((field) => field !== '');
        if (fields.length === 0) throw new HttpFailure(400, 'updateMask is required');
        for (const field of fields) {
          if (field === 'versionAliases' || field === 'version_aliases') {
            const aliases: Record<string, number> = {};
            for (const [alias, version] of Object.entries((json.versionAliases as Record<string, string | number>) ?? {})) {
              const number = Number(version);
              if (!Number.isSafeInteger(number) || number < 1 || number > secret.versions.length) throw new HttpFailure(400, `alias ${alias} names no version`);
              aliases[alias] = number;
            }
            secret.aliases = aliases;
          } else if (field === 'annotations') secret.annotations = (json.annotations as Record<string, string>) ?? {};
          else if (field === 'labels') secret.labels = (json.labels as Record<string, string>) ?? {};
          else throw new HttpFailure(400, `updateMask field ${field} is not supported by the fake`);
        }
        secret.etag++;
        return secretJson(name, secret);
      }
    }
    if ((match = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)\/versions\/([^/:]+)(?::(access|disable|enable|destroy))?$/.exec(path))) {
      const [, name, reference, verb] = match as unknown as [string, string, string, string | undefined];
      const secret = find(name);
      const number = versionOf(name, secret, reference);
      const version = secret.versions[number - 1]!;
      if (verb === undefined && method === 'GET') {
        count('getVersion');
        return versionJson(name, number, secret);
      }
      if (verb === 'access' && method === 'GET') {
        count('access');
        if (version.state !== 'ENABLED') throw new HttpFailure(400, `Secret Version [${name}/versions/${number}] is in ${version.state} state.`, 'FAILED_PRECONDITION');
        return { name: `${name}/versions/${number}`, payload: { data: version.value.toString('base64'), dataCrc32c: crc32c(version.value) } };
      }
      if (verb !== undefined && verb !== 'access' && method === 'POST') {
        count(verb);
        if (version.state === 'DESTROYED') throw new HttpFailure(400, 'The version is destroyed.', 'FAILED_PRECONDITION');
        version.state = verb === 'disable' ? 'DISABLED' : verb === 'enable' ? 'ENABLED' : 'DESTROYED';
        if (verb === 'destroy') version.value = Buffer.alloc(0);
        return versionJson(name, number, secret);
      }
    }
    throw new HttpFailure(404, `No route for ${method} ${path}`);
  }

  function count(operation: string): void {
    requests[operation] = (requests[operation] ?? 0) + 1;
  }

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const answer = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(payload));
    };
    if (failures > 0) {
      failures--;
      request.resume();
      answer(503, { error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } });
      return;
    }
    handle(request).then(
      (payload) => answer(200, payload),
      (error: unknown) => {
        const failure = error instanceof HttpFailure ? error : new HttpFailure(400, error instanceof Error ? error.message : 'bad request');
        answer(failure.code, { error: { code: failure.code, message: failure.message, status: failure.status } });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    seed(project, secretId, values, aliases = {}, annotations = {}) {
      const createTime = now().toISOString();
      secrets.set(`projects/${project}/secrets/${secretId}`, {
        versions: values.map((value) => ({ value: Buffer.from(value, 'utf8'), state: 'ENABLED' as const, createTime })),
        aliases: { ...aliases },
        annotations: { ...annotations },
        labels: {},
        createTime,
        etag: 1,
      });
    },
    secret: (project, secretId) => secrets.get(`projects/${project}/secrets/${secretId}`),
    failNext(count) {
      failures = count;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
