import type { PubSub } from '@google-cloud/pubsub';
import type { CloudSchedulerClient } from '@google-cloud/scheduler';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { DeployTarget } from './deployment-plan.js';

/**
 * One unit of `npm run deploy`: a resource (or a small group) the deploy makes sure of. Plan mode
 * prints `summary` and `commands`; `--apply` calls `apply`, which reads the current state first and
 * creates, updates or leaves it, so a second apply reports every step unchanged.
 */
export type DeployPart =
  | 'apis'
  | 'service-accounts'
  | 'iam'
  | 'secrets'
  | 'database'
  | 'firestore'
  | 'pubsub'
  | 'functions'
  | 'scheduler'
  | 'hosting'
  | 'telegram'
  | 'monitoring';

export type StepOutcome = 'created' | 'updated' | 'unchanged';

export interface DeployStep {
  part: DeployPart;
  /** Stable and unique: `<part>/<kind>/<name>`, e.g. `pubsub/topic/payment-settled`. */
  id: string;
  /** What the step makes sure of, one line: the plan's entry and the progress line. */
  summary: string;
  /** The exact commands when the step shells out (printed in the plan); empty when a client library does it. */
  commands: string[];
  apply(context: ApplyContext): Promise<StepOutcome>;
}

/** Runs gcloud (or firebase) for the steps no client library serves; tests pass a recording fake. */
export interface CommandRunner {
  run(command: string, args: string[], options?: { input?: string }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

export interface ApplyContext {
  target: DeployTarget;
  commands: CommandRunner;
  /** One progress line; never pass a secret value. */
  log(line: string): void;
  /**
   * Client-library handles (`--apply` builds them from Application Default Credentials; tests point
   * them at the Pub/Sub emulator or the REST fakes). A step that needs one it lacks fails with
   * `deploy_client_missing`.
   */
  pubsub?: PubSub;
  scheduler?: CloudSchedulerClient;
  secrets?: SecretManagerServiceClient;
  /** For the Bot API (setWebhook) and the Hosting check; defaults to the global fetch. */
  fetch?: typeof fetch;
  /**
   * Where a push subscription goes when no subscription of the function exists yet (the emulator
   * and local runs). In production Eventarc creates it when the function deploys, so this is unset
   * and a missing one is an error that says so.
   */
  pushEndpointFor?: (functionName: string, topic: string) => string;
}
