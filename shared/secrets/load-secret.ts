import { ConfigError, configVars, loadConfig } from '../config/index.js';
import { type Logger, logger as rootLogger } from '../logging/index.js';
import { rotatingSecret } from './rotating-secret.js';
import { createSecretManagerReader, fixedSecretReader, type SecretReader } from './secret-reader.js';
import { createSecretManagerStore, type SecretStore } from './secret-store.js';

/** The secrets that rotate with an overlap. */
export const ROTATING_SECRET_NAMES = ['JWT_SECRET', 'TELEGRAM_WEBHOOK_SECRET', 'NOWPAYMENTS_IPN_SECRET'] as const;
export type RotatingSecretName = (typeof ROTATING_SECRET_NAMES)[number];

/** The Secret Manager id of a variable: its kebab-case (`JWT_SECRET` → `jwt-secret`), as deploy names them. */
export function secretIdOf(name: RotatingSecretName): string {
  return name.toLowerCase().replaceAll('_', '-');
}

export interface SecretReaderOptions {
  logger?: Logger;
  /** Replaces the Secret Manager client (tests: one on the local fake server). */
  store?: SecretStore;
  cacheSeconds?: number;
}

/**
 * The reader of one rotating secret, from the configuration (`SECRETS_SOURCE`), for a function's
 * module scope. `env` (default): `<NAME>`, plus `<NAME>_PREVIOUS` accepted until
 * `<NAME>_PREVIOUS_UNTIL` (both or neither, unless the previous value equals the current one),
 * fixed for the instance. `secret-manager`: the secret `secretIdOf(name)` in GOOGLE_CLOUD_PROJECT
 * through its `current`/`previous` aliases, cached `cacheSeconds` (300).
 *
 * @throws ConfigError naming the variables at fault (never a value).
 */
export function loadSecretReader(name: RotatingSecretName, options: SecretReaderOptions = {}, env: NodeJS.ProcessEnv = process.env): SecretReader {
  const { SECRETS_SOURCE } = loadConfig({ SECRETS_SOURCE: configVars.SECRETS_SOURCE }, env);
  const schema = configVars[name];
  if (SECRETS_SOURCE === 'secret-manager') {
    const projectId = loadConfig({ GOOGLE_CLOUD_PROJECT: configVars.GOOGLE_CLOUD_PROJECT.unwrap() }, env).GOOGLE_CLOUD_PROJECT;
    return createSecretManagerReader({
      store: options.store ?? createSecretManagerStore({ projectId }),
      secretId: secretIdOf(name),
      logger: options.logger ?? rootLogger,
      cacheSeconds: options.cacheSeconds,
      problemOf: (value) => {
        const result = schema.safeParse(value);
        return result.success ? undefined : result.error.issues[0]?.message;
      },
    });
  }
  const previousName = `${name}_PREVIOUS` as const;
  const untilName = `${name}_PREVIOUS_UNTIL` as const;
  const config = loadConfig({ [name]: schema, [previousName]: configVars[previousName], [untilName]: configVars[untilName] }, env) as Record<string, unknown>;
  const current = config[name] as string;
  const previous = config[previousName] as string | undefined;
  const until = config[untilName] as Date | undefined;
  if (previous !== undefined && previous !== current && until === undefined) {
    throw new ConfigError([untilName], `Invalid configuration: ${untilName}: required while ${previousName} is set (when the previous value stops being accepted)`);
  }
  return fixedSecretReader(rotatingSecret(current, previous === undefined || until === undefined ? undefined : { value: previous, until }));
}
