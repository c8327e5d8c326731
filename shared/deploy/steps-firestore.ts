import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DeployStep, StepOutcome } from './deploy-step.js';
import { deployError } from './errors.js';
import { commandLine, describe, run } from './gcloud.js';

/** The TTL policies `firestore.indexes.json` declares (the key-value store's: kv_entries.expiresAt). */
export function ttlPolicies(root: string): { collectionGroup: string; fieldPath: string }[] {
  const file = JSON.parse(readFileSync(path.join(root, 'firestore.indexes.json'), 'utf8')) as { fieldOverrides?: { collectionGroup: string; fieldPath: string; ttl?: boolean }[] };
  return (file.fieldOverrides ?? []).filter((override) => override.ttl).map(({ collectionGroup, fieldPath }) => ({ collectionGroup, fieldPath }));
}

/** The Firestore database (native mode, in the region), its TTL policies and its security rules. */
export function firestoreSteps(input: { root: string; projectId: string; region: string }): DeployStep[] {
  const { projectId, region } = input;
  const create = ['firestore', 'databases', 'create', '--database=(default)', `--location=${region}`, '--type=firestore-native', `--project=${projectId}`];
  const rules = ['deploy', '--only', 'firestore:rules', `--project=${projectId}`, '--non-interactive'];
  return [
    {
      part: 'firestore',
      id: 'firestore/database/(default)',
      summary: `Firestore database (default), native mode, in ${region}`,
      commands: [commandLine('gcloud', create)],
      async apply(context): Promise<StepOutcome> {
        const current = await describe<{ type?: string; locationId?: string }>(context, ['firestore', 'databases', 'describe', '--database=(default)', `--project=${projectId}`]);
        if (!current) {
          await run(context, 'gcloud', create);
          return 'created';
        }
        if (current.type !== 'FIRESTORE_NATIVE') throw deployError('deploy_state_conflict', `the (default) Firestore database is ${current.type}, not native mode`);
        return 'unchanged';
      },
    },
    ...ttlPolicies(input.root).map(({ collectionGroup, fieldPath }): DeployStep => {
      const enable = ['firestore', 'fields', 'ttls', 'update', fieldPath, `--collection-group=${collectionGroup}`, '--enable-ttl', '--async', `--project=${projectId}`];
      return {
        part: 'firestore',
        id: `firestore/ttl/${collectionGroup}.${fieldPath}`,
        summary: `Firestore TTL policy on ${collectionGroup}.${fieldPath} (expired key-value entries are deleted, usually within a day)`,
        commands: [commandLine('gcloud', enable)],
        async apply(context) {
          const field = await describe<{ ttlConfig?: { state?: string } }>(context, ['firestore', 'fields', 'describe', fieldPath, `--collection-group=${collectionGroup}`, `--project=${projectId}`]);
          const state = field?.ttlConfig?.state;
          if (state === 'ACTIVE' || state === 'CREATING') return 'unchanged';
          await run(context, 'gcloud', enable);
          return state ? 'updated' : 'created';
        },
      };
    }),
    {
      part: 'firestore',
      id: 'firestore/rules/firestore.rules',
      summary: 'Firestore security rules from firestore.rules (no client access: only the functions, through IAM)',
      commands: [commandLine('firebase', rules)],
      async apply(context) {
        // The Firebase CLI compares the compiled rules with the released ones itself.
        const output = await run(context, 'firebase', rules);
        return /already up to date/i.test(output) ? 'unchanged' : 'updated';
      },
    },
  ];
}
