// The order files start in, longest first: with files side by side (vitest.config.ts), the run ends when
// its longest file does, so that one must start at once and the short ones fill in at the end. vitest's
// default sorts by its cache of the last run (none on a clean clone: then by file size, which says little:
// crash-model.test.ts is short and takes two minutes) and puts last run's failures first.
// Seconds per file below: each file's duration in CI run 4 of session 17 (every file side by side, 4 forks,
// on the 2-core machine; rounded), kernel-warden's after its kinds ran side by side (249 s before, about
// 90 expected); every e2e file, and the unit files of 5 s or more. A file not listed: vitest's cached
// duration of its last run, else a guess by project (an e2e file takes a minute, a unit file seconds). Only
// the order depends on these, never a result.
import type { TestSpecification } from 'vitest/node';
import { BaseSequencer } from 'vitest/node';
import path from 'node:path';

const SECONDS: Record<string, number> = {
  'test/fleet.test.ts': 122,
  'test/orchestration.test.ts': 119,
  'test/sweep.test.ts': 115,
  'test/gameday.test.ts': 100,
  'test/kernel-warden.test.ts': 90,
  'test/admission.test.ts': 73,
  'test/durability.test.ts': 70,
  'test/no-worker.test.ts': 70,
  'test/guard-coverage-kill.test.ts': 62,
  'test/network-split-run.test.ts': 57,
  'test/admission-restart.test.ts': 57,
  'test/warden.test.ts': 56,
  'test/network-split.test.ts': 53,
  'test/fleet-batches.test.ts': 52,
  'test/unit/admission-async.test.ts': 49,
  'test/schedule.test.ts': 48,
  'test/crash-model.test.ts': 41,
  'test/network-loss.test.ts': 40,
  'test/unit/gameday-workflow.test.ts': 39,
  'test/unit/reverts-bounded.test.ts': 39,
  'test/unit/admission-determinism.test.ts': 38,
  'test/sweep-kernel.test.ts': 37,
  'test/dns-faults.test.ts': 37,
  'test/unit/experiment-workflow.test.ts': 36,
  'test/guard-coverage.test.ts': 35,
  'test/dead-runner.test.ts': 35,
  'test/unit/admission-wait.test.ts': 35,
  'test/container-faults.test.ts': 32,
  'test/fleet-standby.test.ts': 31,
  'test/runner.test.ts': 30,
  'test/observability.test.ts': 28,
  'test/process-faults.test.ts': 26,
  'test/runner-metrics.test.ts': 26,
  'test/network-bandwidth.test.ts': 25,
  'test/stress.test.ts': 21,
  'test/prometheus.test.ts': 20,
  'test/proxy-faults.test.ts': 20,
  'test/revert-time.test.ts': 17,
  'test/unit/replay-corpus.test.ts': 16,
  'test/unit/metrics-cli.test.ts': 15,
  'test/guard-abort.test.ts': 15,
  'test/unit/fleet-batches.test.ts': 14,
  'test/unit/document-property.test.ts': 13,
  'test/stress-io.test.ts': 12,
  'test/unit/admission-upgrade.test.ts': 12,
  'test/unit/test-server-keepalive.test.ts': 11,
  'test/unit/experiment-property.test.ts': 9,
  'test/demo.test.ts': 9,
  'test/disk-fill.test.ts': 8,
  'test/unit/judge-scheduled.test.ts': 8,
  'test/unit/admission-continue-as-new.test.ts': 8,
  'test/unit/sweep-workflow.test.ts': 8,
  'test/unit/scheduled-workflow.test.ts': 7,
  'test/experiments.test.ts': 7,
  'test/unit/guard-early.test.ts': 7,
  'proxy/test/lease-and-scale.test.ts': 7,
  'test/unit/document-kinds.test.ts': 6,
  'test/docker-adapter.test.ts': 6,
  'test/unit/warden.test.ts': 6,
  'test/report.test.ts': 6,
  'test/unit/schedule-files.test.ts': 6,
  'test/unit/replay-gameday.test.ts': 5,
  'test/unit/host-workflow.test.ts': 5,
  'proxy/test/process.test.ts': 4,
  'proxy/test/api.test.ts': 4,
  'proxy/test/sockets.test.ts': 3,
  'test/replay.test.ts': 2,
  'test/probes.test.ts': 1,
  'test/worker-bundle.test.ts': 0,
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
