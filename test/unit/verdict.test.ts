// The verdict is one pure function: a table of what a run established and what it must conclude.
import { describe, expect, it } from 'vitest';
import { decideVerdict, type VerdictFacts } from '../../workflows/verdict.ts';
import type { ProbeSample } from '../../experiments/journal.ts';

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
];

describe('decideVerdict', () => {
  it.each(table)('%s', (_name, facts, verdict, reason) => {
    const v = decideVerdict({ ...base, ...facts });
    expect(v.verdict).toBe(verdict);
    expect(v.reason).toMatch(reason);
  });
});
