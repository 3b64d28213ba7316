import { defineConfig } from 'vitest/config';

// Forks, not threads: Temporal's bundled workflows crash inside worker threads.
// Files run one at a time: they share one Temporal dev server and one Docker daemon, and the
// machine has two cores.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    include: ['test/**/*.test.ts', 'proxy/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
