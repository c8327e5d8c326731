import { secretsError } from './errors.js';

/**
 * The part of Secret Manager rotation needs, in our words: a secret's aliases (alias → version
 * number) and annotations, a version's value, adding a version, moving aliases. Secret ids are
 * short (`jwt-secret`); the adapter adds `projects/<project>/secrets/`.
 */
export interface SecretStore {
  describe(secretId: string): Promise<{ aliases: Record<string, number>; annotations: Record<string, string> }>;
  access(secretId: string, version: number): Promise<string>;
  /** Adds a version holding `value`; returns its number. */
  addVersion(secretId: string, value: string): Promise<number>;
  /** Replaces the secret's aliases and annotations with these (other fields unchanged). */
  update(secretId: string, change: { aliases: Record<string, number>; annotations: Record<string, string> }): Promise<void>;
}

export interface SecretManagerStoreOptions {
  projectId: string;
  /**
   * Passed to `SecretManagerServiceClient` as they are; unset in production (gRPC, Application
   * Default Credentials). Tests use the REST transport against a local server:
   * `{ fallback: true, apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient }`.
   */
  clientOptions?: Record<string, unknown>;
  /** Bound on each call, retries included, milliseconds. Default 5000: a request waiting on a secret must still answer in time. */
  timeoutMs?: number;
}

/** `projects/p/secrets/s/versions/7` → 7. */
function versionNumberOf(name: string | null | undefined): number {
  const number = Number(/\/versions\/(\d+)$/.exec(name ?? '')?.[1]);
  if (!Number.isSafeInteger(number)) throw secretsError('secret_unavailable', 'Secret Manager answered without a version number');
  return number;
}

/** Secret Manager's own failure as ours: unreachable or refused, retried by whoever called. */
function toSecretsError(secretId: string, error: unknown): never {
  throw secretsError('secret_unavailable', `Secret Manager refused or did not answer for ${secretId}`, { secretId }, error);
}

/**
 * The production `SecretStore` on `@google-cloud/secret-manager`, loaded on first use so the
 * functions that keep their secrets in the environment never load the client.
 */
export function createSecretManagerStore(options: SecretManagerStoreOptions): SecretStore {
  type Client = import('@google-cloud/secret-manager').SecretManagerServiceClient;
  let client: Promise<Client> | undefined;
  // Started and awaited here, not inside the first call: the library starts the stub there and
  // rethrows a failure (credentials) where nothing catches it, an unhandled rejection that the
  // Functions Framework answers with a 500, and keeps the failed stub. A client that failed to
  // start is dropped, so the next read starts a new one.
  const clientOf = () => {
    client ??= import('@google-cloud/secret-manager').then(async ({ SecretManagerServiceClient }) => {
      const started = new SecretManagerServiceClient(options.clientOptions as ConstructorParameters<typeof SecretManagerServiceClient>[0]);
      await started.initialize();
      return started;
    });
    client.catch(() => {
      client = undefined;
    });
    return client;
  };
  const startedClient = (secretId: string) => clientOf().catch((error: unknown) => toSecretsError(secretId, error));
  const secretName = (secretId: string) => `projects/${options.projectId}/secrets/${secretId}`;
  const call = { timeout: options.timeoutMs ?? 5_000 };

  return {
    async describe(secretId) {
      const [secret] = await (await startedClient(secretId)).getSecret({ name: secretName(secretId) }, call).catch((error: unknown) => toSecretsError(secretId, error));
      const aliases: Record<string, number> = {};
      for (const [alias, version] of Object.entries(secret.versionAliases ?? {})) aliases[alias] = Number(String(version));
      return { aliases, annotations: { ...(secret.annotations ?? {}) } };
    },
    async access(secretId, version) {
      const [answer] = await (await startedClient(secretId))
        .accessSecretVersion({ name: `${secretName(secretId)}/versions/${version}` }, call)
        .catch((error: unknown) => toSecretsError(secretId, error));
      const data = answer.payload?.data;
      return typeof data === 'string' ? data : Buffer.from(data ?? new Uint8Array()).toString('utf8');
    },
    async addVersion(secretId, value) {
      const [version] = await (await startedClient(secretId))
        .addSecretVersion({ parent: secretName(secretId), payload: { data: Buffer.from(value, 'utf8') } }, call)
        .catch((error: unknown) => toSecretsError(secretId, error));
      return versionNumberOf(version.name);
    },
    async update(secretId, change) {
      await (await startedClient(secretId))
        .updateSecret({
          secret: { name: secretName(secretId), versionAliases: change.aliases, annotations: change.annotations },
          updateMask: { paths: ['version_aliases', 'annotations'] },
        }, call)
        .catch((error: unknown) => toSecretsError(secretId, error));
    },
  };
}
