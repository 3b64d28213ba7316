// npm run bench:judge — three ways to guard one error-rate metric, on the same seeded streams:
//   sequential: Faultline's judge, the Bernoulli mixture e-process, looks at every tick, aborts at 1/alpha;
//   threshold:  "N failing ticks in a row" (Faultline's old guard, Argo Rollouts' failureLimit), a tick fails
//               when its error rate passes a threshold; the threshold is calibrated on other seeds to the
//               same false-abort budget alpha (and "any error, 1 tick", the naive default, is shown too);
//   fixed horizon: Kayenta's judgement, a one-sided Mann-Whitney U test of per-tick error rates against a
//               baseline window of the same length, once, at the end of the window, at level alpha.
// Healthy windows run at the baseline rate; unhealthy ones at 2, 5 and 10 times it from the first tick.
// Figures: false aborts over 1,000 healthy windows; detections, events and seconds to abort.
// Writes bench/results/judge.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { logThreshold, startE, updateE } from '../judge/eprocess.ts';
import { mannWhitneyGreater } from '../judge/mann-whitney.ts';
import { binomial, rng } from '../judge/simulate.ts';
import { PROJECT_ROOT } from '../config.ts';

const ALPHA = 0.05;
const BASE = 0.01; // baseline error rate
const PER_TICK = 50; // requests per tick (50 req/s at a 1 s tick)
const TICKS = 120; // a 2-minute fault window at 1 s
const TICK_S = 1;
const WINDOWS = 1000;
const MULTS = [2, 5, 10];

type Stream = number[]; // bad events per tick
function streams(seed: number, rate: number, n = WINDOWS): Stream[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: TICKS }, () => binomial(r, PER_TICK, rate)));
}

/** The tick at which a guard aborts (1-based), or null. */
type Guard = (s: Stream, baseline: Stream) => number | null;

const sequential: Guard = (s) => {
  const thr = logThreshold(ALPHA);
  let e = startE(BASE);
  for (let t = 0; t < s.length; t++) {
    e = updateE(e, PER_TICK, s[t] as number);
    if (e.logE >= thr) return t + 1;
  }
  return null;
};

const threshold =
  (badPerTick: number, inARow: number): Guard =>
  (s) => {
    let streak = 0;
    for (let t = 0; t < s.length; t++) {
      streak = (s[t] as number) >= badPerTick ? streak + 1 : 0;
      if (streak >= inARow) return t + 1;
    }
    return null;
  };

const fixedHorizon: Guard = (s, baseline) =>
  mannWhitneyGreater(
    baseline.map((x) => x / PER_TICK),
    s.map((x) => x / PER_TICK),
  ) <= ALPHA
    ? s.length
    : null;

function falseAborts(g: Guard, healthy: Stream[], baselines: Stream[]): number {
  return healthy.filter((s, i) => g(s, baselines[i] as Stream) !== null).length / healthy.length;
}

/** The fastest "k bad in a tick, N ticks in a row" rule within the false-abort budget, on calibration seeds. */
function calibrateThreshold(): { badPerTick: number; inARow: number } {
  const healthy = streams(900, BASE);
  const fast = streams(901, 5 * BASE, 300);
  let best: { badPerTick: number; inARow: number; ticks: number } | undefined;
  for (let inARow = 1; inARow <= 5; inARow++)
    for (let k = 1; k <= 10; k++) {
      const g = threshold(k, inARow);
      if (falseAborts(g, healthy, healthy) > ALPHA) continue;
      const hits = fast.map((s) => g(s, s) ?? TICKS + 1);
      const ticks = hits.reduce((a, b) => a + b, 0) / hits.length;
      if (!best || ticks < best.ticks) best = { badPerTick: k, inARow, ticks };
      break; // larger k only gets slower for this N
    }
  if (!best) throw new Error('no threshold rule fits the false-abort budget');
  return { badPerTick: best.badPerTick, inARow: best.inARow };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : NaN;
};
const p95 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] as number) : NaN;
};

const cal = calibrateThreshold();
const guards: { name: string; guard: Guard; note: string }[] = [
  { name: 'sequential (e-process)', guard: sequential, note: `abort at E >= ${1 / ALPHA}, every tick` },
  {
    name: 'threshold, calibrated',
    guard: threshold(cal.badPerTick, cal.inARow),
    note: `>= ${cal.badPerTick} of ${PER_TICK} bad (${((100 * cal.badPerTick) / PER_TICK).toFixed(0)}%) in ${cal.inARow} ticks in a row`,
  },
  {
    name: 'threshold, any error',
    guard: threshold(1, 1),
    note: 'one failing tick (maxErrorRate 0, failuresToAbort 1)',
  },
  { name: 'fixed horizon (Mann-Whitney)', guard: fixedHorizon, note: `one-sided U test at the end, level ${ALPHA}` },
];

const healthy = streams(1, BASE);
const baselines = streams(2, BASE);
const results = guards.map(({ name, guard, note }) => {
  const fa = falseAborts(guard, healthy, baselines);
  const detection = MULTS.map((m, k) => {
    const bad = streams(10 + k, m * BASE);
    const ticks = bad.map((s, i) => guard(s, baselines[i] as Stream)).filter((t): t is number => t !== null);
    return {
      mult: m,
      detected: ticks.length / bad.length,
      eventsMedian: median(ticks) * PER_TICK,
      eventsP95: p95(ticks) * PER_TICK,
      secondsMedian: median(ticks) * TICK_S,
      secondsP95: p95(ticks) * TICK_S,
    };
  });
  return { name, note, falseAbortRate: fa, detection };
});

const seqRes = results[0] as (typeof results)[number];
const fmt = (v: number) => (Number.isFinite(v) ? String(v) : '–');
console.log(
  `\nbench:judge — baseline error rate ${BASE * 100}%, ${PER_TICK} requests per ${TICK_S} s tick, windows of ${TICKS} ticks, alpha ${ALPHA}, ${WINDOWS} windows per cell\n`,
);
console.log(
  '| guard | false aborts (1,000 healthy) | ' +
    MULTS.map((m) => `${m}x: detected, events p50, s to abort p50 / p95`).join(' | ') +
    ' |',
);
console.log('|---|---|' + MULTS.map(() => '---|').join(''));
for (const r of results)
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
console.log('\nratios of median seconds to abort (other guard / sequential):');
for (const r of results.slice(1))
  console.log(
    `  ${r.name}: ` +
      r.detection
        .map(
          (d, k) =>
            `${d.mult}x ${fmt(Math.round((d.secondsMedian / (seqRes.detection[k]?.secondsMedian ?? NaN)) * 100) / 100)}`,
        )
        .join(', '),
  );

const out = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, node: process.version },
  setup: {
    alpha: ALPHA,
    baselineRate: BASE,
    perTick: PER_TICK,
    ticks: TICKS,
    tickSeconds: TICK_S,
    windows: WINDOWS,
    seeds: 'fixed',
  },
  calibratedThreshold: cal,
  results: results.map((r) => ({ ...r, guard: r.name })),
};
const dir = path.join(PROJECT_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'judge.json'), JSON.stringify(out, null, 2) + '\n');
console.log(`\nwrote bench/results/judge.json`);
