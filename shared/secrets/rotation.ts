import { randomBytes } from 'node:crypto';
import { secretsError } from './errors.js';
import { type RotatingSecretName, ROTATING_SECRET_NAMES, secretIdOf } from './load-secret.js';
import { keyIdOf } from './rotating-secret.js';
import { CURRENT_ALIAS, PREVIOUS_ALIAS, PREVIOUS_UNTIL_ANNOTATION } from './secret-reader.js';
import type { SecretStore } from './secret-store.js';

/**
 * How long the replaced value keeps verifying, by default:
 * - JWT_SECRET: 1 hour, four access-token lifetimes (15 min); refresh tokens are random values
 *   stored hashed (no key), email tokens too, so sessions and mailed links survive any rotation.
 * - TELEGRAM_WEBHOOK_SECRET: 1 day, Telegram's redelivery window, covering the time between the
 *   switch and `setWebhook` with the new value.
 * - NOWPAYMENTS_IPN_SECRET: 1 day: NowPayments resends refused IPNs, and retries of IPNs signed
 *   before the switch still verify.
 */
export const DEFAULT_OVERLAP_SECONDS: Record<RotatingSecretName, number> = {
  JWT_SECRET: 3_600,
  TELEGRAM_WEBHOOK_SECRET: 86_400,
  NOWPAYMENTS_IPN_SECRET: 86_400,
};

/** Longest overlap `rotate` accepts: a replaced key should not linger for weeks. */
export const MAX_OVERLAP_SECONDS = 7 * 86_400;

/** `jwt-secret` or `JWT_SECRET` → `JWT_SECRET`; undefined for anything else. */
export function rotatingSecretNamed(text: string): RotatingSecretName | undefined {
  const name = text.toUpperCase().replaceAll('-', '_');
  return ROTATING_SECRET_NAMES.find((candidate) => candidate === name);
}

/**
 * A fresh value for a secret we generate: 32 random bytes, base64 for JWT_SECRET, hex for the
 * webhook secret (Telegram allows only `A-Z a-z 0-9 _ -`). The IPN secret is made by NowPayments
 * (its dashboard), never here.
 */
export function generateSecretValue(name: RotatingSecretName): string {
  if (name === 'NOWPAYMENTS_IPN_SECRET') {
    throw secretsError('invalid_rotation', 'NowPayments makes the IPN secret: regenerate it in its dashboard and pass it with --value-file');
  }
  return name === 'JWT_SECRET' ? randomBytes(32).toString('base64') : randomBytes(32).toString('hex');
}

export interface SecretManagerRotation {
  secretId: string;
  version: number;
  kid: string;
  previousVersion?: number;
  previousKid?: string;
  previousUntil?: Date;
}

/**
 * Rotates one secret in Secret Manager: adds `value` as a new version, then in one update moves the
 * aliases (`previous` ← the old `current`, `current` ← the new version) and records when the
 * previous stops verifying (annotation `previous-until` = now + overlap). Functions pick it up
 * within their cache time (5 minutes) or at once when they meet the new kid.
 *
 * Refused while an earlier overlap is still running (the value it keeps alive would be dropped
 * while tokens signed with it may still be in use) unless `force`.
 */
export async function rotateInSecretManager(
  store: SecretStore,
  input: { name: RotatingSecretName; value: string; overlapSeconds: number; now: Date; force?: boolean },
): Promise<SecretManagerRotation> {
  if (!Number.isInteger(input.overlapSeconds) || input.overlapSeconds < 0 || input.overlapSeconds > MAX_OVERLAP_SECONDS) {
    throw secretsError('invalid_rotation', `The overlap must be 0..${MAX_OVERLAP_SECONDS} seconds`);
  }
  const secretId = secretIdOf(input.name);
  const { aliases, annotations } = await store.describe(secretId);
  const runningUntil = new Date(annotations[PREVIOUS_UNTIL_ANNOTATION] ?? Number.NaN);
  if (!input.force && aliases[PREVIOUS_ALIAS] !== undefined && runningUntil.getTime() > input.now.getTime()) {
    throw secretsError(
      'invalid_rotation',
      `${secretId} is still in an overlap until ${runningUntil.toISOString()}: rotating now would drop the value it keeps valid; wait, or pass --force`,
    );
  }
  const oldCurrent = aliases[CURRENT_ALIAS];
  const oldKid = oldCurrent === undefined ? undefined : keyIdOf(await store.access(secretId, oldCurrent));
  const version = await store.addVersion(secretId, input.value);
  const newAliases: Record<string, number> = { ...aliases, [CURRENT_ALIAS]: version };
  const newAnnotations: Record<string, string> = { ...annotations };
  const previousUntil = oldCurrent === undefined ? undefined : new Date(input.now.getTime() + input.overlapSeconds * 1000);
  if (oldCurrent === undefined || previousUntil === undefined) {
    delete newAliases[PREVIOUS_ALIAS];
    delete newAnnotations[PREVIOUS_UNTIL_ANNOTATION];
  } else {
    newAliases[PREVIOUS_ALIAS] = oldCurrent;
    newAnnotations[PREVIOUS_UNTIL_ANNOTATION] = previousUntil.toISOString();
  }
  newAnnotations['rotated-at'] = input.now.toISOString();
  await store.update(secretId, { aliases: newAliases, annotations: newAnnotations });
  return { secretId, version, kid: keyIdOf(input.value), previousVersion: oldCurrent, previousKid: oldKid, previousUntil };
}

/**
 * The steps of a rotation when the functions read their secrets from the environment
 * (`SECRETS_SOURCE=env`), for the operator to follow; the new value is in `valueFile`, never here.
 */
export function environmentRotationSteps(input: { name: RotatingSecretName; valueFile: string; overlapSeconds: number; now: Date }): string[] {
  const { name } = input;
  const until = new Date(input.now.getTime() + input.overlapSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const steps = [
    `1. Set ${name}_PREVIOUS to the value ${name} has now, and ${name}_PREVIOUS_UNTIL to when it stops being accepted:`,
    `   at least ${Math.round(input.overlapSeconds / 60)} minutes after the new value is live (from now: ${until}).`,
    `2. Set ${name} to the contents of ${input.valueFile}; deploy (or restart) the functions that read it.`,
  ];
  if (name === 'TELEGRAM_WEBHOOK_SECRET') {
    steps.push('3. Once deployed, call setWebhook with secret_token = the new value (docs/deploy.md); Telegram then sends it.');
  } else if (name === 'NOWPAYMENTS_IPN_SECRET') {
    steps.push('3. NowPayments already signs with the new value (its dashboard switched when you regenerated it); IPNs refused before step 2 are resent by NowPayments, and reconcile polls stuck payments.');
  } else {
    steps.push('3. New access tokens carry the new kid at once; tokens and device cookies signed with the old key verify until the time of step 1.');
  }
  steps.push(`4. After ${until} (or later): unset ${name}_PREVIOUS and ${name}_PREVIOUS_UNTIL, and delete ${input.valueFile}.`);
  return steps;
}
