// The guard's per-tick judgement (the seam other judges plug into).
import { describe, expect, it } from 'vitest';
import { freshProgress, judgeTick } from '../../activities/guard.ts';
import type { ProbeSample } from '../../experiments/journal.ts';
import type { Guard } from '../../experiments/schema.ts';

const s = (ok: boolean, errorRate = ok ? 0 : 1): ProbeSample => ({
  probe: 'g',
  at: 'x',
  ok,
  requests: 2,
  errors: ok ? 0 : 2,
  errorRate,
  p50Ms: 1,
  p95Ms: 1,
  p99Ms: 1,
  maxMs: 1,
  violations: ok ? [] : ['error rate'],
  errorSamples: [],
});
const guard = { failuresToAbort: 2, interval: '1s', probes: [] } as unknown as Guard;

describe('judgeTick', () => {
  it('counts samples and failures; a violation needs failuresToAbort failing ticks in a row', () => {
    const st = freshProgress();
    expect(judgeTick(guard, st, [s(false)], 't1', 'n1')).toBeUndefined();
    expect(judgeTick(guard, st, [s(true)], 't2', 'n2')).toBeUndefined(); // the streak resets
    expect(judgeTick(guard, st, [s(false)], 't3', 'n3')).toBeUndefined();
    const v = judgeTick(guard, st, [s(true), s(false)], 't4', 'n4');
    expect(v).toMatchObject({ detectedAt: 'n4', firstFailureAt: 't3', failing: { ok: false } });
    expect(st).toMatchObject({ samples: 4, failed: 3, consecutiveFailures: 2 });
    expect(st.worst?.errorRate).toBe(1);
  });
});
