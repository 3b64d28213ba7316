// Progressive exposure end to end: the real demo (its own traffic, prom-client counters of the front's tries
// per backend), the real Prometheus, the real fault proxy, the workflow on the real Temporal dev server. Two
// runs side by side on different routes, each judged on the tries to its own routes: one whose second step
// (40% of requests answered 503) makes the judge's e-process cross, so its last step (100%) never reaches the
// proxy; one that stays healthy (a 1 ms delay) and reaches 100%. The test reads the proxy's own rules every
// 50 ms while they run: what share each step really put on the route, and that none outlived its run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../demo/index.ts';
import { startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { summary } from '../cli/render.ts';
import { demoExperiment, uniqueId } from './helpers.ts';
import { judgedDemo, type JudgedDemo } from './support/judged-demo.ts';

const TQ = uniqueId('exposure');
let stack: DemoStack;
let fc: FaultlineClient;

/** The front's tries to these backend replicas, and those answered 503, judged against a 2% cap. */
const judged = (backends: number[]) => {
  const up = `demo="${stack.prefix}",role="front",upstream=~"${backends.map((i) => `${stack.prefix}-backend-${i}`).join('|')}"`;
  return `judge:
  interval: 500ms
  baseline: { window: 3s }
  metrics:
    - name: tries-503
      events:
        total: sum(demo_upstream_requests_total{${up}})
        bad: sum(demo_upstream_requests_total{${up},code="503"})
      absentMeansZero: true
      maxRate: 0.02`;
};

const experiment = (title: string, fault: string, backends: number[]) =>
  demoExperiment(
    `
title: ${title}
hypothesis:
  statement: the front keeps answering while the fault grows
  probes: [ { name: front-ok, type: http, url: "\${FRONT}/", requests: 5, tolerance: { maxErrorRate: 0 } } ]
method:
  - ${fault}
${judged(backends)}
blastRadius: { maxTargets: 2 }
afterCheck: { recoveryTimeout: 10s }
`,
    { prefix: stack.prefix, frontUrl: stack.frontUrl },
  );

/** Every rule on the proxy's routes now: route, name and the share it applies (percent). */
async function rules(): Promise<{ route: string; name: string; share: number }[]> {
  const res = await fetch(`${stack.proxyAdminUrl}/proxies`, {
    headers: stack.proxyToken ? { authorization: `Bearer ${stack.proxyToken}` } : {},
  });
  const body = (await res.json()) as Record<
    string,
    { toxics: { name: string; toxicity: number; attributes: { percentage?: number } }[] }
  >;
  return Object.entries(body).flatMap(([route, p]) =>
    p.toxics.map((t) => ({ route, name: t.name, share: t.attributes.percentage ?? t.toxicity * 100 })),
  );
}

let demo: JudgedDemo | undefined;
beforeAll(async () => {
  demo = await judgedDemo({
    name: 'expo',
    taskQueue: TQ,
    loadRps: 40,
    traffic: (prefix) => `sum(demo_upstream_requests_total{demo="${prefix}",role="front"})`,
    atLeast: 40,
  });
  ({ stack, fc } = demo);
});

afterAll(async () => {
  await demo?.down();
});

describe('progressive exposure on the real demo and proxy', () => {
  it('a step that breaks ends the exposure (the next share never reaches the proxy); a healthy one reaches 100%', async () => {
    const breaking = experiment(
      'exposure breaks',
      '{ kind: http.abort, proxy: [backend-1, backend-2], status: 503, duration: 14s, exposure: { steps: [1%, 40%, 100%], hold: 4s } }',
      [1, 2],
    );
    const healthy = experiment(
      'exposure healthy',
      '{ kind: http.delay, proxy: backend-3, delay: 1ms, duration: 6s, exposure: { steps: [10%, 50%, 100%], hold: 2s } }',
      [3],
    );
    // The proxy's rules as they change: every share each route carried, in order.
    const seen = new Map<string, number[]>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const r of await rules()) {
          const shares = seen.get(r.route) ?? [];
          if (shares.at(-1) !== r.share) seen.set(r.route, [...shares, r.share]);
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const [b, h] = await Promise.all(
      [breaking, healthy].map(async (e) =>
        waitForResult(fc, (await startExperiment(fc, e, { taskQueue: TQ })).workflowId),
      ),
    );
    watching = false;
    await watch;

    // Breaks at 40%: aborted by the judge in that step; 100% never applied; reverted.
    expect(b!.verdict, summary(b!)).toBe('aborted');
    expect(b!.abort?.by).toBe('guard');
    expect(b!.abort?.reason).toMatch(/judged metric tries-503/);
    expect(b!.reason).toContain('progressive exposure failed at step 2 of 3 (40% of the traffic); never reached 100%');
    expect(b!.exposure?.steps.map((s) => s.status)).toEqual(['passed', 'failed', 'not-reached']);
    expect(seen.get('backend-1')).toEqual([1, 40]);
    expect(seen.get('backend-2')).toEqual([1, 40]);
    expect(b!.faults[0]?.status).toBe('reverted');

    // Stays healthy: every step, in order, each held before the next; passed at 100%.
    expect(h!.verdict, summary(h!)).toBe('passed');
    expect(h!.reason).toContain('progressive exposure reached 100% in 3 steps, each judged');
    expect(h!.exposure?.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'passed']);
    expect(seen.get('backend-3')).toEqual([10, 50, 100]);
    const starts = (h!.exposure?.steps ?? []).map((s) => Date.parse(s.startedAt ?? ''));
    for (let k = 1; k < starts.length; k++)
      expect((starts[k] ?? 0) - (starts[k - 1] ?? 0)).toBeGreaterThanOrEqual(2_000);

    // Nothing of either run is left on the proxy.
    expect(await rules()).toEqual([]);
  }, 90_000);
});
