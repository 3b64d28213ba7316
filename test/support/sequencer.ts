// The order files start in, longest first: with files side by side (vitest.config.ts), the run ends when
// its longest file does, so that one must start at once and the short ones fill in at the end. vitest's
// default sorts by its cache of the last run (none on a clean clone: then by file size, which says little:
// crash-model.test.ts is short and takes two minutes) and puts last run's failures first.
// Seconds per file below: measured with every file side by side on the 2-core machine (tests only, without
// hooks; rounded). A file not listed: vitest's cached duration of its last run, else a guess by project
// (an e2e file takes a minute, a unit file seconds). Only the order depends on these, never a result.
import type { TestSpecification } from 'vitest/node';
import { BaseSequencer } from 'vitest/node';
import path from 'node:path';

const SECONDS: Record<string, number> = {
  'test/fleet.test.ts': 220,
  'test/gameday.test.ts': 160,
  'test/sweep.test.ts': 155,
  'test/orchestration.test.ts': 152,
  'test/admission.test.ts': 140,
  'test/crash-model.test.ts': 127,
  'test/durability.test.ts': 119,
  'test/warden.test.ts': 93,
  'test/schedule.test.ts': 88,
  'test/guard-coverage-kill.test.ts': 77,
  'test/unit/gameday-workflow.test.ts': 60,
  'test/no-worker.test.ts': 60,
  'test/judge.test.ts': 57,
  'test/unit/experiment-workflow.test.ts': 52,
  'test/unit/reverts-bounded.test.ts': 50,
  'test/guard-coverage.test.ts': 50,
  'test/quickstart.test.ts': 42,
  'test/container-faults.test.ts': 42,
  'test/fleet-standby.test.ts': 41,
  'test/dead-runner.test.ts': 40,
  'test/proxy-faults.test.ts': 35,
  'test/unit/replay-corpus.test.ts': 34,
  'test/runner.test.ts': 34,
  'test/unit/sweep-workflow.test.ts': 29,
  'test/unit/experiment-property.test.ts': 28,
  'test/observability.test.ts': 21,
  'test/unit/document-property.test.ts': 20,
  'test/revert-time.test.ts': 20,
  'test/experiments.test.ts': 17,
  'test/unit/experiment-input.test.ts': 16,
  'test/unit/schedule-files.test.ts': 15,
};

export default class LongestFirst extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (f: TestSpecification): number => {
      const file = path.relative(root, f.moduleId).split(path.sep).join('/');
      const cached = this.ctx.cache.getFileTestResults(`${f.project.name}:${file}`)?.duration;
      return SECONDS[file] ?? (cached !== undefined ? cached / 1000 : f.project.name === 'unit' ? 5 : 60);
    };
    return Promise.resolve([...files].sort((a, b) => seconds(b) - seconds(a)));
  }
}
