import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Topology } from '../bus/topology.js';
import { bundleContents } from './bundle-inputs.js';
import { type FunctionDeploySettings, secretIdFor } from './deployment-plan.js';

/**
 * What a function's code uses in production, read from the repository rather than declared twice:
 * `deploy.yaml` (secrets, env) and `pubsub-topics.yaml` (triggers), plus its bundle, the modules
 * `npm run build` ships after tree shaking:
 * - **database**: it is given `DATABASE_URL` and its bundle contains `shared/db`;
 * - **firestore**: its bundle contains a module, other than the shared runtime's and `kv/` itself,
 *   that takes the key-value store (the bot's sessions, the dashboard's rate limits, account
 *   lockouts), or its wrapper runs deliveries under a lease (`exclusiveKey`, kept in the store);
 * - **publishes**: the topics its shipped code queues (`enqueueMessage(tx, 'topic', …)`,
 *   `outboxMessage('topic', …)`, `outboxInsertSql('topic', …)`; a topic held in a variable counts every topic named in the same
 *   file's shipped code), and every outbox topic when it relays the whole outbox (`relayOutbox`
 *   without `only`). Topics are read from the tree-shaken bundle, so a helper imported from a
 *   module that also queues does not count. A topic the derivation missed would fail that
 *   publish (PERMISSION_DENIED, logged) and leave the row to `relay-outbox`, which may publish
 *   everywhere; function-access.test.ts keeps variable topics named beside their call.
 */
export interface FunctionUses {
  name: string;
  secrets: string[];
  database: boolean;
  firestore: boolean;
  publishes: string[];
  /** Topics whose messages it receives (Eventarc triggers). */
  subscribes: string[];
  /**
   * Secrets it reads at run time through Secret Manager's version aliases (`SECRETS_SOURCE` in its
   * env, and `<NAME>_PREVIOUS` beside `<NAME>`): reading the aliases and the overlap end needs the
   * secret's metadata, so `secretmanager.viewer` on each of these too.
   */
  rotatingSecrets?: string[];
}

// esbuild may suffix a renamed binding (enqueueMessage2) and prints strings with double quotes.
const QUEUED_LITERAL = /\b(?:enqueueMessage\d*\(\s*[\w$]+\s*,|outboxMessage\d*\(|outboxInsertSql\d*\()\s*["']([a-z][a-z0-9-]+)["']/g;
const QUEUED_VARIABLE = /\b(?:enqueueMessage\d*\(\s*[\w$]+\s*,|outboxMessage\d*\()\s*[A-Za-z_$][\w$.]*\s*,/;
const RELAYS_EVERYTHING = /\brelayOutbox\d*\(\s*[\w$]+\s*(?:,\s*\{(?![^}]*\bonly\b)[^}]*\})?\s*\)/;
const STRING_LITERAL = /["']([a-z][a-z0-9-]+)["']/g;
const KEY_VALUE_IMPORT = /from\s+'(?:\.\.\/)+kv\/index\.js'/;
/** Modules that carry the store for others: bundled into every function, using it only on request. */
const KEY_VALUE_CARRIERS = [/^shared\/kv\//, /^shared\/runtime\//, /^shared\/pubsub-entry\/consume\.ts$/];

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/**
 * Derives `FunctionUses` from a bundle: `sources` are the bundled source files' texts, `shipped` the
 * bundle's code per file after tree shaking (`file` relative to the root, `/`-separated).
 */
export function usesFromSources(input: {
  name: string;
  settings: FunctionDeploySettings;
  topology: Topology;
  sources: { file: string; text: string }[];
  shipped: { file: string; code: string }[];
}): FunctionUses {
  const outboxTopics = input.topology.topics.filter((topic) => topic.schemaFile).map((topic) => topic.name);
  const known = new Set(input.topology.topics.map((topic) => topic.name));
  const publishes = new Set<string>();
  let database = false;
  let firestore = false;
  for (const source of input.sources) {
    const text = withoutComments(source.text);
    if (source.file.startsWith('shared/db/')) database = true;
    if (KEY_VALUE_IMPORT.test(text) && !KEY_VALUE_CARRIERS.some((carrier) => carrier.test(source.file))) firestore = true;
    if (source.file === `functions/${input.name}/index.ts` && /\bexclusiveKey\s*:/.test(text)) firestore = true;
  }
  for (const section of input.shipped) {
    const code = withoutComments(section.code);
    for (const match of code.matchAll(QUEUED_LITERAL)) if (known.has(match[1]!)) publishes.add(match[1]!);
    if (QUEUED_VARIABLE.test(code) && section.file !== 'shared/bus/outbox.ts') {
      for (const match of code.matchAll(STRING_LITERAL)) if (outboxTopics.includes(match[1]!)) publishes.add(match[1]!);
    }
    if (RELAYS_EVERYTHING.test(code)) for (const topic of outboxTopics) publishes.add(topic);
  }
  return {
    name: input.name,
    secrets: [...input.settings.secrets],
    database: database && input.settings.secrets.includes('DATABASE_URL'),
    firestore,
    publishes: [...publishes].sort(),
    subscribes: input.topology.subscriptions.filter((subscription) => subscription.function === input.name).map((subscription) => subscription.topic),
    rotatingSecrets: rotatingSecretsOf(input.settings),
  };
}

/** The secrets a function reads with their previous value through Secret Manager when `SECRETS_SOURCE` says so. */
export function rotatingSecretsOf(settings: Pick<FunctionDeploySettings, 'secrets' | 'env'>): string[] {
  if (!settings.env.includes('SECRETS_SOURCE')) return [];
  return settings.secrets.filter((variable) => settings.secrets.includes(`${variable}_PREVIOUS`));
}

/** `usesFromSources` over the function's real bundle (esbuild, nothing written; about a second each). */
export async function deriveFunctionUses(input: { root: string; name: string; settings: FunctionDeploySettings; topology: Topology }): Promise<FunctionUses> {
  const bundle = await bundleContents(input.root, input.name);
  const sources = bundle.files.filter((file) => !file.startsWith('node_modules/')).map((file) => ({ file, text: readFileSync(path.join(input.root, file), 'utf8') }));
  return usesFromSources({ ...input, sources, shipped: bundle.sections });
}

/** One IAM grant: `resource` is `project`, `topic/<name>`, `secret/<id>` or `run-service/<name>`. */
export interface Grant {
  member: string;
  role: string;
  resource: string;
}

export const functionServiceAccount = (name: string): string => `fn-${name}`.slice(0, 30);
export const serviceAccountEmail = (account: string, projectId: string): string => `${account}@${projectId}.iam.gserviceaccount.com`;
/** The identity Eventarc (and Scheduler's HTTP jobs) use to invoke private functions. */
export const INVOKER_ACCOUNT = 'eventarc-invoker';

/** Exactly the grants a function's service account gets: nothing it does not use. */
export function grantsOf(uses: FunctionUses, projectId: string): Grant[] {
  const member = `serviceAccount:${serviceAccountEmail(functionServiceAccount(uses.name), projectId)}`;
  const grants: Grant[] = [];
  if (uses.database) grants.push({ member, role: 'roles/cloudsql.client', resource: 'project' });
  if (uses.firestore) grants.push({ member, role: 'roles/datastore.user', resource: 'project' });
  for (const variable of uses.secrets) grants.push({ member, role: 'roles/secretmanager.secretAccessor', resource: `secret/${secretIdFor(variable)}` });
  for (const variable of uses.rotatingSecrets ?? []) grants.push({ member, role: 'roles/secretmanager.viewer', resource: `secret/${secretIdFor(variable)}` });
  for (const topic of uses.publishes) grants.push({ member, role: 'roles/pubsub.publisher', resource: `topic/${topic}` });
  return grants;
}

/** The invoker's grants: `run.invoker` on every function something pushes to. */
export function invokerGrants(uses: FunctionUses[], projectId: string): Grant[] {
  const member = `serviceAccount:${serviceAccountEmail(INVOKER_ACCOUNT, projectId)}`;
  return uses.filter((use) => use.subscribes.length > 0).map((use) => ({ member, role: 'roles/run.invoker', resource: `run-service/${use.name}` }));
}
