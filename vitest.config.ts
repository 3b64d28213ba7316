import { defineConfig } from 'vitest/config';

// Two projects. `unit`: every test file in a `unit/` folder (test/unit/, proxy/test/unit/), pure code and
// workflows on Temporal's Java time-skipping test server (one per file, started in about a second by
// test/unit/support/workflow-env.ts), neither Docker nor the dev server; no global setup; `npm run
// test:unit` runs its files in parallel.
// `e2e`: every other `*.test.ts`, against the real Temporal dev server (started once by
// test/global-setup.ts), the real Docker daemon and the real proxy. `npm test` runs both. Forks, not threads
// (Temporal's bundled workflows crash inside worker threads); e2e files run one at a time: they share one
// dev server and one Docker daemon on two cores.
const UNIT = ['test/unit/**/*.test.ts', 'proxy/test/unit/**/*.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false, // per run, not per project (vitest 3.2); `npm run test:unit` turns it back on
    testTimeout: 180_000,
    hookTimeout: 240_000,
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: UNIT, testTimeout: 30_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts', 'proxy/**/*.test.ts'],
          exclude: UNIT,
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
