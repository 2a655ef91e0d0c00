import { defineConfig } from 'vitest/config';

// Two tiers: `unit` needs no server; `integration` needs the local stack (ops/stack.sh up).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The stack has 2 cores to share: keep files from starving each other.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});
