import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Topology } from '../bus/topology.js';
import type { ApplyContext, DeployPart, DeployStep, StepOutcome } from './deploy-step.js';
import type { DeployTarget, FunctionDeploySettings } from './deployment-plan.js';
import { deployError } from './errors.js';
import { deriveFunctionUses, type FunctionUses, grantsOf } from './function-access.js';
import { databaseSteps, type DatabaseSpec } from './steps-database.js';
import { firestoreSteps } from './steps-firestore.js';
import { functionSteps } from './steps-functions.js';
import { hostingSteps } from './steps-hosting.js';
import { telegramSteps } from './steps-telegram.js';
import { apiSteps, projectRoleSteps, serviceAccountSteps } from './steps-project.js';
import { pubsubSubscriptionSteps, pubsubTopicSteps } from './steps-pubsub.js';
import { schedulerSteps } from './steps-scheduler.js';
import { secretSteps, secretVersionStep } from './steps-secrets.js';

export const DEPLOY_PARTS: readonly DeployPart[] = ['apis', 'service-accounts', 'iam', 'secrets', 'database', 'firestore', 'pubsub', 'functions', 'scheduler', 'hosting', 'telegram', 'monitoring'];

export interface DeployPlanInput {
  root: string;
  topology: Topology;
  /** What each function uses (`deriveAllUses`), in deploy order. */
  uses: FunctionUses[];
  settings: (name: string) => FunctionDeploySettings;
  target: DeployTarget;
  database: DatabaseSpec;
  /** The operator's file of plain variables, relative to the root (default deploy.env.yaml). */
  envFile?: string;
  /** `--secret ID --from-file F | --from-stdin`: one secret value to add. */
  secretValue?: { secretId: string; source: string; read: () => Promise<Buffer> };
  /** `--force`: call setWebhook even when Telegram already has the URL (after a secret rotation). */
  forceWebhook?: boolean;
  /** Steps other modules contribute (monitoring), run last. */
  extraSteps?: DeployStep[];
}

/** `deriveFunctionUses` for every function, a few at a time (each is an esbuild run). */
export async function deriveAllUses(input: { root: string; topology: Topology; functions: string[]; settings: (name: string) => FunctionDeploySettings }): Promise<FunctionUses[]> {
  const uses: FunctionUses[] = [];
  for (let start = 0; start < input.functions.length; start += 4) {
    const batch = input.functions.slice(start, start + 4);
    uses.push(...(await Promise.all(batch.map((name) => deriveFunctionUses({ root: input.root, name, settings: input.settings(name), topology: input.topology })))));
  }
  return uses;
}

/**
 * Every step of a deploy, in the order they must run: APIs, service accounts and their project
 * roles, secrets, Cloud SQL and migrations, Firestore, topics (before the triggers that need them),
 * functions, the subscriptions' policies (Eventarc creates the subscriptions), Scheduler, Hosting
 * (its rewrites need the functions), Telegram's webhook, then monitoring.
 */
export function buildDeploySteps(input: DeployPlanInput): DeployStep[] {
  const { projectId, region } = input.target;
  const cloudSqlInstance = input.target.cloudSqlInstance ?? input.database.connectionName;
  const readText = (file: string) => readFileSync(path.join(input.root, file), 'utf8');
  const steps: DeployStep[] = [
    ...apiSteps(projectId),
    ...serviceAccountSteps(
      input.uses.map((use) => use.name),
      projectId,
    ),
    ...projectRoleSteps(input.uses, (use) => grantsOf(use, projectId), projectId),
    ...secretSteps({ uses: input.uses, projectId }),
    ...(input.secretValue ? [secretVersionStep({ projectId, ...input.secretValue })] : []),
    ...databaseSteps({ ...input.database, connectionName: cloudSqlInstance }, projectId),
    ...firestoreSteps({ root: input.root, projectId, region }),
    ...pubsubTopicSteps({ topology: input.topology, uses: input.uses, projectId, schemaText: readText }),
    ...input.uses.flatMap((uses) =>
      functionSteps({ root: input.root, projectId, region, uses, settings: input.settings(uses.name), cloudSqlInstance, envFile: input.envFile ?? 'deploy.env.yaml' }),
    ),
    ...pubsubSubscriptionSteps({ topology: input.topology, projectId }),
    ...schedulerSteps({ jobs: input.topology.schedulerJobs, projectId, region }),
    ...hostingSteps({ root: input.root, projectId, region }),
    ...(input.uses.some((use) => use.name === 'telegram-webhook') ? telegramSteps({ projectId, region, force: input.forceWebhook }) : []),
    ...(input.extraSteps ?? []),
  ];
  const ids = new Set<string>();
  for (const step of steps) {
    if (ids.has(step.id)) throw deployError('invalid_deploy_settings', `two deploy steps share the id ${step.id}`);
    ids.add(step.id);
  }
  return steps;
}

/** The steps of one part (`--only`), or all. */
export function selectSteps(steps: DeployStep[], only?: string): DeployStep[] {
  if (only === undefined) return steps;
  if (!DEPLOY_PARTS.includes(only as DeployPart)) throw deployError('deploy_unknown_part', `--only ${only}: the parts are ${DEPLOY_PARTS.join(', ')}`);
  return steps.filter((step) => step.part === only);
}

/** The printed plan: per part, each step's summary and its exact commands (client-library steps have none). */
export function renderPlan(steps: DeployStep[], target: DeployTarget): string {
  const lines = [`# Deploy plan for project ${target.projectId}, region ${target.region}: ${steps.length} step${steps.length === 1 ? '' : 's'}. Nothing was changed; --apply carries it out.`];
  let part: DeployPart | undefined;
  for (const step of steps) {
    if (step.part !== part) {
      part = step.part;
      lines.push('', `## ${part}`);
    }
    lines.push(`[${step.id}] ${step.summary}`);
    for (const command of step.commands) lines.push(`    ${command}`);
  }
  lines.push(
    '',
    '## by hand',
    'NowPayments: in the dashboard (Store settings) set the IPN secret to the value of secret nowpayments-ipn-secret; each invoice carries its IPN URL, PUBLIC_BASE_URL/nowpayments-ipn (deploy.env.yaml).',
  );
  return `${lines.join('\n')}\n`;
}

export interface ApplyReport {
  outcomes: { id: string; outcome: StepOutcome }[];
  counts: Record<StepOutcome, number>;
}

/**
 * Runs the steps in order with one progress line each (`[3/40] pubsub/topic/x … created`), then a
 * total; the first failure stops the run (its line says so) and is rethrown. Nothing after it
 * runs, and re-running resumes: every step reads the state before it acts.
 */
export async function applySteps(steps: DeployStep[], context: ApplyContext): Promise<ApplyReport> {
  const report: ApplyReport = { outcomes: [], counts: { created: 0, updated: 0, unchanged: 0 } };
  for (const [index, step] of steps.entries()) {
    const prefix = `[${index + 1}/${steps.length}] ${step.id}`;
    let outcome: StepOutcome;
    try {
      outcome = await step.apply(context);
    } catch (error) {
      context.log(`${prefix} … failed: ${(error as Error).message}`);
      throw error;
    }
    report.outcomes.push({ id: step.id, outcome });
    report.counts[outcome] += 1;
    context.log(`${prefix} … ${outcome}`);
  }
  const { created, updated, unchanged } = report.counts;
  context.log(created + updated === 0 ? `nothing changed: all ${unchanged} steps unchanged` : `${created} created, ${updated} updated, ${unchanged} unchanged`);
  return report;
}
