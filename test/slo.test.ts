// SLO files as hypotheses end to end: the real demo (prom-client metrics, its own traffic), the real
// Prometheus, the real fault proxy, the workflow on the real Temporal dev server. The judged metric comes
// from an SLO file beside the experiment (read through the file, as `faultline run` reads it): an OpenSLO
// latency SLO (95 % within 250 ms: a margin for a loaded machine) judges a harmless fault, which passes
// with a small budget burned; a Sloth latency SLO judges
// 200 ms on one backend, which burns the budget several times too fast and aborts naming the burn.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../demo/index.ts';
import { getStatus, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { parseExperimentFile } from '../experiments/parse.ts';
import { formatProblem } from '../errors.ts';
import { summary } from '../cli/render.ts';
import { runSection } from '../report/html.ts';
import { uniqueId } from './helpers.ts';
import { judgedDemo, type JudgedDemo } from './support/judged-demo.ts';

const TQ = uniqueId('slo');
let stack: DemoStack;
let fc: FaultlineClient;
const dir = mkdtempSync(path.join(tmpdir(), 'fl-slo-e2e-'));
const front = () => `demo="${stack.prefix}",role="front"`;

/** The SLO files of the demo's front, as experiments/examples/slos has them, for this stack. */
function writeSlos() {
  writeFileSync(
    path.join(dir, 'openslo.yaml'),
    `apiVersion: openslo/v1
kind: SLO
metadata: { name: front-latency }
spec:
  service: demo-front
  indicator:
    metadata: { name: front-fast-requests }
    spec:
      ratioMetric:
        counter: true
        good: { metricSource: { type: Prometheus, spec: { query: 'sum(demo_http_request_duration_seconds_bucket{${front()},le="0.25"})' } } }
        total: { metricSource: { type: Prometheus, spec: { query: 'sum(demo_http_request_duration_seconds_count{${front()}})' } } }
  timeWindow: [ { duration: 28d, isRolling: true } ]
  budgetingMethod: Occurrences
  objectives: [ { displayName: fast, target: 0.95 } ]
`,
  );
  writeFileSync(
    path.join(dir, 'sloth.yaml'),
    `version: prometheus/v1
service: demo-front
slos:
  - name: front-latency
    objective: 95
    sli:
      events:
        error_query: 'sum(rate(demo_http_request_duration_seconds_count{${front()}}[{{.window}}])) - sum(rate(demo_http_request_duration_seconds_bucket{${front()},le="0.1"}[{{.window}}]))'
        total_query: 'sum(rate(demo_http_request_duration_seconds_count{${front()}}[{{.window}}]))'
  - name: front-availability
    objective: 99
    sli:
      events:
        error_query: 'sum(rate(demo_http_requests_total{${front()},code=~"5.."}[{{.window}}]))'
        total_query: 'sum(rate(demo_http_requests_total{${front()}}[{{.window}}]))'
`,
  );
}

/** An experiment file beside the SLO files, read as `faultline run` reads it. */
async function experiment(name: string, latency: string, duration: string, metric: string) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `title: ${name}
hypothesis:
  statement: the front stays within its latency objective
  probes: [ { name: front-ok, type: http, url: "${stack.frontUrl}/", requests: 5, tolerance: { maxErrorRate: 0 } } ]
method: [ { kind: proxy.latency, proxy: backend-1, latency: ${latency}, duration: ${duration} } ]
judge:
  interval: 1s
  baseline: { window: 3s }
  metrics:
${metric}
afterCheck: { recoveryTimeout: 20s }
`,
  );
  const r = await parseExperimentFile(file);
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
  return r.experiment;
}

let demo: JudgedDemo | undefined;
beforeAll(async () => {
  demo = await judgedDemo({
    name: 'slo',
    taskQueue: TQ,
    loadRps: 30,
    traffic: (prefix) => `sum(demo_http_request_duration_seconds_count{demo="${prefix}",role="front"})`,
    atLeast: 30,
  });
  ({ stack, fc } = demo);
  writeSlos();
});

afterAll(async () => {
  await demo?.down();
});

describe('an SLO file as the hypothesis', () => {
  it('OpenSLO, a harmless fault: passes, the journal, status and report show the small budget it burned', async () => {
    const e = await experiment('slo-harmless', '2ms', '5s', '    - slo: openslo.yaml');
    expect(e.judge?.metrics[0]?.slo).toMatchObject({ format: 'openslo', objective: 0.95, window: '28d' });
    const { workflowId } = await startExperiment(fc, e, { taskQueue: TQ });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('passed');
    const m = j.judge?.metrics[0];
    expect(m?.tests[0]?.p0).toBeCloseTo(0.05, 12); // the objective, not the baseline
    const b = m?.slo;
    expect(b).toMatchObject({ name: 'front-latency', file: 'openslo.yaml', format: 'openslo', window: '28d' });
    expect(b!.events).toBeGreaterThan(50);
    expect(b!.events).toBe(m!.tests[0]!.n);
    expect(b!.burnRate).toBeLessThan(1);
    expect(b!.judgedMs).toBeGreaterThan(2_000);
    expect(b!.budgetBurned).toBeCloseTo((b!.burnRate * b!.judgedMs) / (28 * 86_400_000), 15);
    expect(b!.budgetBurned).toBeLessThan(1e-5); // seconds of a 28-day window, at most the allowed rate
    const s = await getStatus(fc, workflowId);
    expect(s.journal?.judge?.metrics[0]?.slo).toEqual(b);
    expect(summary(j)).toMatch(
      /SLO front-latency \(openslo\.yaml, objective 95%\): burn rate \d+\.\d\dx \(allowed 1x\), \S+ of its 28d error budget burned/,
    );
    expect(runSection(j).html).toContain('Error budgets (SLO files)');
  });

  it('Sloth, 200 ms on one backend: the budget burns several times too fast and the judge aborts naming the burn', async () => {
    const e = await experiment('slo-burn', '200ms', '30s', '    - { slo: sloth.yaml, name: front-latency }');
    const { workflowId } = await startExperiment(fc, e, { taskQueue: TQ });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('aborted');
    expect(j.abort?.by).toBe('guard');
    expect(j.abort?.reason).toMatch(
      /judged metric front-latency: e-value \S+ reached 20\.0 \(m\/alpha\): bad-event rate \S+ over \d+ events against at most 5\.00%; SLO front-latency burn rate \d+\.\d\dx \(allowed 1x\), \S+% of its 30d error budget burned/,
    );
    const b = j.judge?.metrics[0]?.slo;
    expect(b).toMatchObject({ name: 'front-latency', file: 'sloth.yaml', format: 'sloth', window: '30d' });
    expect(b!.burnRate).toBeGreaterThan(1);
    expect(j.judge?.metrics[0]?.classification).toBe('high');
    // reverted at the crossing, well before the fault's 30 s
    const f = j.faults[0]!;
    expect(Date.parse(f.revertedAt!) - Date.parse(f.injectedAt!)).toBeLessThan(20_000);
  });
});
