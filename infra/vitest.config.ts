import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Synthesizing the stack takes a few seconds; the CLI test starts a process.
    testTimeout: 120_000,
  },
});
