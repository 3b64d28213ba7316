// The report opened in a real headless Chromium (Debian's, installed by scripts/setup.sh; never a
// downloaded browser): no console errors, every chart drawn with its data, a screenshot saved.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { experimentSchema } from '../experiments/schema.ts';
import type { Journal } from '../experiments/journal.ts';
import { judgeReport, judgeTick, startJudge } from '../judge/guard.ts';
import { baselineOf } from '../judge/guard.ts';
import { addSample, createSeries } from '../judge/series.ts';
import { binomial, rng } from '../judge/simulate.ts';
import { writeReport } from '../report/file.ts';
import { STATE_DIR } from '../config.ts';

const CHROMIUM = process.env.FAULTLINE_CHROMIUM ?? '/usr/bin/chromium';

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
  const r = rng(3);
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

describe('report', () => {
  it('is one self-contained file that Chromium renders with every chart drawn and no console error', async () => {
    const j = journal();
    expect(j.judge?.abort).toBeDefined();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-report-'));
    const file = writeReport(j, path.join(dir, 'report.html'));
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=["']?https?:/); // nothing fetched
    expect(html).toContain('Fewer than 2x the usual share');

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(`file://${file}`);
      const charts = await page.evaluate(() => {
        const list = (
          window as unknown as {
            faultlineCharts: { canvas: HTMLCanvasElement; data: { datasets: { data: unknown[] }[] } }[];
          }
        ).faultlineCharts;
        return list.map((c) => {
          // a drawn chart has non-blank pixels on its canvas
          const ctx = c.canvas.getContext('2d') as CanvasRenderingContext2D;
          const px = ctx.getImageData(0, 0, c.canvas.width, c.canvas.height).data;
          let inked = 0;
          for (let i = 3; i < px.length; i += 4) if ((px[i] as number) > 0) inked++;
          return { id: c.canvas.id, points: c.data.datasets.reduce((s, d) => s + d.data.length, 0), inked };
        });
      });
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      expect(charts.map((c) => c.id)).toEqual(expect.arrayContaining(['rate-0', 'e-0', 'probe-err-0', 'probe-p95-0']));
      for (const c of charts) {
        expect(c.points, c.id).toBeGreaterThan(1);
        expect(c.inked, c.id).toBeGreaterThan(1000);
      }
      const shot = path.join(STATE_DIR, 'report-screenshot.png');
      mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await browser.close();
    }
  });
});
