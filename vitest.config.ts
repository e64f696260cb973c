import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests spawn bin/sieve.mjs, which runs dist/: compile it from the sources first.
    globalSetup: ['test/global-setup.ts'],
    // DuckDB and worker threads are heavy: forks keep native state apart, 2 cores on CI.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
