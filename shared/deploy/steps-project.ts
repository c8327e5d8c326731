import type { DeployStep, StepOutcome } from './deploy-step.js';
import { type FunctionUses, functionServiceAccount, type Grant, INVOKER_ACCOUNT, serviceAccountEmail } from './function-access.js';
import { commandLine, describe, run, sortedSet } from './gcloud.js';

/** Every Google API the deployment uses. */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'cloudscheduler.googleapis.com',
  'eventarc.googleapis.com',
  'firebase.googleapis.com',
  'firebasehosting.googleapis.com',
  'firebaserules.googleapis.com',
  'firestore.googleapis.com',
  'iam.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'secretmanager.googleapis.com',
  'sqladmin.googleapis.com',
] as const;

export function apiSteps(projectId: string): DeployStep[] {
  const list = ['services', 'list', '--enabled', `--project=${projectId}`];
  return [
    {
      part: 'apis',
      id: 'apis/services/enabled',
      summary: `Enable ${REQUIRED_APIS.length} APIs: ${REQUIRED_APIS.map((api) => api.replace('.googleapis.com', '')).join(', ')}`,
      commands: [commandLine('gcloud', [...list, '--format=json']), commandLine('gcloud', ['services', 'enable', ...REQUIRED_APIS, `--project=${projectId}`])],
      async apply(context) {
        const enabled = new Set(((await describe<{ config?: { name?: string } }[]>(context, list)) ?? []).map((service) => service.config?.name));
        const missing = REQUIRED_APIS.filter((api) => !enabled.has(api));
        if (missing.length === 0) return 'unchanged';
        await run(context, 'gcloud', ['services', 'enable', ...missing, `--project=${projectId}`]);
        return enabled.size === 0 ? 'created' : 'updated';
      },
    },
  ];
}

/** One service account per function, and the invoker identity Eventarc pushes with. */
export function serviceAccountSteps(functions: string[], projectId: string): DeployStep[] {
  const accounts = [
    { account: INVOKER_ACCOUNT, displayName: 'Eventarc invoker' },
    ...functions.map((name) => ({ account: functionServiceAccount(name), displayName: `PayGatePrime ${name}` })),
  ];
  return accounts.map(({ account, displayName }) => {
    const email = serviceAccountEmail(account, projectId);
    const create = ['iam', 'service-accounts', 'create', account, `--project=${projectId}`, `--display-name=${displayName}`];
    return {
      part: 'service-accounts',
      id: `service-accounts/account/${account}`,
      summary: `Service account ${email}`,
      commands: [commandLine('gcloud', create)],
      async apply(context): Promise<StepOutcome> {
        if (await describe(context, ['iam', 'service-accounts', 'describe', email, `--project=${projectId}`])) return 'unchanged';
        await run(context, 'gcloud', create);
        return 'created';
      },
    };
  });
}

interface ProjectPolicy {
  bindings?: { role: string; members?: string[]; condition?: unknown }[];
}

/**
 * A function's project-level roles, exactly: the ones its code needs (`grantsOf`) are added, any
 * other unconditional project role its service account holds is removed. Topic and secret grants
 * live on those resources (pubsub and secrets parts).
 */
export function projectRoleSteps(uses: FunctionUses[], grants: (use: FunctionUses) => Grant[], projectId: string): DeployStep[] {
  return uses.map((use) => {
    const member = `serviceAccount:${serviceAccountEmail(functionServiceAccount(use.name), projectId)}`;
    const roles = sortedSet(grants(use).filter((grant) => grant.resource === 'project').map((grant) => grant.role));
    const binding = (verb: 'add' | 'remove', role: string) => ['projects', `${verb}-iam-policy-binding`, projectId, `--member=${member}`, `--role=${role}`, '--condition=None'];
    return {
      part: 'iam',
      id: `iam/project-roles/${use.name}`,
      summary: `Project roles of ${functionServiceAccount(use.name)}: ${roles.length > 0 ? roles.join(', ') : 'none'} (no others)`,
      commands: [commandLine('gcloud', ['projects', 'get-iam-policy', projectId, '--format=json']), ...roles.map((role) => commandLine('gcloud', binding('add', role)))],
      async apply(context): Promise<StepOutcome> {
        const policy = (await describe<ProjectPolicy>(context, ['projects', 'get-iam-policy', projectId])) ?? {};
        const held = sortedSet((policy.bindings ?? []).filter((entry) => !entry.condition && entry.members?.includes(member)).map((entry) => entry.role));
        const missing = roles.filter((role) => !held.includes(role));
        const extra = held.filter((role) => !roles.includes(role));
        for (const role of missing) await run(context, 'gcloud', binding('add', role));
        for (const role of extra) await run(context, 'gcloud', binding('remove', role));
        if (missing.length === 0 && extra.length === 0) return 'unchanged';
        return held.length === 0 ? 'created' : 'updated';
      },
    };
  });
}
