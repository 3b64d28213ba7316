// npm run bench:judge — three ways to guard one error-rate metric, on the same streams:
//   sequential: Faultline's judge, the Bernoulli mixture e-process, looks at every tick, aborts at 1/alpha;
//   threshold:  "N failing ticks in a row" (Faultline's old guard, Argo Rollouts' failureLimit), a tick fails
//               when its bad events pass a threshold; the threshold is calibrated on other windows to the
//               same false-abort budget alpha (and "any error, 1 tick", the naive default, is shown too);
//   fixed horizon: Kayenta's judgement, a one-sided Mann-Whitney U test of per-tick error rates against a
//               baseline window, once, at the end of the window, at level alpha.
// Two sets of streams, in the same run:
//   simulated: seeded Bernoulli counts, 50 requests per tick at 1 % (healthy) and 2, 5, 10 times that;
//   real: per-tick counter streams recorded from the real demo through the real Prometheus
//         (bench/fixtures/judge-streams.json, re-recorded by npm run bench:judge:record): a background
//         error rate of about 1 % and faults raising it about 2, 5 and 10 times. Windows are resampled from
//         the recordings in blocks of 10 ticks (seeded), so 1,000 windows come from a few minutes of traffic.
// And the control-group guard (two-sample) against a before-baseline guard when a shift hits both groups.
// Figures: false aborts over 1,000 healthy windows; detections, events and seconds to abort.
// Writes bench/results/judge.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { logThreshold, startE, updateE } from '../judge/eprocess.ts';
import { mannWhitneyGreater } from '../judge/mann-whitney.ts';
import { mulberry32 } from '../judge/random.ts';
import { binomial } from '../judge/simulate.ts';
import { counterDelta } from '../judge/counters.ts';
import { upperConfidenceBound } from '../judge/binomial.ts';
import { startTwoSample, updateTwoSample } from '../judge/two-sample.ts';
import { PROJECT_ROOT } from '../config.ts';

const ALPHA = 0.05;
const BASE = 0.01; // simulated baseline error rate
const PER_TICK = 50; // simulated requests per tick (50 req/s at a 1 s tick)
const TICKS = 120; // a 2-minute fault window at 1 s
const REAL_TICKS = 90; // the real fault recordings are 90 ticks long
const TICK_S = 1;
const WINDOWS = 1000;
const MULTS = [2, 5, 10];
const BLOCK = 10;

/** Events and bad events per tick. */
type Stream = { n: number; x: number }[];
function streams(seed: number, rate: number, n = WINDOWS): Stream[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: TICKS }, () => ({ n: PER_TICK, x: binomial(r, PER_TICK, rate) })),
  );
}

/** The tick at which a guard aborts (1-based), or null. */
type Guard = (s: Stream, baseline: Stream) => number | null;

const sequential =
  (p0: number): Guard =>
  (s) => {
    const thr = logThreshold(ALPHA);
    let e = startE(p0);
    for (let t = 0; t < s.length; t++) {
      e = updateE(e, s[t]!.n, s[t]!.x);
      if (e.logE >= thr) return t + 1;
    }
    return null;
  };

const threshold =
  (badPerTick: number, inARow: number): Guard =>
  (s) => {
    let streak = 0;
    for (let t = 0; t < s.length; t++) {
      streak = s[t]!.x >= badPerTick ? streak + 1 : 0;
      if (streak >= inARow) return t + 1;
    }
    return null;
  };

const rates = (s: Stream) => s.filter((t) => t.n > 0).map((t) => t.x / t.n);
const fixedHorizon: Guard = (s, baseline) => (mannWhitneyGreater(rates(baseline), rates(s)) <= ALPHA ? s.length : null);

function falseAborts(g: Guard, healthy: Stream[], baselines: Stream[]): number {
  return healthy.filter((s, i) => g(s, baselines[i % baselines.length] as Stream) !== null).length / healthy.length;
}

/** The fastest "k bad in a tick, N ticks in a row" rule within the false-abort budget, on calibration windows. */
function calibrateThreshold(healthy: Stream[], fast: Stream[]): { badPerTick: number; inARow: number } {
  let best: { badPerTick: number; inARow: number; ticks: number } | undefined;
  for (let inARow = 1; inARow <= 5; inARow++)
    for (let k = 1; k <= 10; k++) {
      const g = threshold(k, inARow);
      if (falseAborts(g, healthy, healthy) > ALPHA) continue;
      const hits = fast.map((s) => g(s, s) ?? s.length + 1);
      const ticks = hits.reduce((a, b) => a + b, 0) / hits.length;
      if (!best || ticks < best.ticks) best = { badPerTick: k, inARow, ticks };
      break; // larger k only gets slower for this N
    }
  if (!best) throw new Error('no threshold rule fits the false-abort budget');
  return { badPerTick: best.badPerTick, inARow: best.inARow };
}

/** Windows of `len` ticks resampled from a recorded stream in blocks of BLOCK consecutive ticks (seeded). */
function resample(src: Stream, seed: number, len: number, n = WINDOWS): Stream[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const w: Stream = [];
    while (w.length < len) {
      const at = Math.floor(r() * (src.length - BLOCK + 1));
      w.push(...src.slice(at, at + Math.min(BLOCK, len - w.length)));
    }
    return w;
  });
}

interface Recorded {
  how: string;
  /** Raw counter readings, one a tick: [epoch ms, total, bad]. */
  conditions: { name: string; mult: number; ticks: [number, number, number][] }[];
}
function ticksOf(c: Recorded['conditions'][number]): Stream {
  const out: Stream = [];
  for (let i = 1; i < c.ticks.length; i++) {
    const a = c.ticks[i - 1]!;
    const b = c.ticks[i]!;
    const d = counterDelta({ total: a[1], part: a[2], partIs: 'bad' }, { total: b[1], part: b[2], partIs: 'bad' });
    out.push({ n: d.events, x: d.bad });
  }
  return out;
}

interface Cell {
  mult: number;
  detected: number;
  eventsMedian: number;
  eventsP95: number;
  secondsMedian: number;
  secondsP95: number;
}
interface Row {
  name: string;
  note: string;
  falseAbortRate: number;
  detection: Cell[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : NaN;
};
const p95 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] as number) : NaN;
};

const eventsTo = (s: Stream, tick: number) => s.slice(0, tick).reduce((a, t) => a + t.n, 0);

/** One set of streams through every guard: the table's rows. */
function judgeAll(
  p0: number,
  cal: { badPerTick: number; inARow: number },
  healthy: Stream[],
  baselines: Stream[],
  faulty: { mult: number; windows: Stream[] }[],
  perTick: string,
): Row[] {
  const guards: { name: string; guard: Guard; note: string }[] = [
    { name: 'sequential (e-process)', guard: sequential(p0), note: `abort at E >= ${1 / ALPHA}, every tick` },
    {
      name: 'threshold, calibrated',
      guard: threshold(cal.badPerTick, cal.inARow),
      note: `>= ${cal.badPerTick} bad of ${perTick} in ${cal.inARow} ticks in a row`,
    },
    {
      name: 'threshold, any error',
      guard: threshold(1, 1),
      note: 'one failing tick (maxErrorRate 0, failuresToAbort 1)',
    },
    { name: 'fixed horizon (Mann-Whitney)', guard: fixedHorizon, note: `one-sided U test at the end, level ${ALPHA}` },
  ];
  return guards.map(({ name, guard, note }) => ({
    name,
    note,
    falseAbortRate: falseAborts(guard, healthy, baselines),
    detection: faulty.map(({ mult, windows }) => {
      const hits = windows
        .map((s, i) => ({ s, t: guard(s, baselines[i % baselines.length] as Stream) }))
        .filter((h): h is { s: Stream; t: number } => h.t !== null);
      return {
        mult,
        detected: hits.length / windows.length,
        eventsMedian: median(hits.map((h) => eventsTo(h.s, h.t))),
        eventsP95: p95(hits.map((h) => eventsTo(h.s, h.t))),
        secondsMedian: median(hits.map((h) => h.t)) * TICK_S,
        secondsP95: p95(hits.map((h) => h.t)) * TICK_S,
      };
    }),
  }));
}

const fmt = (v: number) => (Number.isFinite(v) ? String(v) : '–');
function print(title: string, rows: Row[]): void {
  console.log(`\n${title}\n`);
  console.log(
    '| guard | false aborts (1,000 healthy) | ' +
      rows[0]!.detection.map((d) => `${d.mult}x: detected, events p50, s to abort p50 / p95`).join(' | ') +
      ' |',
  );
  console.log('|---|---|' + rows[0]!.detection.map(() => '---|').join(''));
  for (const r of rows)
    console.log(
      `| ${r.name} | ${(r.falseAbortRate * 100).toFixed(1)}% | ` +
        r.detection
          .map(
            (d) =>
              `${(d.detected * 100).toFixed(0)}%, ${fmt(d.eventsMedian)}, ${fmt(d.secondsMedian)} / ${fmt(d.secondsP95)} s`,
          )
          .join(' | ') +
        ' |',
    );
  const seq = rows[0]!;
  console.log('ratios of median seconds to abort (other guard / sequential):');
  for (const r of rows.slice(1))
    console.log(
      `  ${r.name}: ` +
        r.detection
          .map(
            (d, k) =>
              `${d.mult}x ${fmt(Math.round((d.secondsMedian / (seq.detection[k]?.secondsMedian ?? NaN)) * 100) / 100)}`,
          )
          .join(', '),
    );
}

// Simulated: the null rate is the true baseline rate.
const simCal = calibrateThreshold(streams(900, BASE), streams(901, 5 * BASE, 300));
const simulated = judgeAll(
  BASE,
  simCal,
  streams(1, BASE),
  streams(2, BASE),
  MULTS.map((m, k) => ({ mult: m, windows: streams(10 + k, m * BASE) })),
  String(PER_TICK),
);
print(
  `bench:judge, simulated: baseline error rate ${BASE * 100}%, ${PER_TICK} requests per ${TICK_S} s tick, windows of ${TICKS} ticks, alpha ${ALPHA}, ${WINDOWS} windows per cell`,
  simulated,
);

// Real: the first 60 baseline ticks are the baseline (the judge's null: its 95% upper bound, as a judged
// metric with allowedIncrease 1 would take it; the Mann-Whitney's reference sample); the other ticks make
// the healthy windows; each fault recording makes its own windows.
const rec = JSON.parse(
  readFileSync(path.join(PROJECT_ROOT, 'bench', 'fixtures', 'judge-streams.json'), 'utf8'),
) as Recorded;
const base = ticksOf(rec.conditions.find((c) => c.mult === 1)!);
const baseWindow = base.slice(0, 60);
const healthyTicks = base.slice(60);
const bn = baseWindow.reduce((a, t) => a + t.n, 0);
const bx = baseWindow.reduce((a, t) => a + t.x, 0);
const realP0 = upperConfidenceBound(bn, bx, 0.95);
const faults = rec.conditions
  .filter((c) => c.mult > 1)
  .map((c, k) => ({ mult: c.mult, stream: ticksOf(c), windows: resample(ticksOf(c), 30 + k, REAL_TICKS) }));
const realCal = calibrateThreshold(
  resample(healthyTicks, 910, REAL_TICKS),
  resample(faults.find((f) => f.mult === 5)!.stream, 911, REAL_TICKS, 300),
);
const perTickReal = median(base.map((t) => t.n));
const real = judgeAll(realP0, realCal, resample(healthyTicks, 20, REAL_TICKS), [baseWindow], faults, `~${perTickReal}`);
const observed = (s: Stream) =>
  s.reduce((a, t) => a + t.x, 0) /
  Math.max(
    1,
    s.reduce((a, t) => a + t.n, 0),
  );
print(
  `bench:judge, real streams (${rec.how}): baseline ${(observed(base) * 100).toFixed(2)}% (${bn} events in the 60-tick baseline window, null rate p0 = its 95% upper bound ${(realP0 * 100).toFixed(2)}%), faults at ${faults.map((f) => `${(observed(f.stream) * 100).toFixed(2)}%`).join(', ')}; median ${perTickReal} requests per tick; windows of ${REAL_TICKS} ticks resampled in blocks of ${BLOCK}`,
  real,
);

// Control group (ChAP), simulated: one faulted replica of three (10 events a tick) against two untouched
// ones (20 events a tick), control at 1 %, allowed 2x. "shared shift": at tick 30 BOTH groups go to 5 % (a
// shared dependency, load): not the fault's doing. The before-baseline guard (p0 = 1 % x 2 on the
// experiment group alone) blames the fault; the two-sample guard compares the groups tick by tick.
function groupRun(seed: number, exp: (t: number) => number, ctl: (t: number) => number) {
  const r = mulberry32(seed);
  const thr = logThreshold(ALPHA);
  let single = 0;
  let two = 0;
  const twoTicks: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    let e = startE(2 * BASE);
    const st = startTwoSample(2);
    let singleDone = false;
    let twoDone = false;
    for (let t = 0; t < TICKS && !(singleDone && twoDone); t++) {
      const xe = binomial(r, 10, exp(t));
      const xc = binomial(r, 20, ctl(t));
      e = updateE(e, 10, xe);
      updateTwoSample(st, { n: 10, x: xe }, { n: 20, x: xc });
      if (!singleDone && e.logE >= thr) {
        singleDone = true;
        single++;
      }
      if (!twoDone && st.logE >= thr) {
        twoDone = true;
        two++;
        twoTicks.push(t + 1);
      }
    }
  }
  return { beforeBaseline: single / WINDOWS, twoSample: two / WINDOWS, twoSampleSecondsMedian: median(twoTicks) };
}
const shift = (t: number) => (t < 30 ? BASE : 5 * BASE);
const controlGroup = {
  healthy: groupRun(
    60,
    () => BASE,
    () => BASE,
  ),
  sharedShift: groupRun(61, shift, shift),
  fault5x: groupRun(
    62,
    () => 5 * BASE,
    () => BASE,
  ),
  fault10x: groupRun(
    63,
    () => 10 * BASE,
    () => BASE,
  ),
};
console.log(
  `\nbench:judge, control group (simulated): 10 experiment and 20 control events a tick, control ${BASE * 100}%, allowed 2x, windows of ${TICKS} ticks, ${WINDOWS} per row\n`,
);
console.log(
  '| scenario | aborts: before-baseline guard (experiment group alone) | aborts: two-sample guard | two-sample s to abort p50 |',
);
console.log('|---|---|---|---|');
for (const [name, c] of Object.entries(controlGroup))
  console.log(
    `| ${name} | ${(c.beforeBaseline * 100).toFixed(1)}% | ${(c.twoSample * 100).toFixed(1)}% | ${fmt(c.twoSampleSecondsMedian)} |`,
  );

const out = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, node: process.version },
  setup: {
    alpha: ALPHA,
    windows: WINDOWS,
    tickSeconds: TICK_S,
    simulated: { baselineRate: BASE, perTick: PER_TICK, ticks: TICKS, seeds: 'fixed' },
    real: {
      fixture: 'bench/fixtures/judge-streams.json',
      how: rec.how,
      baselineRate: observed(base),
      faultRates: faults.map((f) => ({ mult: f.mult, rate: observed(f.stream) })),
      p0: realP0,
      ticks: REAL_TICKS,
      block: BLOCK,
    },
  },
  calibratedThreshold: { simulated: simCal, real: realCal },
  results: simulated.map((r) => ({ ...r, guard: r.name, streams: 'simulated' })),
  realResults: real.map((r) => ({ ...r, guard: r.name, streams: 'real' })),
  controlGroup,
};
const dir = path.join(PROJECT_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'judge.json'), JSON.stringify(out, null, 2) + '\n');
console.log(`\nwrote bench/results/judge.json`);
