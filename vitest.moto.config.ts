import { defineConfig } from 'vitest/config';

// The moto suite (`npm run test:moto`): the local pipeline with S3 at moto's server, IAM enforcement on.
export default defineConfig({
  test: {
    include: ['test/moto/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/moto/global-setup.ts'],
  },
});
