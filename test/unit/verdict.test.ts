// The verdict is one pure function: a table of what a run established and what it must conclude.
import { describe, expect, it } from 'vitest';
import { decideVerdict, type VerdictFacts } from '../../workflows/verdict.ts';
import { pausesOn } from '../../workflows/scheduled.ts';
import { exitCodeFor, VERDICTS, type ProbeSample } from '../../experiments/journal.ts';
import type { NoDataFinding } from '../../judge/guard.ts';
import type { Scorecard } from '../../judge/classify.ts';

const sample = (ok: boolean): ProbeSample => ({
  probe: 'front',
  at: '2026-01-01T00:00:10.000Z',
  ok,
  requests: 10,
  errors: ok ? 0 : 10,
  errorRate: ok ? 0 : 1,
  p50Ms: 1,
  p95Ms: 1,
  p99Ms: 1,
  maxMs: 1,
  violations: ok ? [] : ['error rate 100.0% > 0.0%'],
  errorSamples: [],
});
const base: VerdictFacts = { statement: 'it holds', recoveryTimeout: '30s', anyApplied: true };
const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, '0')}.000Z`;
const operator = { by: 'operator' as const, reason: 'stop', at: at(5), phase: 'observing' as const };
const guard = { by: 'guard' as const, reason: 'guard probe g failed', at: at(5), phase: 'observing' as const };

const card = (result: Scorecard['result']): Scorecard => ({
  score: 40,
  result,
  groups: [{ name: 'errors', weight: 100, score: 40, metrics: 1 }],
  criticalFailed: [],
});
const noData = (noDataTicks: number, ticks: number, maxNoData = 0.1): NoDataFinding => ({
  metric: 'errors',
  ticks,
  noDataTicks,
  maxNoData,
  events: 1000,
});

const table: [string, Partial<VerdictFacts>, string, RegExp][] = [
  [
    'the steady state held',
    { after: { ok: true, samples: [sample(true)] } },
    'passed',
    /^the steady state held: it holds$/,
  ],
  [
    'the after-check never recovered',
    { after: { ok: false, samples: [sample(false)] } },
    'refuted',
    /^steady-state-after: the steady state did not recover within 30s: front: error rate/,
  ],
  [
    'the steady state did not hold before',
    { notHeldBefore: [sample(false)], anyApplied: false },
    'not-started',
    /^steady-state-before: the steady state did not hold, nothing was injected/,
  ],
  [
    'an activity failed before anything was injected',
    { failure: { phase: 'selecting', cause: 'no route x', at: at(1) }, anyApplied: false },
    'not-started',
    /^selecting: no route x; nothing was injected$/,
  ],
  [
    'an inject failed',
    { failure: { phase: 'injecting', cause: 'boom', at: at(1) } },
    'failed',
    /^injecting: boom; everything injected was reverted$/,
  ],
  [
    'an operator abort outranks the failure its cancellation caused',
    { abort: operator, failure: { phase: 'observing', cause: 'activity Heartbeat timeout', at: at(6) } },
    'aborted',
    /^an operator aborted the experiment during observing: stop; every fault was reverted$/,
  ],
  [
    'a failure before the abort stays a failure',
    { abort: operator, failure: { phase: 'injecting', cause: 'boom', at: at(4) } },
    'failed',
    /^injecting: boom/,
  ],
  [
    'a guard abort, recovered',
    { abort: guard, after: { ok: true, samples: [sample(true)] } },
    'aborted',
    /^the guard aborted the experiment during observing: guard probe g failed; every fault was reverted; the steady state recovered$/,
  ],
  [
    'a guard abort, not recovered',
    { abort: guard, after: { ok: false, samples: [sample(false)] } },
    'aborted',
    /the steady state did NOT recover: front: error rate/,
  ],
  [
    'an abort before any inject',
    { abort: { ...operator, phase: 'steady-state-before' }, anyApplied: false },
    'aborted',
    /during steady-state-before: stop; nothing was injected$/,
  ],
  [
    'a cancellation',
    { abort: { by: 'cancel', reason: 'the workflow was cancelled', at: at(3) } },
    'aborted',
    /^a cancellation aborted the experiment: the workflow was cancelled/,
  ],
  ['no after-check and nothing else', {}, 'failed', /^steady-state-after: the steady state was not checked$/],
  [
    'a judged metric with no data for more than maxNoData of its ticks',
    { after: { ok: true, samples: [sample(true)] }, judged: card('pass'), judgeNoData: [noData(9, 20)] },
    'inconclusive',
    /^observing: the judge cannot tell whether the steady state held: judged metric errors had no data for 45% of its ticks \(9 of 20\), more than maxNoData 10%$/,
  ],
  [
    'a window of nothing but no data (the score says nodata)',
    { after: { ok: true, samples: [sample(true)] }, judged: card('nodata'), judgeNoData: [noData(20, 20)] },
    'inconclusive',
    /judged metric errors had no data for 100% of its ticks \(20 of 20\)/,
  ],
  [
    'a judged metric with data but no event, and another over its share',
    {
      after: { ok: true, samples: [sample(true)] },
      judged: card('pass'),
      judgeNoData: [
        { ...noData(0, 20), events: 0 },
        { ...noData(5, 20, 0.2), metric: 'slow' },
      ],
    },
    'inconclusive',
    /: judged metric errors counted no event in the window \(20 ticks\); judged metric slow had no data for 25% of its ticks \(5 of 20\), more than maxNoData 20%$/,
  ],
  [
    'a failing score outranks no data: evidence of harm is a finding',
    { after: { ok: true, samples: [sample(true)] }, judged: card('fail'), judgeNoData: [noData(9, 20)] },
    'refuted',
    /^observing: the judge scored the window 40 \(fail/,
  ],
  [
    'an after-check that did not recover outranks no data',
    { after: { ok: false, samples: [sample(false)] }, judgeNoData: [noData(9, 20)] },
    'refuted',
    /^steady-state-after: /,
  ],
  [
    'a guard abort outranks no data',
    { abort: guard, after: { ok: true, samples: [sample(true)] }, judgeNoData: [noData(9, 20)] },
    'aborted',
    /^the guard aborted the experiment/,
  ],
  [
    'a judge report from before inconclusive existed (no list) passes as it did',
    { after: { ok: true, samples: [sample(true)] }, judged: card('nodata') },
    'passed',
    /^the steady state held: it holds; the judge scored the window 40 \(nodata/,
  ],
];

describe('decideVerdict', () => {
  it.each(table)('%s', (_name, facts, verdict, reason) => {
    const v = decideVerdict({ ...base, ...facts });
    expect(v.verdict).toBe(verdict);
    expect(v.reason).toMatch(reason);
  });
});

describe('inconclusive', () => {
  it('has its own exit code: non-zero, distinct from every other verdict', () => {
    expect(exitCodeFor('inconclusive')).toBe(4);
    const others = VERDICTS.filter((v) => v !== 'inconclusive').map(exitCodeFor);
    expect(others).not.toContain(4);
    expect(exitCodeFor('passed')).toBe(0);
  });

  it('pauses a schedule wherever refuted does, or where it is listed itself', () => {
    expect(pausesOn(['aborted', 'refuted'], 'inconclusive')).toBe(true); // the default pauseOn
    expect(pausesOn(['inconclusive'], 'inconclusive')).toBe(true);
    expect(pausesOn(['aborted'], 'inconclusive')).toBe(false);
    expect(pausesOn(['aborted', 'refuted'], 'passed')).toBe(false);
    expect(pausesOn(['aborted', 'refuted'], 'refuted')).toBe(true);
  });
});
