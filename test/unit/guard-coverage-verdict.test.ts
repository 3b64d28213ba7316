// The verdict with guard coverage (workflows/verdict.ts): a window the guard did not watch as scheduled is
// never passed; an abort (the guard's own, for a blind gap, or anyone's) and a refutation outrank it.
import { describe, expect, it } from 'vitest';
import { decideVerdict, type VerdictFacts } from '../../workflows/verdict.ts';
import type { GuardCoverage, ProbeSample } from '../../experiments/journal.ts';

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
const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, '0')}.000Z`;
const window = { fault: 0, from: at(0), to: at(9) };
const full: GuardCoverage = {
  intervalMs: 500,
  maxGapMs: 1_500,
  minCoverage: 0.95,
  from: at(0),
  to: at(9),
  due: 18,
  taken: 18,
  onTime: 17,
  longestGap: { ms: 540, from: at(3), to: at(4) },
  windows: [{ ...window, watchedMs: 9_000, share: 1 }],
  share: 1,
};
/** The torture run: the worker (and the server) SIGKILLed 7 s into the 9 s window, not back before its end. */
const diedAt7: GuardCoverage = {
  ...full,
  taken: 14,
  onTime: 14,
  longestGap: { ms: 2_490, from: '2026-01-01T00:00:06.510Z', to: at(9) },
  blind: { ms: 2_490, from: '2026-01-01T00:00:06.510Z', to: at(9) },
  windows: [{ ...window, watchedMs: 7_060, share: 7_060 / 9_000 }],
  share: 7_060 / 9_000,
};
/** A 20 s window with samples skipped now and then: no gap above maxGap, but 8% (1.6 s) of it unwatched. */
const patchy: GuardCoverage = {
  ...full,
  to: at(20),
  due: 40,
  taken: 36,
  onTime: 30,
  longestGap: { ms: 1_200, from: at(3), to: at(4) },
  windows: [{ ...window, to: at(20), watchedMs: 18_400, share: 0.92 }],
  share: 0.92,
};
/** A 9 s window with 480 ms unwatched (94.7%): within a short window's allowance (one cadence, at least 500 ms). */
const shortPatchy: GuardCoverage = {
  ...full,
  windows: [{ ...window, watchedMs: 8_520, share: 8_520 / 9_000 }],
  share: 8_520 / 9_000,
};
/** 720 ms of it unwatched (92%): beyond the allowance. */
const shortPatchier: GuardCoverage = {
  ...full,
  windows: [{ ...window, watchedMs: 8_280, share: 0.92 }],
  share: 0.92,
};
const healthy = { after: { ok: true, samples: [sample(true)] } };
const base: VerdictFacts = { statement: 'it holds', recoveryTimeout: '30s', anyApplied: true };
const blindAbort = {
  by: 'guard' as const,
  reason:
    'the guard was blind: the guard saw nothing for 3.1s (2026-01-01T00:00:02.510Z to 2026-01-01T00:00:05.600Z), longer than guard.maxGap 1.5s',
  at: '2026-01-01T00:00:05.600Z',
  phase: 'observing' as const,
};

const table: [string, Partial<VerdictFacts>, string, RegExp][] = [
  [
    'the window fully watched, the steady state held: passed, saying how much was watched',
    { ...healthy, coverage: full },
    'passed',
    /^the steady state held: it holds; the guard took 18 of 18 samples due and watched at least 100% of every fault window$/,
  ],
  [
    'the guard died 7 s into its 9 s window and was not back before the end: inconclusive, naming the gap',
    { ...healthy, coverage: diedAt7 },
    'inconclusive',
    /^observing: the fault window was not watched as scheduled: the guard saw nothing for 2\.5 s \(2026-01-01T00:00:06\.510Z to 2026-01-01T00:00:09\.000Z\), longer than guard\.maxGap 1\.5 s; the guard watched 78\.4% of fault 0's window, less than guard\.minCoverage 95%; it took 14 of the 18 samples due; the steady state held after/,
  ],
  [
    'a 20 s window watched 92% with no gap above maxGap: inconclusive',
    { ...healthy, coverage: patchy },
    'inconclusive',
    /^observing: the fault window was not watched as scheduled: the guard watched 92% of fault 0's window, less than guard\.minCoverage 95%; it took 36 of the 40 samples due; the steady/,
  ],
  [
    'a 9 s window with 480 ms unwatched (the allowance of a short window): passed',
    { ...healthy, coverage: shortPatchy },
    'passed',
    /watched at least 94\.7% of every fault window$/,
  ],
  [
    'a 9 s window with 720 ms unwatched: inconclusive',
    { ...healthy, coverage: shortPatchier },
    'inconclusive',
    /the guard watched 92% of fault 0's window, less than guard\.minCoverage 95%/,
  ],
  [
    'a window watched not at all is never passed, whatever the allowance (a 1.5 s window before the guard started)',
    {
      ...healthy,
      coverage: {
        ...full,
        maxGapMs: 10_000,
        windows: [{ fault: 1, from: at(0), to: '2026-01-01T00:00:01.500Z', watchedMs: 0, share: 0 }, full.windows[0]!],
        share: 0,
      },
    },
    'inconclusive',
    /the guard watched 0% of fault 1's window/,
  ],
  [
    'the guard reverted for a blind gap: aborted, naming the gap (not inconclusive)',
    { ...healthy, abort: blindAbort, coverage: { ...diedAt7, to: blindAbort.at } },
    'aborted',
    /^the guard aborted the experiment during observing: the guard was blind: the guard saw nothing for 3\.1s .*longer than guard\.maxGap 1\.5s; every fault was reverted; the steady state recovered$/,
  ],
  [
    'an operator abort outranks the coverage',
    { ...healthy, abort: { ...blindAbort, by: 'operator', reason: 'stop' }, coverage: diedAt7 },
    'aborted',
    /^an operator aborted the experiment during observing: stop/,
  ],
  [
    'a steady state that did not recover is refuted whatever the coverage',
    { after: { ok: false, samples: [sample(false)] }, coverage: diedAt7 },
    'refuted',
    /^steady-state-after: the steady state did not recover within 30s/,
  ],
  [
    'a run without a guard has no coverage to judge: passed as before',
    { ...healthy },
    'passed',
    /^the steady state held: it holds$/,
  ],
];

describe('decideVerdict with guard coverage', () => {
  it.each(table)('%s', (_name, facts, verdict, reason) => {
    const v = decideVerdict({ ...base, ...facts });
    expect(v.verdict).toBe(verdict);
    expect(v.reason).toMatch(reason);
  });
});
