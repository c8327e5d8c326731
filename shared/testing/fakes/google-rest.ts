import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Cloud Scheduler and Secret Manager that speaks their public v1 REST shapes
 * (JSON field names as in the REST reference; bytes base64), for the client libraries' HTTP/REST
 * transport (`fallback: true`). Implements what the deploy uses: Scheduler jobs get / create /
 * patch; secrets get / create, versions add / list / access, getIamPolicy / setIamPolicy. State is
 * in memory; `requests` records each call (method and path, never a body) for assertions.
 */
export interface FakeGoogleRest {
  /** Client options for `new CloudSchedulerClient(...)` / `new SecretManagerServiceClient(...)`. */
  clientOptions: { fallback: true; apiEndpoint: string; port: number; protocol: 'http'; authClient: FakeAuthClient };
  jobs: Map<string, Record<string, unknown>>;
  secrets: Map<string, { secret: Record<string, unknown>; versions: { number: number; state: string; data: string; createTime: string }[]; policy: Record<string, unknown> }>;
  requests: string[];
  close(): Promise<void>;
}

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};
const notFound = (response: ServerResponse, what: string) => json(response, 404, { error: { code: 404, message: `${what} not found`, status: 'NOT_FOUND' } });

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** The client asks for numeric enums (`$alt=json;enum-encoding=int`); the fake keeps the REST reference's names. */
const HTTP_METHODS = ['HTTP_METHOD_UNSPECIFIED', 'POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
function withEnumNames(job: Record<string, unknown>): Record<string, unknown> {
  const target = job.httpTarget as { httpMethod?: unknown } | undefined;
  if (typeof target?.httpMethod === 'number') return { ...job, httpTarget: { ...target, httpMethod: HTTP_METHODS[target.httpMethod] } };
  return job;
}

/** Copies the masked fields (`updateMask=a,b.c`: top-level names suffice here) from `patch`. */
function applyMask(target: Record<string, unknown>, patch: Record<string, unknown>, mask: string | null): Record<string, unknown> {
  const fields = mask ? mask.split(',').map((path) => path.split('.')[0]!.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())) : Object.keys(patch);
  const next = { ...target };
  for (const field of fields) {
    if (patch[field] === undefined) delete next[field];
    else next[field] = patch[field];
  }
  return next;
}

/** Enough of google-auth-library's AuthClient for the REST transport: a fixed bearer token. */
interface FakeAuthClient {
  getRequestHeaders(): Promise<Headers>;
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
}

export async function startFakeGoogleRest(): Promise<FakeGoogleRest> {
  const jobs = new Map<string, Record<string, unknown>>();
  const secrets: FakeGoogleRest['secrets'] = new Map();
  const requests: string[] = [];
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const now = () => new Date((clock += 1000)).toISOString();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    const method = request.method ?? 'GET';
    requests.push(`${method} ${path}`);
    let match: RegExpMatchArray | null;

    // Cloud Scheduler v1
    if ((match = path.match(/^\/v1\/(projects\/[^/]+\/locations\/[^/]+)\/jobs$/)) && method === 'POST') {
      const job = withEnumNames(await readBody(request));
      const name = String(job.name ?? '');
      if (!name.startsWith(`${match[1]}/jobs/`)) return json(response, 400, { error: { code: 400, message: 'job name must be under the parent', status: 'INVALID_ARGUMENT' } });
      if (jobs.has(name)) return json(response, 409, { error: { code: 409, message: 'job exists', status: 'ALREADY_EXISTS' } });
      const stored = { ...job, state: 'ENABLED', userUpdateTime: now() };
      jobs.set(name, stored);
      return json(response, 200, stored);
    }
    if ((match = path.match(/^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/:]+)$/))) {
      const name = match[1]!;
      const current = jobs.get(name);
      if (!current) return notFound(response, `job ${name}`);
      if (method === 'GET') return json(response, 200, current);
      if (method === 'PATCH') {
        const stored = { ...applyMask(current, withEnumNames(await readBody(request)), url.searchParams.get('updateMask')), name, userUpdateTime: now() };
        jobs.set(name, stored);
        return json(response, 200, stored);
      }
    }

    // Secret Manager v1
    if ((match = path.match(/^\/v1\/(projects\/[^/]+)\/secrets$/)) && method === 'POST') {
      const secretId = url.searchParams.get('secretId') ?? '';
      const name = `${match[1]}/secrets/${secretId}`;
      if (secrets.has(name)) return json(response, 409, { error: { code: 409, message: 'secret exists', status: 'ALREADY_EXISTS' } });
      const secret = { ...(await readBody(request)), name, createTime: now() };
      secrets.set(name, { secret, versions: [], policy: { version: 1, etag: 'BwAAAA==' } });
      return json(response, 200, secret);
    }
    if ((match = path.match(/^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)(?::(addVersion|getIamPolicy|setIamPolicy))?$/))) {
      const entry = secrets.get(match[1]!);
      if (!entry) return notFound(response, `secret ${match[1]}`);
      const verb = match[2];
      if (!verb && method === 'GET') return json(response, 200, entry.secret);
      if (verb === 'addVersion' && method === 'POST') {
        const body = (await readBody(request)) as { payload?: { data?: string } };
        const version = { number: entry.versions.length + 1, state: 'ENABLED', data: body.payload?.data ?? '', createTime: now() };
        entry.versions.push(version);
        return json(response, 200, { name: `${match[1]}/versions/${version.number}`, state: 'ENABLED', createTime: version.createTime });
      }
      if (verb === 'getIamPolicy' && method === 'GET') return json(response, 200, entry.policy);
      if (verb === 'setIamPolicy' && method === 'POST') {
        const body = (await readBody(request)) as { policy?: Record<string, unknown> };
        entry.policy = { ...body.policy, version: 1, etag: Buffer.from(now()).toString('base64') };
        return json(response, 200, entry.policy);
      }
    }
    if ((match = path.match(/^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)\/versions$/)) && method === 'GET') {
      const entry = secrets.get(match[1]!);
      if (!entry) return notFound(response, `secret ${match[1]}`);
      const filter = url.searchParams.get('filter') ?? '';
      const versions = [...entry.versions]
        .reverse()
        .filter((version) => !/state:\s*ENABLED/i.test(filter) || version.state === 'ENABLED')
        .map((version) => ({ name: `${match![1]}/versions/${version.number}`, state: version.state, createTime: version.createTime }));
      return json(response, 200, { versions, totalSize: versions.length });
    }
    if ((match = path.match(/^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)\/versions\/([^/:]+):access$/)) && method === 'GET') {
      const entry = secrets.get(match[1]!);
      const wanted = match[2] === 'latest' ? entry?.versions.filter((version) => version.state === 'ENABLED').at(-1) : entry?.versions.find((version) => String(version.number) === match![2]);
      if (!entry || !wanted) return notFound(response, `version ${match[2]} of ${match[1]}`);
      return json(response, 200, { name: `${match[1]}/versions/${wanted.number}`, payload: { data: wanted.data } });
    }
    json(response, 404, { error: { code: 404, message: `no fake for ${method} ${path}`, status: 'NOT_FOUND' } });
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => json(response, 500, { error: { code: 500, message: String(error), status: 'INTERNAL' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const authClient: FakeAuthClient = {
    getRequestHeaders: async () => new Headers({ authorization: 'Bearer fake-token' }),
    fetch: (input, init) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), authorization: 'Bearer fake-token' } }),
  };
  return {
    clientOptions: { fallback: true, apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient },
    jobs,
    secrets,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
