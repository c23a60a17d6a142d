import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway PostgreSQL cluster and one in-memory DynamoDB Local for the run; tests
    // create their own databases and table prefixes in them.
    globalSetup: ['test/support/postgres-global.ts', 'test/support/dynamodb-global.ts'],
    // Servers tests spawn inherit this: none takes the default metrics port (9464), which
    // parallel tests would fight over; the metrics tests set their own free port.
    env: { PAYLOG_METRICS_PORT: '0' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only add contention to the fsync-heavy tests.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
