// No data is never a pass. An expression with no series at baseline names itself and the run is
// not-started (unless the metric says absentMeansZero, which reads it as 0); during the window a query error
// or an empty result is no data for that tick, and a metric with no data for more than its maxNoData share
// of the ticks (or no event at all) makes the run inconclusive.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { judgeSchema, experimentSchema } from '../../experiments/schema.ts';
import {
  baselineOf,
  DEFAULT_MAX_NO_DATA,
  judgeReport,
  judgeTick,
  noSeriesReason,
  shareOf,
  startJudge,
} from '../../judge/guard.ts';
import { readingOf, type CounterReading, type ExprValue } from '../../judge/counters.ts';
import { decideVerdict } from '../../workflows/verdict.ts';
import { runJudge } from '../../activities/judge.ts';

const T0 = Date.UTC(2026, 10, 25, 12);
const ev = { total: 'sum(http_requests_total{job="api"})', bad: 'sum(http_requests_total{job="api",cod="500"})' };
const judge = (metric: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  judgeSchema.parse({ metrics: [{ name: 'errors', events: ev, ...metric }], ...extra });
const r = (total: number, part: number): CounterReading => ({ total, part, partIs: 'bad' });
const iso = (ms: number) => new Date(ms).toISOString();
const total = (value: number | null): ExprValue => ({ field: 'events.total', expr: ev.total, value });
const bad = (value: number | null): ExprValue => ({ field: 'events.bad', expr: ev.bad, value });
const facts = { statement: 's', recoveryTimeout: '10s', anyApplied: true, after: { ok: true, samples: [] } };

/** Judges `ticks` ticks where the listed ones have no data; returns the verdict the workflow would reach. */
function window(ticks: number, noData: (i: number) => boolean, metric: Record<string, unknown> = {}) {
  const j = judge({ maxRate: 0.05, ...metric });
  const s = startJudge(j, {});
  for (let i = 0; i < ticks; i++) judgeTick(s, 'errors', noData(i) ? null : r(i * 50, 0), T0 + i * 1000);
  const rep = judgeReport(s, j);
  return { rep, ...decideVerdict({ ...facts, judged: rep.scorecard, judgeNoData: rep.inconclusive }) };
}

describe('an expression with no series', () => {
  it('at baseline: no reading, and the reason names the metric, the expression and the fix', () => {
    const read = readingOf(total(1200), bad(null));
    expect(read.reading).toBeNull();
    const why = noSeriesReason(judge().metrics[0]!, read.missing, 'at the start of the baseline');
    expect(why).toBe(
      `judged metric errors: events.bad ${JSON.stringify(ev.bad)} returned no series at the start of the baseline, so nothing can be judged against it: a typo in a metric or label name, or a counter that does not exist until its first event (then set absentMeansZero: true on the metric)`,
    );
    // measureBaseline throws it as InvalidInput before anything is planned: the run is not-started.
    const v = decideVerdict({
      ...facts,
      anyApplied: false,
      after: undefined,
      failure: { phase: 'steady-state-before', cause: `InvalidInput: ${why}`, at: iso(T0) },
    });
    expect(v.verdict).toBe('not-started');
    expect(v.reason).toMatch(
      /^steady-state-before: InvalidInput: judged metric errors: events\.bad .* nothing was injected$/,
    );
  });

  it('absentMeansZero reads a missing expression as 0 while the other answers, never both', () => {
    expect(readingOf(total(1200), bad(null), true)).toEqual({ reading: r(1200, 0), missing: [bad(null)] });
    expect(readingOf(total(null), bad(null), true).reading).toBeNull(); // a scrape gap is no data, not zeros
    expect(noSeriesReason({ name: 'errors', absentMeansZero: true }, [total(null), bad(null)], 'now')).toMatch(
      /^judged metric errors: events\.total ".*" and events\.bad ".*" returned no series now, .*absentMeansZero reads one missing expression as 0, not all of them/,
    );
    const good: ExprValue = { field: 'events.good', expr: 'g', value: null };
    expect(readingOf(total(10), good, true).reading).toEqual({ total: 10, part: 0, partIs: 'good' });
  });

  it('absentMeansZero: judged as zero, a healthy window passes and the first errors count from zero', () => {
    const j = judge({ absentMeansZero: true });
    expect(j.metrics[0]!.absentMeansZero).toBe(true);
    const at = (t: number, b: number | null) => readingOf(total(t), bad(b), true).reading!;
    const b = baselineOf(at(1000, null), at(6000, null), 0.95, iso(T0), iso(T0 + 10_000));
    expect(b).toMatchObject({ n: 5000, x: 0, rate: 0 });
    const healthy = startJudge(j, { errors: b });
    for (let i = 0; i <= 100; i++) judgeTick(healthy, 'errors', at(6000 + i * 100, null), T0 + i * 1000);
    const rep = judgeReport(healthy, j);
    expect(rep.abort).toBeUndefined();
    expect(rep.inconclusive).toEqual([]);
    expect(rep.metrics[0]).toMatchObject({ classification: 'pass', noDataTicks: 0 });
    // the counter appears with the first errors: 5 % of the tick's events are bad from then on
    const hurt = startJudge(j, { errors: b });
    let abort;
    for (let i = 0; i <= 100 && !abort; i++)
      abort = judgeTick(hurt, 'errors', at(6000 + i * 100, i < 2 ? null : (i - 1) * 5), T0 + i * 1000);
    expect(abort?.reason).toMatch(
      /^judged metric errors: e-value \S+ reached 20\.0 \(m\/alpha\): bad-event rate [\d.]+% over \d+ events/,
    );
    expect(abort?.at).toBe(iso(T0 + 2000)); // the first tick with errors
  });
});

describe('no data during the window', () => {
  it('a window of nothing but no data is inconclusive, naming the metric and the share', () => {
    const w = window(30, () => true);
    expect(w.rep.metrics[0]!.classification).toBe('nodata');
    expect(w.rep.scorecard.result).toBe('nodata');
    expect(w.rep.inconclusive).toEqual([
      { metric: 'errors', ticks: 30, noDataTicks: 30, maxNoData: DEFAULT_MAX_NO_DATA, events: 0 },
    ]);
    expect(w.verdict).toBe('inconclusive');
    expect(w.reason).toBe(
      'observing: the judge cannot tell whether the steady state held: judged metric errors had no data for 100% of its ticks (30 of 30), more than maxNoData 10%',
    );
  });

  it('more than maxNoData of the ticks is inconclusive, up to it is judged (default 10%, or as written)', () => {
    expect(window(20, (i) => i === 5 || i === 9).verdict).toBe('passed'); // 10%: not more than 10%
    const three = window(20, (i) => i === 5 || i === 9 || i === 13);
    expect(three.verdict).toBe('inconclusive');
    expect(three.reason).toMatch(
      /judged metric errors had no data for 15% of its ticks \(3 of 20\), more than maxNoData 10%$/,
    );
    expect(window(20, (i) => i === 5 || i === 9 || i === 13, { maxNoData: '25%' }).verdict).toBe('passed');
    expect(window(20, (i) => i === 5 || i === 9, { maxNoData: 0.05 }).verdict).toBe('inconclusive');
    // 100% allows any share, but one tick with data is only a starting point: no event, still inconclusive
    expect(window(20, (i) => i < 18, { maxNoData: 1 }).verdict).toBe('passed');
    expect(window(20, (i) => i < 19, { maxNoData: 1 }).reason).toMatch(/counted no event in the window \(20 ticks\)$/);
  });

  it('data with no event in it is inconclusive too: nothing was judged', () => {
    const j = judge({ maxRate: 0.05 });
    const s = startJudge(j, {});
    for (let i = 0; i < 10; i++) judgeTick(s, 'errors', r(500, 3), T0 + i * 1000);
    const rep = judgeReport(s, j);
    const v = decideVerdict({ ...facts, judged: rep.scorecard, judgeNoData: rep.inconclusive });
    expect(v).toEqual({
      verdict: 'inconclusive',
      reason:
        'observing: the judge cannot tell whether the steady state held: judged metric errors counted no event in the window (10 ticks)',
    });
  });

  it('a Prometheus that does not answer is no data for every tick, and the window is inconclusive', async () => {
    // A port nothing listens on: every read is refused at once (a real connection, no mock).
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const j = judge({ maxRate: 0.05, url: `http://127.0.0.1:${port}` }, { interval: '100ms' });
    const s = await runJudge(j, {}, Date.now() + 600, {});
    expect(s.abort).toBeUndefined();
    const m = s.metrics[0]!;
    expect(m.ticks).toBeGreaterThan(1);
    expect(m.noDataTicks).toBe(m.ticks);
    const rep = judgeReport(s, j);
    expect(decideVerdict({ ...facts, judged: rep.scorecard, judgeNoData: rep.inconclusive }).verdict).toBe(
      'inconclusive',
    );
  });
});

describe('the language', () => {
  it('maxNoData is a share or a percentage, 10% by default; absentMeansZero is off by default', () => {
    const m = judge().metrics[0]!;
    expect(m).toMatchObject({ maxNoData: '10%', absentMeansZero: false });
    expect([shareOf('10%'), shareOf('2.5 %'), shareOf(0.3), shareOf('100%'), shareOf(0)]).toEqual([
      0.1, 0.025, 0.3, 1, 0,
    ]);
    for (const bad of ['101%', 'ten', '-1%', 1.5, -0.1]) {
      const p = judgeSchema.safeParse({ metrics: [{ name: 'e', events: ev, maxNoData: bad }] });
      expect(p.success, String(bad)).toBe(false);
      expect(p.error?.issues[0]).toMatchObject({
        path: ['metrics', 0, 'maxNoData'],
        message: 'must be a share from 0 to 1 or a percentage such as 10%',
      });
    }
    expect(experimentSchema.shape.judge).toBeDefined();
  });
});
