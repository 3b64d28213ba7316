import { defineConfig } from 'vitest/config';
import LongestFirst from './test/support/sequencer.ts';

// Projects. `unit`: every test file in a `unit/` folder (test/unit/, proxy/test/unit/), pure code and
// workflows on Temporal's Java time-skipping test server (one per file, started in about a second by
// test/unit/support/workflow-env.ts), neither Docker nor the dev server; no global setup.
// `e2e`: every other `*.test.ts`, against the real Temporal dev server (started once by
// test/global-setup.ts), the real Docker daemon and the real proxy. `npm test` runs all of them. Forks, not
// threads (Temporal's bundled workflows crash inside worker threads).
// Files run side by side, WORKERS at a time, unit and e2e alike: most of an e2e file's time is spent
// waiting (fault windows, timers, polls), not computing. Each e2e file has its own task queues, demo
// name, containers and, where it needs one, ledger; a file that kills its server or acts on every run on
// it (durability: SIGKILL, revert --all; admission: the safety lever) starts a server of its own
// (test/helpers.ts ownDevServer).
// The `e2e-alone-*` projects run first, one after the other, before anything else starts: files whose
// verdicts compare the demo's latency during a window with before it, which the suite's own load beside them
// changes: the quickstart (README command 1; its example judges p95 < 250 ms, 278 ms with files beside it)
// and the judged guard (a harmless fault's slow-request share went from 3 % at baseline to 34 % when the
// load of the files beside it rose during its window, and the judge rightly aborted).
const UNIT = ['test/unit/**/*.test.ts', 'proxy/test/unit/**/*.test.ts'];
const ALONE = ['test/quickstart.test.ts', 'test/judge.test.ts'];
const WORKERS = Number(process.env.FAULTLINE_TEST_WORKERS ?? 4);

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: WORKERS,
    minWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 240_000,
    reporters: ['default', './test/summary-reporter.ts'],
    sequence: { sequencer: LongestFirst }, // the longest files start first (test/support/sequencer.ts)
    projects: [
      ...ALONE.map((file, i) => ({
        extends: true as const,
        test: {
          name: `e2e-alone-${file.replace(/^.*\/|\.test\.ts$/g, '')}`,
          include: [file],
          globalSetup: ['test/global-setup.ts'],
          sequence: { groupOrder: i },
        },
      })),
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          testTimeout: 30_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: ALONE.length },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts', 'proxy/**/*.test.ts'],
          exclude: [...UNIT, ...ALONE],
          globalSetup: ['test/global-setup.ts'],
          sequence: { groupOrder: ALONE.length },
        },
      },
    ],
  },
});
