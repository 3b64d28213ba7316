// Calibration of the sequential guard, fixed seed. Healthy streams at the null rate must abort at most
// alpha of the time however often the guard looks (Ville); unhealthy ones must abort fast.
import { describe, expect, it } from 'vitest';
import { logThreshold, startE, updateE } from '../../judge/eprocess.ts';
import { mulberry32 } from '../../judge/random.ts';
import { binomial } from '../../judge/simulate.ts';

const P0 = 0.01;
const ALPHA = 0.05;
const STREAMS = 1000;
const PER_TICK = 20;
const TICKS = 1000; // 20,000 events a stream, one look per tick

function run(seed: number, rate: number, p0 = P0): { aborts: number; eventsToAbort: number[] } {
  const random = mulberry32(seed);
  const thr = logThreshold(ALPHA);
  const eventsToAbort: number[] = [];
  for (let s = 0; s < STREAMS; s++) {
    let e = startE(p0);
    for (let t = 0; t < TICKS; t++) {
      e = updateE(e, PER_TICK, binomial(random, PER_TICK, rate));
      if (e.logE >= thr) {
        eventsToAbort.push(e.n);
        break;
      }
    }
  }
  return { aborts: eventsToAbort.length, eventsToAbort: eventsToAbort.sort((a, b) => a - b) };
}

describe('sequential guard calibration (seed 42)', () => {
  it('aborts at most alpha of 1,000 healthy streams at the null rate (tolerance: 3 binomial SDs)', () => {
    const { aborts } = run(42, P0);
    const tolerance = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / STREAMS); // 0.0207
    expect(aborts / STREAMS).toBeLessThanOrEqual(ALPHA + tolerance);
  });

  it('at 5x the null rate every stream aborts within 1,000 events (median within 200)', () => {
    const { aborts, eventsToAbort } = run(43, 5 * P0);
    expect(aborts).toBe(STREAMS);
    expect(eventsToAbort.at(-1)).toBeLessThanOrEqual(1000);
    expect(eventsToAbort[STREAMS >> 1]).toBeLessThanOrEqual(200);
  });

  it('at 10x the null rate every stream aborts within 300 events (median within 80)', () => {
    const { aborts, eventsToAbort } = run(44, 10 * P0);
    expect(aborts).toBe(STREAMS);
    expect(eventsToAbort.at(-1)).toBeLessThanOrEqual(300);
    expect(eventsToAbort[STREAMS >> 1]).toBeLessThanOrEqual(80);
  });

  it('near 1 too: 1,000 healthy streams at p0 = 0.9995 (judging a fall of the bad-event rate below 0.05 %) abort at most alpha + 3 SD', () => {
    // The complement of the bad-event rate sits right at its null: Ville holds however close p0 is to 1,
    // because every alternative stays inside (p0, 1) (odds times m) and nothing is clamped.
    const { aborts } = run(45, 0.9995, 0.9995);
    const tolerance = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / STREAMS);
    expect(aborts / STREAMS).toBeLessThanOrEqual(ALPHA + tolerance);
  });
});
