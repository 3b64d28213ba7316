// Upgrades never break a run: every history of the replay corpus (test/fixtures/histories/, recorded by
// scripts/record-histories.ts with the workflow code of a release, on the real dev server) replays against
// the current workflows/ bundle. No server, no Docker. A change to a workflow's command sequence that is not
// behind patched() fails here, naming the history; the last two cases prove it with a changed copy of the
// sweep workflow (an extra activity call), once without and once behind a patch marker.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { PROJECT_ROOT } from '../../config.ts';
import { corpus, loadHistory, recordings, type CorpusHistory } from '../support/histories.ts';

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  /* installed already */
}

const WORKFLOWS = path.join(PROJECT_ROOT, 'workflows');
const quiet = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never;
const bundle = (workflowsPath: string) => bundleWorkflowCode({ workflowsPath, logger: quiet });

/**
 * Replays the histories against the bundle, each under the workflow ID it was recorded with (child IDs are
 * derived from it); one line per history that does not replay, naming it. The replayer takes one history
 * at a time and yields in order.
 */
async function replay(code: WorkflowBundleWithSourceMap, histories: CorpusHistory[]): Promise<string[]> {
  const failures: string[] = [];
  let i = 0;
  for await (const r of Worker.runReplayHistories(
    { workflowBundle: code },
    histories.map((h) => {
      const history = loadHistory(h.file);
      const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId || h.name;
      return { workflowId, history };
    }),
  )) {
    const h = histories[i++]!;
    if (r.error) failures.push(`${h.name} (${h.workflowType}) does not replay: ${r.error.name}: ${r.error.message}`);
  }
  expect(i, 'every history was replayed').toBe(histories.length);
  return failures;
}

/** The workflow's arguments as recorded (the first payload of its start event). */
function input(h: CorpusHistory): unknown {
  const first = (JSON.parse(readFileSync(h.file, 'utf8')) as StartedHistory).events[0];
  const data = first?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  return data ? JSON.parse(Buffer.from(data, 'base64').toString('utf8')) : undefined;
}
interface StartedHistory {
  events: { workflowExecutionStartedEventAttributes?: { input?: { payloads?: { data?: string }[] } } }[];
}

const all = corpus();
const latest = recordings().at(-1);

describe('the replay corpus', () => {
  it('holds a history of every workflow type, every fault kind and every case that matters', () => {
    expect(latest, 'no recording under test/fixtures/histories/ (run scripts/record-histories.ts)').toBeDefined();
    const types = new Set(all.map((h) => h.workflowType));
    expect([...types].sort()).toEqual(
      expect.arrayContaining([
        'admission',
        'hostPresence',
        'runExperiment',
        'runGameDay',
        'scheduledRun',
        'sweepFleet',
      ]),
    );
    const kinds = new Set(
      all
        .filter((h) => h.workflowType === 'runExperiment')
        .flatMap((h) => (input(h) as { experiment?: { method?: { kind: string }[] } })?.experiment?.method ?? [])
        .map((f) => f.kind),
    );
    expect([...kinds].sort()).toEqual(
      expect.arrayContaining([
        'container.kill',
        'container.pause',
        'container.restart',
        'container.stop',
        'http.abort',
        'http.delay',
        'network.partition',
        'network.loss',
        'network.bandwidth',
        'network.split',
        'stress.cpu',
        'stress.memory',
        'stress.io',
        'disk.fill',
        'process.kill',
        'process.stop',
        'dns.error',
        'dns.spoof',
        'proxy.bandwidth',
        'proxy.latency',
        'proxy.partition',
        'proxy.reset',
      ]),
    );
    const cases = new Set(latest!.histories.map((h) => `${h.workflowType}:${h.case}`));
    for (const c of [
      'runExperiment:operator-abort',
      'runExperiment:guard-abort',
      'runExperiment:judged',
      'runExperiment:control-group',
      'runExperiment:admission-wait',
      'runExperiment:not-started',
      'runExperiment:refuted',
      'runExperiment:inject-failed',
      'runExperiment:approval-wait',
      'runExperiment:lever-refused',
      'runGameDay:gate-abort',
      'runGameDay:continue-ask-skip',
      'admission:wait',
      'admission:policy-approval-lever',
      'scheduledRun:pause',
      'sweepFleet:report',
      'hostPresence:registered',
    ])
      expect(cases, `${latest!.name} has no ${c}`).toContain(c);
    // cases recorded after the latest full recording, each by the code that introduced it
    const recorded = new Set(recordings().flatMap((r) => r.histories.map((h) => `${h.workflowType}:${h.case}`)));
    for (const c of ['runExperiment:exposure', 'runExperiment:exposure-broken'])
      expect(recorded, `no recording has ${c}`).toContain(c);
    // a stuck revert that continued as new: a run ending in continue-as-new and the run that finished it
    const stuck = latest!.histories.filter((h) => h.case.startsWith('stuck-revert'));
    expect(stuck.map((h) => h.status)).toContain('continued-as-new');
    expect(stuck.map((h) => h.status)).toContain('completed');
    // each file is what its index says
    for (const r of recordings())
      for (const h of r.histories)
        expect(loadHistory(path.join(r.dir, h.file)).events?.length, `${r.name}/${h.file}`).toBe(h.events);
  });

  it('every recorded history replays against the current workflow code', async () => {
    const failures = await replay(await bundle(path.join(WORKFLOWS, 'index.ts')), all);
    expect(failures, failures.join('\n')).toEqual([]);
  }, 180_000);

  describe('a changed workflow', () => {
    const dir = path.join(PROJECT_ROOT, '.state', `replay-corpus-${process.pid}`);
    const sweeps = all.filter((h) => h.workflowType === 'sweepFleet');

    /**
     * A bundle whose sweepFleet makes one more activity call first (behind a patch marker when patch is
     * set): a copy of workflows/sweep.ts in a directory of its own, with an index beside it that takes
     * every other workflow from workflows/.
     */
    function changed(patch: boolean): string {
      const out = path.join(dir, patch ? 'patched' : 'unpatched');
      mkdirSync(out, { recursive: true });
      const absolute = (text: string, keep?: string) =>
        text
          .replace(/from '\.\.\//g, `from '${PROJECT_ROOT}/`)
          .replace(/from '\.\/([^']+)'/g, (m, f: string) => (f === keep ? m : `from '${WORKFLOWS}/${f}'`));
      const sweep = absolute(readFileSync(path.join(WORKFLOWS, 'sweep.ts'), 'utf8'));
      const entry = /export async function sweepFleet\([^)]*\)[^{]*\{/.exec(sweep);
      if (!entry) throw new Error('workflows/sweep.ts has no `export async function sweepFleet(...) {` to change');
      const call = "await extra.replayCorpusProof('one more activity call');";
      const at = entry.index + entry[0].length;
      writeFileSync(
        path.join(out, 'sweep.ts'),
        "import { patched as isPatched, proxyActivities as extraActivities } from '@temporalio/workflow';\n" +
          "const extra = extraActivities<{ replayCorpusProof(why: string): Promise<void> }>({ startToCloseTimeout: '1m' });\n" +
          sweep.slice(0, at) +
          `\n  ${patch ? `if (isPatched('replay-corpus-proof')) ${call}` : call}\n` +
          sweep.slice(at),
      );
      writeFileSync(
        path.join(out, 'index.ts'),
        absolute(readFileSync(path.join(WORKFLOWS, 'index.ts'), 'utf8'), 'sweep.ts'),
      );
      return path.join(out, 'index.ts');
    }

    beforeAll(() => {
      expect(sweeps.length, 'the corpus has a sweepFleet history').toBeGreaterThan(0);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('one more activity call without a patch marker fails replay with a nondeterminism, naming the history', async () => {
      const failures = await replay(await bundle(changed(false)), sweeps);
      expect(failures).toHaveLength(sweeps.length);
      for (const [i, h] of sweeps.entries()) {
        expect(failures[i]).toContain(`${h.name} (sweepFleet) does not replay: DeterminismViolationError`);
        expect(failures[i]).toMatch(/replayCorpusProof|ActivityTaskScheduled|activity type/i);
      }
    }, 180_000);

    it('the same call behind patched() replays every recorded sweep', async () => {
      const failures = await replay(await bundle(changed(true)), sweeps);
      expect(failures, failures.join('\n')).toEqual([]);
    }, 180_000);
  });
});
