import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['libs/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    // Integration tests talk to real Postgres/Redis/Kafka; each isolates itself, so files run in
    // parallel, but a 2-core machine gains little from more than a few forks.
    pool: 'forks',
    // Memory tests force a collection before sampling the heap, so they measure live data only.
    execArgv: ['--expose-gc'],
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
