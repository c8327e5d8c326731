import type * as z from 'zod';
import { configVars, loadConfig } from '../config/index.js';
import type { BurstLimit } from './bursts.js';

/** The burst rules that have a configured limit (docs/security.md, "Anomaly alerts"). */
export interface BurstLimits {
  /** `IPN_SIGNATURE_FAILURE_ALERT`: bad IPN signatures, all IPNs together. */
  ipnSignatureFailures: BurstLimit;
  /** `LOGIN_FAILURE_ALERT`: failed logins from one network, with the distinct addresses they tried. */
  loginFailures: BurstLimit;
  /** `PAYMENT_FAILURE_ALERT`: payments of one channel that failed, expired or stayed underpaid. */
  paymentFailures: BurstLimit;
}

const VARIABLES = {
  ipnSignatureFailures: 'IPN_SIGNATURE_FAILURE_ALERT',
  loginFailures: 'LOGIN_FAILURE_ALERT',
  paymentFailures: 'PAYMENT_FAILURE_ALERT',
} as const satisfies Record<keyof BurstLimits, keyof typeof configVars>;

/**
 * The limits of the named rules from the environment (each rule's variable and
 * `BURST_ALERT_COOL_DOWN_MINUTES`), defaults for what is unset. A function reads only the rules it
 * evaluates, so its deploy.yaml lists only their variables. Throws `ConfigError` naming a bad one.
 */
export function loadBurstLimits<N extends keyof BurstLimits>(names: readonly N[], env: NodeJS.ProcessEnv = process.env): Pick<BurstLimits, N> {
  const schema: Record<string, z.ZodType> = { BURST_ALERT_COOL_DOWN_MINUTES: configVars.BURST_ALERT_COOL_DOWN_MINUTES };
  for (const name of names) schema[VARIABLES[name]] = configVars[VARIABLES[name]];
  const config = loadConfig(schema, env) as Record<string, unknown>;
  const coolDownMinutes = config.BURST_ALERT_COOL_DOWN_MINUTES as number;
  const limits = {} as Pick<BurstLimits, N>;
  for (const name of names) {
    limits[name] = { ...(config[VARIABLES[name]] as Omit<BurstLimit, 'coolDownMinutes'>), coolDownMinutes } as Pick<BurstLimits, N>[N];
  }
  return limits;
}

/** What applies when a caller passes no limits: the variables' defaults. */
export const DEFAULT_BURST_LIMITS: BurstLimits = loadBurstLimits(['ipnSignatureFailures', 'loginFailures', 'paymentFailures'], {});
