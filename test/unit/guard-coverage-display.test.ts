// Guard coverage where people read it: `faultline status` (live from the guard's heartbeat, and the final
// journal) and the HTML report. A run whose guard went blind says so, with the gap and each window's share.
import { describe, expect, it } from 'vitest';
import { progressLine, summary } from '../../cli/render.ts';
import { runSection } from '../../report/html.ts';
import { closeCoverage, coveragePlan, sampled, startCoverage } from '../../experiments/coverage.ts';
import { freshProgress } from '../../activities/guard.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Journal } from '../../experiments/journal.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const parsed = parseExperiment(
  `
title: pause every backend
hypothesis: { statement: the front answers, probes: [ { name: h, type: http, url: "http://127.0.0.1:1/" } ] }
targets: { names: [ b1 ], mode: one }
method: [ { kind: container.pause, duration: 9s } ]
guard: { interval: 500ms, failuresToAbort: 2, probes: [ { name: g, type: http, url: "http://127.0.0.1:1/", requests: 1 } ] }
`,
  'e.yaml',
);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const e = parsed.experiment;
const plan = coveragePlan(e.guard!, [{ fault: 0, from: T0, to: T0 + 9_000 }]);
const state = startCoverage(plan);
for (let t = 10; t < 7_000; t += 500) sampled(plan, state, T0 + t);

const journal: Journal = {
  experiment: e,
  workflowId: 'wf-1',
  runId: 'r1',
  startedAt: iso(-2_000),
  finishedAt: iso(12_000),
  phase: 'done',
  windowEndsAt: iso(9_000),
  faults: [
    {
      index: 0,
      faultIndex: 0,
      kind: 'container.pause',
      summary: 'pause b1 for 9s',
      status: 'reverted',
      injectedAt: iso(0),
      endsAt: iso(9_000),
      revertedAt: iso(9_300),
      errors: [],
      revertAttempts: 1,
    },
  ],
  steadyStateBefore: [],
  guardSamples: { count: 14, failed: 0, coverage: closeCoverage(plan, state) },
  steadyStateAfter: [],
  verdict: 'inconclusive',
  reason: 'observing: the fault window was not watched as scheduled: …',
};

describe('guard coverage on display', () => {
  it('status: the coverage line, the blind span and the window below its share', () => {
    const text = summary(journal);
    expect(text).toContain(
      '  guard coverage: 14 of 18 samples due taken, 14 on time (±50 ms); longest gap 2.5s (maxGap 1.5s); watched 78.4% of the least-watched window (min 95%)',
    );
    expect(text).toContain('    blind: saw nothing for 2.5s, 2026-01-01 00:00:06Z to 2026-01-01 00:00:09Z');
    expect(text).toContain('    fault 0: watched 78.4% of its window');
  });

  it('status while observing: the guard heartbeat says how many samples were due, taken, and when it last saw', () => {
    const live = { ...journal, phase: 'observing' as const, verdict: undefined };
    const line = progressLine(live, { ...freshProgress(), samples: 14, coverage: state }, T0 + 8_000);
    expect(line).toMatch(/^\[observing\] · 1s left · guard #14 · 14 of 16 samples due, 14 on time, saw 1\.5s ago: /);
  });

  it('the report: a coverage section with the schedule, the gap and each window', () => {
    const { html } = runSection(journal);
    expect(html).toContain('<h2>Guard coverage</h2>');
    expect(html).toMatch(/<b>14<\/b> of <b>18<\/b> due taken \(77\.8%\), <b>14<\/b> on time/);
    expect(html).toMatch(/Blind: the guard saw nothing for 2\.49 s \(8\.5 s to 11 s\)/);
    expect(html).toContain(
      '<td>pause b1 for 9s</td><td>2 s</td><td>11 s</td><td>7.06 s</td><td class="c-fail">78.4%</td>',
    );
  });
});
