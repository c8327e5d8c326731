/**
 * The field encryption keys every test harness uses (vitest's env, the chaos world, function
 * loading tests): one place, so no harness runs without them. Public test values, never deployed.
 */
export const TEST_FIELD_ENCRYPTION_KEYS = 'test1:Sx4WY49aEZvS6IlF/ovSy7OecA/ax4JHj/MVwkx4/UM=';
/** A second, older key: rotation tests list it after the current one. */
export const TEST_FIELD_ENCRYPTION_KEY_OLD = 'test0:U8Lr7ThUcflWPmqcabFj2RYnGlrc0d/R5Qi1ogv6fK4=';
export const TEST_FIELD_BLIND_INDEX_KEY = 'OEbrnJrH9IE3YeehPj/8Qq2ZcNz9HLwKvvcFcdtVdlM=';

/** The variables, ready to merge into an environment. */
export const TEST_FIELD_KEY_ENV = {
  FIELD_ENCRYPTION_KEYS: TEST_FIELD_ENCRYPTION_KEYS,
  FIELD_BLIND_INDEX_KEY: TEST_FIELD_BLIND_INDEX_KEY,
} as const;
