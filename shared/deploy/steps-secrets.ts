import { createHash } from 'node:crypto';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { DeployStep } from './deploy-step.js';
import { secretIdFor } from './deployment-plan.js';
import { deployError } from './errors.js';
import { type FunctionUses, functionServiceAccount, serviceAccountEmail } from './function-access.js';
import { need } from './gcloud.js';
import { withExactRole } from './iam-policy.js';

const NOT_FOUND = 5;
const isNotFound = (error: unknown) => (error as { code?: unknown } | null)?.code === NOT_FOUND;
const ACCESSOR = 'roles/secretmanager.secretAccessor';
const VIEWER = 'roles/secretmanager.viewer';

/** The newest ENABLED version's number of a secret ("7"), or undefined when it has none. */
export async function newestEnabledVersion(client: SecretManagerServiceClient, projectId: string, secretId: string): Promise<string | undefined> {
  const [versions] = await client.listSecretVersions({ parent: `projects/${projectId}/secrets/${secretId}`, filter: 'state:ENABLED' });
  const numbers = versions
    .filter((version) => version.state === 'ENABLED' || (version.state as unknown) === 1)
    .map((version) => Number(version.name?.split('/').pop()))
    .filter((number) => Number.isInteger(number));
  return numbers.length > 0 ? String(Math.max(...numbers)) : undefined;
}

/** The value of a secret's newest enabled version. Callers must never print or log it. */
export async function readSecretValue(client: SecretManagerServiceClient, projectId: string, secretId: string): Promise<Buffer> {
  const version = await newestEnabledVersion(client, projectId, secretId);
  if (!version) throw deployError('deploy_secret_missing', `secret ${secretId} has no enabled version: add one with npm run deploy -- --only secrets --secret ${secretId} --from-file <file>`);
  const [access] = await client.accessSecretVersion({ name: `projects/${projectId}/secrets/${secretId}/versions/${version}` });
  return Buffer.from((access.payload?.data as Uint8Array | undefined) ?? new Uint8Array());
}

/**
 * Every secret a function names in deploy.yaml: created when missing (automatic replication, no
 * value: values are added one by one with `--secret`), and `secretAccessor` on it for exactly the
 * functions that name it; `secretmanager.viewer` too for those reading it through its version
 * aliases (`rotatingSecrets`).
 */
export function secretSteps(input: { uses: FunctionUses[]; projectId: string }): DeployStep[] {
  const variables = [...new Set(input.uses.flatMap((use) => use.secrets))].sort();
  const steps: DeployStep[] = [];
  for (const variable of variables) {
    const secretId = secretIdFor(variable);
    const name = `projects/${input.projectId}/secrets/${secretId}`;
    const readers = input.uses.filter((use) => use.secrets.includes(variable)).map((use) => use.name);
    steps.push({
      part: 'secrets',
      id: `secrets/secret/${secretId}`,
      summary: `Secret ${secretId} (${variable}), automatic replication`,
      commands: [],
      async apply(context) {
        const client = need(context.secrets, 'Secret Manager');
        try {
          await client.getSecret({ name });
          return 'unchanged';
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        await client.createSecret({ parent: `projects/${input.projectId}`, secretId, secret: { replication: { automatic: {} } } });
        return 'created';
      },
    });
    steps.push(exactRoleStep({ id: `secrets/accessors/${secretId}`, name, role: ACCESSOR, readers, projectId: input.projectId }));
    const viewers = input.uses.filter((use) => use.rotatingSecrets?.includes(variable)).map((use) => use.name);
    if (viewers.length > 0) steps.push(exactRoleStep({ id: `secrets/viewers/${secretId}`, name, role: VIEWER, readers: viewers, projectId: input.projectId }));
  }
  return steps;
}

/** `role` on one secret for exactly these functions' service accounts (other members removed). */
function exactRoleStep(input: { id: string; name: string; role: string; readers: string[]; projectId: string }): DeployStep {
  return {
    part: 'secrets',
    id: input.id,
    summary: `${input.role} on ${input.name.split('/').pop()} for ${input.readers.join(', ')} only`,
    commands: [],
    async apply(context) {
      const client = need(context.secrets, 'Secret Manager');
      const members = input.readers.map((reader) => `serviceAccount:${serviceAccountEmail(functionServiceAccount(reader), input.projectId)}`);
      const [policy] = await client.getIamPolicy({ resource: input.name });
      const next = withExactRole(policy, input.role, members);
      if (!next) return 'unchanged';
      await client.setIamPolicy({ resource: input.name, policy: next });
      return policy.bindings?.some((binding) => binding.role === input.role) ? 'updated' : 'created';
    },
  };
}

/**
 * Adds a version to a secret from a file or stdin (`--secret ID --from-file F` / `--from-stdin`),
 * unless the newest enabled version already holds those bytes (compared by SHA-256 in memory). The
 * value is never printed: the summary names only the source.
 */
export function secretVersionStep(input: { projectId: string; secretId: string; source: string; read: () => Promise<Buffer> }): DeployStep {
  return {
    part: 'secrets',
    id: `secrets/version/${input.secretId}`,
    summary: `New version of secret ${input.secretId} from ${input.source} (skipped when the newest version holds the same value)`,
    commands: [],
    async apply(context) {
      const client = need(context.secrets, 'Secret Manager');
      const value = await input.read();
      if (value.length === 0) throw deployError('deploy_state_conflict', `the value for ${input.secretId} from ${input.source} is empty`);
      const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
      const current = await readSecretValue(client, input.projectId, input.secretId).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'deploy_secret_missing' || isNotFound(error)) return undefined;
        throw error;
      });
      if (current && digest(current) === digest(value)) return 'unchanged';
      await client.addSecretVersion({ parent: `projects/${input.projectId}/secrets/${input.secretId}`, payload: { data: value } });
      return current ? 'updated' : 'created';
    },
  };
}
