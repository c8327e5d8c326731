/**
 * `npm run secrets -- rotate <jwt-secret | telegram-webhook-secret | nowpayments-ipn-secret>
 *   [--overlap <seconds>] [--value-file <path>] [--out <path>] [--project <id>] [--force]`
 *
 * Rotates a signing secret with an overlap (docs/security.md#secret-rotation). With
 * SECRETS_SOURCE=secret-manager: adds the new value as a version of the secret in GOOGLE_CLOUD_PROJECT
 * (or --project), moves the aliases (previous ← current, current ← new) and records when the
 * previous value stops verifying; the functions follow within 5 minutes, no redeploy. Otherwise
 * (env, the default): writes the new value to a file readable only by you (--out, default
 * ./<secret>.new) and prints the steps. The value is never printed. The IPN secret is made by
 * NowPayments: pass it with --value-file.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { recordSecretRotation, type SecretRotation } from '../shared/audit/index.js';
import { systemClock } from '../shared/clock/index.js';
import { openDatabase } from '../shared/db/index.js';
import { ConfigError, configVars, loadConfig } from '../shared/config/index.js';
import { AppError } from '../shared/errors/index.js';
import {
  createSecretManagerStore,
  DEFAULT_OVERLAP_SECONDS,
  environmentRotationSteps,
  generateSecretValue,
  keyIdOf,
  MAX_OVERLAP_SECONDS,
  rotateInSecretManager,
  rotatingSecretNamed,
  type SecretStore,
  secretIdOf,
} from '../shared/secrets/index.js';

const USAGE =
  'usage: npm run secrets -- rotate <jwt-secret | telegram-webhook-secret | nowpayments-ipn-secret> [--overlap <seconds>] [--value-file <path>] [--out <path>] [--project <id>] [--force]';

export interface SecretsCommandIo {
  env: NodeJS.ProcessEnv;
  print: (line: string) => void;
  now: () => Date;
  /** Replaces the Secret Manager client (tests). */
  store?: SecretStore;
  /** Writes the `secret.rotated` audit row (names and key ids only); absent without DATABASE_URL. */
  recordRotation?: (rotation: SecretRotation) => Promise<void>;
}

/** Runs one command; returns the exit code. Lines go to `io.print`; no secret value is ever printed. */
export async function runSecretsCommand(args: string[], io: SecretsCommandIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { overlap: { type: 'string' }, 'value-file': { type: 'string' }, out: { type: 'string' }, project: { type: 'string' }, force: { type: 'boolean' }, operator: { type: 'string' } },
  });
  const [command, secretText] = positionals;
  const name = secretText === undefined ? undefined : rotatingSecretNamed(secretText);
  if (command !== 'rotate' || name === undefined) {
    io.print(USAGE);
    return 2;
  }
  const overlapSeconds = values.overlap === undefined ? DEFAULT_OVERLAP_SECONDS[name] : Number(values.overlap);
  if (!Number.isSafeInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_OVERLAP_SECONDS) {
    io.print(`--overlap must be a whole number of seconds, 0..${MAX_OVERLAP_SECONDS}`);
    return 2;
  }
  const value = values['value-file'] === undefined ? generateSecretValue(name) : (await readFile(values['value-file'], 'utf8')).trim();
  // The new value must pass the same rule the functions apply at start (≥ 32 random bytes…).
  loadConfig({ [name]: configVars[name] }, { [name]: value });
  const now = io.now();
  const audit = async (rotation: Omit<SecretRotation, 'secret' | 'operator' | 'at'>) => {
    if (!io.recordRotation) return io.print('No audit row written (DATABASE_URL is not set): record the rotation in the audit trail when you can.');
    await io.recordRotation({ secret: name, operator: values.operator ?? io.env.USER, at: now, ...rotation });
    io.print('Recorded in the audit trail (secret.rotated).');
  };
  const { SECRETS_SOURCE } = loadConfig({ SECRETS_SOURCE: configVars.SECRETS_SOURCE }, io.env);

  if (SECRETS_SOURCE === 'secret-manager') {
    const projectId = values.project ?? loadConfig({ GOOGLE_CLOUD_PROJECT: configVars.GOOGLE_CLOUD_PROJECT.unwrap() }, io.env).GOOGLE_CLOUD_PROJECT;
    const store = io.store ?? createSecretManagerStore({ projectId });
    const rotation = await rotateInSecretManager(store, { name, value, overlapSeconds, now, force: values.force });
    io.print(`Rotated ${rotation.secretId} in ${projectId}: version ${rotation.version} (kid ${rotation.kid}) is current.`);
    if (rotation.previousVersion !== undefined && rotation.previousUntil) {
      io.print(`Version ${rotation.previousVersion} (kid ${rotation.previousKid}) is previous and verifies until ${rotation.previousUntil.toISOString()}.`);
    }
    io.print('Functions read it within 5 minutes (at once when they meet the new kid); no redeploy.');
    if (name === 'TELEGRAM_WEBHOOK_SECRET') io.print('After 5 minutes, call setWebhook with the new secret_token (docs/security.md#secret-rotation).');
    await audit({ fromVersion: rotation.previousVersion === undefined ? null : String(rotation.previousVersion), toVersion: String(rotation.version), overlapEndsAt: rotation.previousUntil ?? null });
    return 0;
  }

  const valueFile = values.out ?? `./${secretIdOf(name)}.new`;
  if (values['value-file'] === undefined) {
    await writeFile(valueFile, `${value}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(valueFile, 0o600);
    io.print(`New ${name} written to ${valueFile} (mode 600; kid ${keyIdOf(value)}). Then:`);
  } else {
    io.print(`New ${name} read from ${values['value-file']}. Then:`);
  }
  for (const step of environmentRotationSteps({ name, valueFile: values['value-file'] ?? valueFile, overlapSeconds, now })) io.print(step);
  await audit({ toVersion: keyIdOf(value), overlapEndsAt: new Date(now.getTime() + overlapSeconds * 1000) });
  return 0;
}

/** The audit writer when DATABASE_URL is set: one connection for the one row. */
function rotationRecorder(env: NodeJS.ProcessEnv): SecretsCommandIo['recordRotation'] {
  if (!env.DATABASE_URL) return undefined;
  return async (rotation) => {
    const db = await openDatabase({ databaseUrl: loadConfig({ DATABASE_URL: configVars.DATABASE_URL.unwrap() }, env).DATABASE_URL });
    try {
      await recordSecretRotation(db, rotation);
    } finally {
      await db.close();
    }
  };
}

async function main(): Promise<void> {
  try {
    process.exitCode = await runSecretsCommand(process.argv.slice(2), {
      env: process.env,
      print: (line) => console.log(line),
      now: () => systemClock.now(),
      recordRotation: rotationRecorder(process.env),
    });
  } catch (error) {
    // ConfigError and AppError messages name what is wrong, never a value.
    console.error(error instanceof ConfigError || error instanceof AppError ? error.message : USAGE);
    process.exitCode = 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
