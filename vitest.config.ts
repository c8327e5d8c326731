import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';
import { TEST_FIELD_KEY_ENV } from './shared/testing/field-keys.js';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here; each file may start a database or an emulator.
    maxWorkers: 2,
    // Every harness seals emails and wallets with the same public test keys (shared/testing/field-keys.ts).
    env: { ...TEST_FIELD_KEY_ENV },
    // The Functions Framework prints the stack of every error a function throws (a nack). Tests
    // that make functions fail transiently on purpose would bury the report in those stacks.
    onConsoleLog: (log) => !log.startsWith('TransientError: '),
    projects: [
      {
        extends: true,
        test: {
          name: 'gateway',
          include: ['functions/**/*.test.ts', 'shared/**/*.test.ts', 'tests/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['node_modules/**', 'dist/**'],
          // With DATABASE_URL: one migrated template per run, copied for each test file. And the
          // dashboard app built once if stale, for the tests that serve it.
          globalSetup: ['tests/template-database.ts', 'tests/web-app-build.ts'],
        },
      },
      {
        // The dashboard SPA's unit tests: a DOM (happy-dom) for these files only.
        extends: true,
        plugins: [react()],
        test: {
          name: 'web',
          include: ['web/src/**/*.test.{ts,tsx}'],
          environment: 'happy-dom',
        },
      },
    ],
  },
});
