// `faultline report ID --format ctk-journal`: finished runs (the replay corpus' recorded histories, each
// completed run's own journal as its workflow returned it) written as Chaos Toolkit journals and loaded by
// Chaos Toolkit's own code (chaostoolkit-lib in .tools/ctk, installed by scripts/setup.sh): its loader, its
// experiment validation, and its own tolerance check, which must judge each recorded probe output as the
// journal says (scripts/ctk/check-journal.py).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../config.ts';
import { toCtkJournal } from '../../report/ctk-journal.ts';
import type { Journal } from '../../experiments/journal.ts';
import { checkWithChaosToolkit } from '../support/chaos-toolkit.ts';

const CORPUS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories', 'v0.1.0-50466b8');
const dir = mkdtempSync(path.join(tmpdir(), 'ctk-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface HistoryEvent {
  eventType: string;
  workflowExecutionCompletedEventAttributes?: { result?: { payloads?: { data: string }[] } };
}

/** Every completed runExperiment in the corpus, with the journal its workflow returned. */
function recordedRuns(): [string, Journal][] {
  return readdirSync(CORPUS)
    .filter((f) => f.startsWith('runExperiment-'))
    .flatMap((f): [string, Journal][] => {
      const events = (JSON.parse(readFileSync(path.join(CORPUS, f), 'utf8')) as { events: HistoryEvent[] }).events;
      const data = events.at(-1)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]?.data;
      return data
        ? [[f.replace(/^runExperiment-|\.json$/g, ''), JSON.parse(Buffer.from(data, 'base64').toString('utf8'))]]
        : [];
    });
}

describe('a finished run as a Chaos Toolkit journal', () => {
  const runs = recordedRuns();

  it('every completed run of the corpus loads and validates in chaostoolkit-lib, its tolerances judged alike', () => {
    expect(runs.length).toBeGreaterThanOrEqual(20); // every fault kind, aborts, refusals, not-started
    const files = runs.map(([name, j]) => {
      const f = path.join(dir, `${name}.json`);
      writeFileSync(f, JSON.stringify(toCtkJournal(j), null, 2));
      return f;
    });
    const checked = checkWithChaosToolkit(files, dir);
    expect(checked.filter((c) => !c.ok)).toEqual([]);
    // chaoslib judged real outputs, not empty states
    expect(checked.reduce((n, c) => n + c.judged, 0)).toBeGreaterThan(runs.length);
  });

  it('maps the verdict to status and deviated as Chaos Toolkit uses them, and keeps the verdict', () => {
    const byName = new Map(runs);
    const kill = toCtkJournal(byName.get('container-kill')!);
    expect(kill).toMatchObject({ status: 'completed', deviated: false });
    expect(kill.run).toEqual([
      expect.objectContaining({
        status: 'succeeded',
        activity: expect.objectContaining({
          provider: { type: 'process', path: 'docker', arguments: ['kill', '--signal', 'SIGKILL', 'api-1'] },
        }),
      }),
    ]);
    expect(kill.rollbacks).toEqual([
      expect.objectContaining({
        status: 'succeeded',
        activity: expect.objectContaining({ provider: expect.objectContaining({ arguments: ['start', 'api-1'] }) }),
      }),
    ]);
    const guard = toCtkJournal(byName.get('guard-abort')!);
    expect(guard).toMatchObject({ status: 'aborted', deviated: true });
    const operator = toCtkJournal(byName.get('operator-abort')!);
    expect(operator).toMatchObject({ status: 'interrupted', deviated: false });
    const ext = (operator.experiment as { extensions: { name: string; verdict: string }[] }).extensions[0];
    expect(ext).toMatchObject({ name: 'faultline', verdict: 'aborted' });
  });

  it('a refuted run is deviated, its failed tolerance judged failed by chaoslib too', () => {
    const j = runs.find(([, r]) => r.verdict === 'refuted')?.[1];
    if (!j) return expect.unreachable('the corpus has a refuted run');
    const c = toCtkJournal(j);
    expect(c).toMatchObject({ status: 'completed', deviated: true });
    // the steady state after did not hold: chaoslib (first test) agrees with each of these
    expect(c.steady_states).toMatchObject({
      before: { steady_state_met: true, probes: [expect.objectContaining({ tolerance_met: true })] },
      after: {
        steady_state_met: false,
        probes: [expect.objectContaining({ tolerance_met: false, output: expect.objectContaining({ errorRate: 1 }) })],
      },
    });
  });
});
