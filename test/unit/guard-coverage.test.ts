// Guard coverage accounting (experiments/coverage.ts): the schedule from the first inject to the last window's
// end, samples due, taken and on time, the longest gap, each window's watched share, and what does not let a
// run pass. The blind spans that matter most are the ones no guard saw: before a retried guard resumes, and
// after its last sample.
import { describe, expect, it } from 'vitest';
import {
  blindNow,
  closeCoverage,
  coveragePlan,
  coverageShortfall,
  guardCadenceMs,
  guardMaxGapMs,
  nextSampleAt,
  sampled,
  seen,
  startCoverage,
  type CoveragePlan,
} from '../../experiments/coverage.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Guard } from '../../experiments/schema.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const guard = (g: Partial<Guard> = {}): Guard =>
  ({
    interval: '500ms',
    failuresToAbort: 2,
    minCoverage: 0.95,
    probes: [{ name: 'g', type: 'http', url: 'http://x/', requests: 1, timeout: '1s' }],
    ...g,
  }) as Guard;
/** One 9 s window from T0 (the torture run's window), guard every 500 ms. */
const plan9 = (g: Partial<Guard> = {}): CoveragePlan =>
  coveragePlan(guard(g), [{ fault: 0, from: T0, to: T0 + 9_000 }]);

/** Instant samples at these offsets (ms after T0), counted in order. */
function samples(plan: CoveragePlan, offsets: number[]) {
  const st = startCoverage(plan);
  for (const o of offsets) sampled(plan, st, T0 + o);
  return st;
}
const every = (from: number, to: number, step: number, late = 0) =>
  Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step + late);

describe('guard coverage', () => {
  it('a guard on schedule: every sample due taken and on time, longest gap one interval, the window fully watched', () => {
    const p = plan9();
    const c = closeCoverage(p, samples(p, every(10, 9_000, 500)));
    expect(c).toMatchObject({ intervalMs: 500, maxGapMs: 1_500, due: 18, taken: 18, onTime: 18, share: 1 });
    expect(c.longestGap.ms).toBe(500);
    expect(c.blind).toBeUndefined();
    expect(coverageShortfall(c)).toBeUndefined();
  });

  it('the torture run: a guard that died 7 s into its 9 s window and was not back before the end is blind for the last 2 s', () => {
    const p = plan9();
    const c = closeCoverage(p, samples(p, every(10, 7_000, 500))); // its last sample at 6.51 s
    expect(c).toMatchObject({ due: 18, taken: 14, onTime: 14 });
    expect(c.blind).toEqual({ ms: 2_490, from: '2026-01-01T00:00:06.510Z', to: '2026-01-01T00:00:09.000Z' });
    expect(c.longestGap).toEqual(c.blind);
    // Watched until the last sample's interval + 50 ms ran out: 7.06 s of 9 s.
    expect(c.windows[0]!.watchedMs).toBe(7_060);
    expect(c.share).toBeCloseTo(7_060 / 9_000, 6);
    expect(coverageShortfall(c)).toMatch(
      /^the guard saw nothing for 2\.5 s \(2026-01-01T00:00:06\.510Z to 2026-01-01T00:00:09\.000Z\), longer than guard\.maxGap 1\.5 s; the guard watched 78\.4% of fault 0's window, less than guard\.minCoverage 95%; it took 14 of the 18 samples due$/,
    );
  });

  it('a window nobody watched at all (no worker for the whole window): nothing taken, nothing watched, blind from the inject', () => {
    const p = plan9();
    const c = closeCoverage(p, startCoverage(p));
    expect(c).toMatchObject({ due: 18, taken: 0, onTime: 0, share: 0 });
    expect(c.blind).toEqual({ ms: 9_000, from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T00:00:09.000Z' });
  });

  it('a retried guard: the span before it resumed counts (live: blind while a fault is active), then it carries on', () => {
    const p = plan9();
    const st = samples(p, every(10, 3_000, 500)); // the heartbeated state: last sample at 2.51 s
    expect(blindNow(p, st, T0 + 3_900)).toBeUndefined(); // 1.39 s: within maxGap
    expect(blindNow(p, st, T0 + 5_600)).toEqual({ ms: 3_090, from: T0 + 2_510, to: T0 + 5_600 });
    // Resumed: the next sample is due at once (its slot passed), then on the schedule again.
    expect(nextSampleAt(p, st)).toBe(T0 + 3_000);
    for (const o of [5_600, 6_000, 6_500, 7_000, 7_500, 8_000, 8_500]) sampled(p, st, T0 + o);
    const c = closeCoverage(p, st);
    expect(c).toMatchObject({ due: 18, taken: 13, onTime: 12 }); // 5.6 s took slot 11, 100 ms late
    expect(c.blind).toEqual({ ms: 3_090, from: '2026-01-01T00:00:02.510Z', to: '2026-01-01T00:00:05.600Z' });
    expect(c.windows[0]!.watchedMs).toBe(9_000 - (5_550 - 3_060));
  });

  it('a guard that starts late: the span from the inject to its first sample is a gap; with no window open it is not live', () => {
    const p = plan9();
    const st = startCoverage(p);
    expect(blindNow(p, st, T0 + 1_400)).toBeUndefined();
    expect(blindNow(p, st, T0 + 1_600)).toEqual({ ms: 1_600, from: T0, to: T0 + 1_600 });
    expect(blindNow(p, st, T0 + 9_000)).toBeUndefined(); // the window is over: nothing left to revert for it
  });

  it('samples 60 ms late are taken but not on time, and watch all but the first 10 ms', () => {
    const p = plan9();
    const c = closeCoverage(p, samples(p, every(0, 9_000, 500, 60)));
    expect(c).toMatchObject({ due: 18, taken: 18, onTime: 0 });
    expect(c.windows[0]!.watchedMs).toBe(8_990);
    expect(coverageShortfall(c)).toBeUndefined();
  });

  it('every third sample skipped: no gap above maxGap, but a quarter of the window unwatched is a shortfall', () => {
    const p = plan9();
    const c = closeCoverage(
      p,
      samples(
        p,
        every(0, 9_000, 500).filter((_, i) => i % 3 !== 2),
      ),
    );
    expect(c).toMatchObject({ due: 18, taken: 12 });
    expect(c.blind).toBeUndefined();
    // Each skip inside leaves 1 s - 600 ms unwatched; the last slot skipped leaves 9 s - 8.55 s.
    expect(c.windows[0]!.watchedMs).toBe(9_000 - 5 * 400 - 450);
    expect(coverageShortfall(c)).toMatch(/watched 72\.8% of fault 0's window.*it took 12 of the 18 samples due/);
  });

  it('a slow sample is watching while its process runs (no gap): the samples it made late are recorded, not a shortfall', () => {
    const p = plan9();
    const st = startCoverage(p);
    // Each sample takes 2 s (a front that waits on frozen replicas); in flight, the guard sees every 100 ms.
    for (let s = 0; s < 9_000; s += 2_000) {
      for (let t = s; t < s + 2_000; t += 100) seen(p, st, T0 + t);
      sampled(p, st, T0 + s, T0 + s + 2_000);
    }
    const c = closeCoverage(p, st);
    expect(c.longestGap.ms).toBe(100);
    expect(c.blind).toBeUndefined();
    expect(c.share).toBe(1);
    expect(c).toMatchObject({ due: 18, taken: 5, slowestSampleMs: 2_000 });
    expect(coverageShortfall(c)).toBeUndefined();
  });

  it('a process that stalls for 2 s with a sample in flight: the stall is a gap', () => {
    const p = plan9();
    const st = samples(p, [0, 500, 1_000]);
    for (const t of [1_100, 1_200]) seen(p, st, T0 + t);
    expect(blindNow(p, st, T0 + 3_200)).toEqual({ ms: 2_000, from: T0 + 1_200, to: T0 + 3_200 });
  });

  it('a short window: one cadence unwatched, at least 500 ms, is allowed (the guard starting 130 ms late), more is not', () => {
    const p = coveragePlan(guard({ interval: '250ms' }), [{ fault: 0, from: T0, to: T0 + 1_000 }]);
    const late = closeCoverage(p, samples(p, [130, 250, 500, 750]));
    expect(late.share).toBeCloseTo(0.92, 6); // 80 ms before the first sample's 50 ms
    expect(coverageShortfall(late)).toBeUndefined();
    // 4 s, every other slot skipped: each 500 ms gap leaves 150 ms (and the tail 200 ms), no gap above maxGap
    // (1 s), 1.25 s in all: more than the 500 ms allowance.
    const p4 = coveragePlan(guard({ interval: '250ms' }), [{ fault: 0, from: T0, to: T0 + 4_000 }]);
    const half = closeCoverage(p4, samples(p4, every(0, 4_000, 500)));
    expect(half.blind).toBeUndefined();
    expect(half.windows[0]!.watchedMs).toBe(4_000 - 7 * 150 - 200);
    expect(coverageShortfall(half)).toBe(
      "the guard watched 68.8% of fault 0's window, less than guard.minCoverage 95%; it took 8 of the 16 samples due",
    );
  });

  it('the guard concluded at 3 s: nothing was due after it', () => {
    const p = plan9();
    const c = closeCoverage(p, samples(p, every(0, 3_000, 500)), T0 + 3_000);
    expect(c).toMatchObject({ due: 6, taken: 6, onTime: 6, share: 1, to: '2026-01-01T00:00:03.000Z' });
    expect(c.windows[0]!.watchedMs).toBe(3_000);
  });

  it('each fault window has its own share: a short one fully watched, a long one half', () => {
    const p = coveragePlan(guard(), [
      { fault: 0, from: T0, to: T0 + 5_000 },
      { fault: 1, from: T0 + 100, to: T0 + 20_100 },
    ]);
    const c = closeCoverage(p, samples(p, every(0, 10_000, 500)));
    expect(c.due).toBe(41); // 20.1 s from the first inject at 500 ms
    expect(c.windows.map((w) => w.share)).toEqual([1, (10_050 - 100) / 20_000]);
    expect(c.share).toBe(c.windows[1]!.share);
    expect(coverageShortfall(c)).toMatch(
      /the guard saw nothing for 10\.6 s .*the guard watched 49\.8% of fault 1's window/,
    );
  });

  it('a sample after the last window, or in a slot less than 50 ms before its end, is not counted; samples in one slot count once', () => {
    const p = coveragePlan(guard(), [{ fault: 0, from: T0, to: T0 + 1_030 }]);
    expect(closeCoverage(p, samples(p, [0, 100, 500, 1_030, 1_400]))).toMatchObject({ due: 2, taken: 2, onTime: 2 });
    // A late first sample, then the last slot (1 s) 30 ms before the end: 2 due, 2 taken, 1 on time.
    expect(closeCoverage(p, samples(p, [130, 500, 1_000]))).toMatchObject({ due: 2, taken: 2, onTime: 1 });
  });

  it("maxGap's default: three cadences, at least 1 s; the cadence is the probes' fixed measuring time when longer", () => {
    expect(guardMaxGapMs(guard({ interval: '250ms' }))).toBe(1_000);
    expect(guardMaxGapMs(guard({ interval: '500ms' }))).toBe(1_500);
    expect(guardMaxGapMs(guard({ interval: '2s', maxGap: '3s' }))).toBe(3_000);
    const slow = guard({
      interval: '1s',
      probes: [
        { name: 'p', type: 'prometheus', events: { total: 'a', bad: 'b' }, window: '5s' } as Guard['probes'][number],
      ],
    });
    expect(guardCadenceMs(slow)).toBe(5_000);
    expect(guardMaxGapMs(slow)).toBe(15_000);
  });
});

describe('guard coverage in the experiment language', () => {
  const doc = (g: string) => `
title: t
hypothesis: { statement: s, probes: [ { name: h, type: http, url: "http://127.0.0.1:1/" } ] }
method: [ { kind: proxy.latency, proxy: p, latency: 10ms, duration: 10s } ]
guard:
  interval: 500ms
${g}
  probes: [ { name: g, type: http, url: "http://127.0.0.1:1/", requests: 1 } ]
`;

  it('defaults: minCoverage 0.95, maxGap unset (three intervals, at least 1 s)', () => {
    const r = parseExperiment(doc(''), 'e.yaml');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.experiment.guard).toMatchObject({ minCoverage: 0.95 });
    if (r.ok) expect(r.experiment.guard?.maxGap).toBeUndefined();
  });

  it('a maxGap no schedule can meet, and a share above 1, are refused naming the line and field', () => {
    const r = parseExperiment(doc('  maxGap: 500ms\n  minCoverage: 1.5'), 'e.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const msgs = r.problems.map((p) => `${p.line} ${p.path} ${p.message}`);
    expect(msgs.join('\n')).toMatch(/guard\.minCoverage .*1/);
    const r2 = parseExperiment(doc('  maxGap: 500ms'), 'e.yaml');
    expect(r2.ok).toBe(false);
    if (r2.ok) return;
    expect(r2.problems.map((p) => `${p.line} ${p.path} ${p.message}`)).toEqual([
      expect.stringMatching(
        /^7 guard\.maxGap maxGap 500ms is shorter than one guard cadence \(500ms\) plus 50ms: .* give at least 550ms$/,
      ),
    ]);
  });
});
