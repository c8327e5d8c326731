import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import * as z from 'zod';
import { deployError } from './errors.js';

/** `functions/<name>/deploy.yaml`: what a function needs in production. */
const FunctionDeploySettingsSchema = z.object({
  /** Environment variables read from Secret Manager (secret id = kebab-case of the name). */
  secrets: z.array(z.string().regex(/^[A-Z][A-Z0-9_]*$/)).default([]),
  /** Plain environment variables, by name (values come from the deploy environment file). */
  env: z.array(z.string().regex(/^[A-Z][A-Z0-9_]*$/)).default([]),
  /** HTTP functions only: allow unauthenticated callers (the three public entry points). */
  isPublic: z.boolean().default(false),
  memory: z.string().regex(/^\d+(Mi|Gi)$/).default('256Mi'),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
  minInstances: z.number().int().min(0).default(0),
  /** Requests one instance serves at once; ledger stages are written for one (keeps pools small and predictable). */
  concurrency: z.number().int().min(1).max(1000).default(1),
  maxInstances: z.number().int().min(1).default(10),
});
export type FunctionDeploySettings = z.infer<typeof FunctionDeploySettingsSchema>;

export interface DeployTarget {
  projectId: string;
  region: string;
  /** Cloud SQL instance connection name (PROJECT:REGION:INSTANCE) attached to the functions that use the database (socket form of DATABASE_URL). */
  cloudSqlInstance?: string;
}

export function readDeploySettings(root: string, name: string): FunctionDeploySettings {
  const file = path.join(root, 'functions', name, 'deploy.yaml');
  const raw = existsSync(file) ? parse(readFileSync(file, 'utf8')) : {};
  const parsed = FunctionDeploySettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw deployError('invalid_deploy_settings', `functions/${name}/deploy.yaml is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Secret Manager id for an environment variable: DATABASE_URL → database-url. */
export function secretIdFor(variable: string): string {
  return variable.toLowerCase().replaceAll('_', '-');
}

/**
 * Variables the plan sets on every function itself (not listed in deploy.yaml). NODE_ENV=production:
 * Express (inside the Functions Framework) otherwise answers a body it cannot parse with an HTML page
 * carrying the stack trace. DB_POOL_MAX=2: one request per instance (--concurrency=1) holds one
 * connection at a time; the second serves a read beside an open transaction. Connections =
 * instances × 2, not × 5.
 */
export function platformEnv(projectId: string): Record<string, string> {
  return { GOOGLE_CLOUD_PROJECT: projectId, NODE_ENV: 'production', DB_POOL_MAX: '2' };
}
