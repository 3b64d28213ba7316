// The report opened in a real headless Chromium (Debian's, installed by scripts/setup.sh; never a
// downloaded browser): no console errors, every chart drawn with its data, a screenshot saved.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { experimentSchema } from '../experiments/schema.ts';
import type { Journal } from '../experiments/journal.ts';
import { judgeReport, judgeTick, startJudge } from '../judge/guard.ts';
import { baselineOf } from '../judge/guard.ts';
import { addSample, createSeries } from '../judge/series.ts';
import { mulberry32 } from '../judge/random.ts';
import { binomial } from '../judge/simulate.ts';
import { writeReport } from '../report/file.ts';
import { chartsFor } from '../report/html.ts';
import { openReport } from './support/chromium.ts';
import { STATE_DIR } from '../config.ts';

/** A run as the workflow journals it: 10 s baseline, a latency fault at 12 s, the judge aborts. */
function journal(): Journal {
  const t0 = Date.UTC(2026, 10, 25, 20);
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const experiment = experimentSchema.parse({
    title: 'Latency on one backend',
    hypothesis: {
      statement: 'Fewer than 2x the usual share of requests are slower than 100 ms',
      probes: [{ name: 'front-ok', type: 'http', url: 'http://127.0.0.1:18080/' }],
    },
    method: [{ kind: 'proxy.latency', proxy: 'backend-1', latency: '300ms', duration: '60s' }],
    judge: { metrics: [{ name: 'slow-requests', events: { total: 't', good: 'g' }, allowedIncrease: 2 }] },
  });
  const j = experiment.judge!;
  const base = baselineOf(
    { total: 0, part: 0, partIs: 'good' },
    { total: 400, part: 398, partIs: 'good' },
    0.95,
    at(1),
    at(11),
  );
  const s = startJudge(j, { 'slow-requests': base });
  const r = mulberry32(3);
  let total = 0;
  let good = 0;
  const guard = createSeries({ errorRate: 'max', p95Ms: 'max' }, 1000, 240);
  let abort;
  for (let k = 12; k <= 60 && !abort; k++) {
    judgeTick(s, 'slow-requests', { total, part: good, partIs: 'good' }, t0 + k * 1000);
    const n = 40;
    const slow = binomial(r, n, 0.06);
    total += n;
    good += n - slow;
    addSample(guard, t0 + k * 1000, { errorRate: 0, p95Ms: 40 + 260 * Number(slow > 5) });
    abort = judgeTick(s, 'slow-requests', { total, part: good, partIs: 'good' }, t0 + k * 1000 + 500);
  }
  const report = judgeReport(s, j);
  const sample = (probe: string, sec: number, p95Ms: number) => ({
    probe,
    at: at(sec),
    ok: true,
    requests: 20,
    errors: 0,
    errorRate: 0,
    p50Ms: 5,
    p95Ms,
    p99Ms: p95Ms,
    maxMs: p95Ms,
    violations: [],
    errorSamples: [],
  });
  return {
    experiment,
    workflowId: 'latency-on-one-backend-report-test',
    runId: 'r',
    startedAt: at(0),
    finishedAt: at(30),
    phase: 'done',
    faults: [
      {
        index: 0,
        faultIndex: 0,
        kind: 'proxy.latency',
        summary: 'add 300ms latency on proxy backend-1',
        status: 'reverted',
        injectedAt: at(12),
        revertedAt: report.abort ? new Date(Date.parse(report.abort.at) + 40).toISOString() : at(60),
        errors: [],
        revertAttempts: 1,
      },
    ],
    steadyStateBefore: [sample('front-ok', 1, 12)],
    guardSamples: { count: 10, failed: 0 },
    steadyStateAfter: [sample('front-ok', 28, 14)],
    abort: report.abort ? { by: 'guard', reason: report.abort.reason, at: report.abort.at } : undefined,
    verdict: 'aborted',
    reason: `the guard aborted the experiment: ${report.abort?.reason ?? ''}`,
    judge: report,
    guardSeries: { 'front-ok': guard },
  } as Journal;
}

/** A control-group run: one faulted replica against two untouched ones over the same ticks, aborted. */
function controlJournal(): Journal {
  const base = journal();
  const t0 = Date.parse(base.startedAt);
  const experiment = experimentSchema.parse({
    ...base.experiment,
    title: 'Latency on one backend, judged against its untouched replicas',
    judge: {
      controlGroup: { replicas: { namePattern: '-backend-' } },
      metrics: [
        {
          name: 'slow-tries',
          events: { total: 't{upstream=~"$GROUP"}', good: 'g{upstream=~"$GROUP"}' },
          allowedIncrease: 2,
        },
      ],
    },
  });
  const j = experiment.judge!;
  const s = startJudge(j, {});
  const r = mulberry32(5);
  const e = { total: 0, part: 0, partIs: 'good' as const };
  const c = { total: 0, part: 0, partIs: 'good' as const };
  let abort;
  for (let k = 12; k <= 60 && !abort; k++) {
    const slowE = binomial(r, 15, k < 20 ? 0.01 : 0.3);
    const slowC = binomial(r, 30, 0.01);
    e.total += 15;
    e.part += 15 - slowE;
    c.total += 30;
    c.part += 30 - slowC;
    abort = judgeTick(s, 'slow-tries', { experiment: { ...e }, control: { ...c } }, t0 + k * 1000);
  }
  const report = judgeReport(s, j);
  return {
    ...base,
    experiment,
    workflowId: 'control-group-report-test',
    controlGroup: { experiment: ['shop-backend-1'], control: ['shop-backend-2', 'shop-backend-3'] },
    abort: report.abort ? { by: 'guard', reason: report.abort.reason, at: report.abort.at } : undefined,
    reason: `the guard aborted the experiment: ${report.abort?.reason ?? ''}`,
    judge: report,
  } as Journal;
}

describe('report', () => {
  it('is one self-contained file that Chromium renders with every chart drawn and no console error', async () => {
    const j = journal();
    expect(j.judge?.abort).toBeDefined();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-report-'));
    const file = writeReport(j, path.join(dir, 'report.html'));
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=["']?https?:/); // nothing fetched
    expect(html).toContain('Fewer than 2x the usual share');
    const r = await openReport(file, path.join(STATE_DIR, 'report-screenshot.png'));
    expect(r.errors).toEqual([]);
    expect(r.requests).toEqual([]);
    expect(r.charts.map((c) => c.id)).toEqual(expect.arrayContaining(['rate-0', 'e-0', 'probe-err-0', 'probe-p95-0']));
    for (const c of r.charts) {
      expect(c.points, c.id).toBeGreaterThan(1);
      expect(c.inked, c.id).toBeGreaterThan(1000);
    }
    expect(r.png).toBe(true);
  });

  it('control-group mode: both groups side by side, in the table and on one chart', async () => {
    const j = controlJournal();
    expect(j.judge?.abort?.reason).toMatch(/experiment group .* against control/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-report-'));
    const file = writeReport(j, path.join(dir, 'control.html'));
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(
      /experiment group: <b>shop-backend-1<\/b> · control group: <b>shop-backend-2, shop-backend-3<\/b>/,
    );
    const g = j.judge!.metrics[0]!.tests[0]!.groups!;
    expect(html).toContain(`${g.experiment.x}/${g.experiment.n}`);
    expect(html).toContain(`${g.control.x}/${g.control.n}`);
    const chart = chartsFor(j).find((c) => c.id === 'rate-0')!;
    expect(chart.datasets.map((d) => d.label)).toEqual([
      'slow-tries: experiment group',
      'control group',
      'allowed: 2 x control',
    ]);
    const r = await openReport(file, path.join(STATE_DIR, 'report-control-group.png'));
    expect(r.errors).toEqual([]);
    const rate = r.charts.find((c) => c.id === 'rate-0');
    expect(rate?.points).toBeGreaterThan(20);
    expect(rate?.inked).toBeGreaterThan(1000);
  });
});
