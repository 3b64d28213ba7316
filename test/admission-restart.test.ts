// Runs admitting while the worker dies still run: ten experiments queue for one proxy route on the real
// dev server (in-memory proxy, test/support/workflow-harness.ts), the worker dies while they are admitting
// (it polls no more, and its activities never complete nor report), a new worker starts, and every run
// passes, one after another: the proxy's log shows the ten faults never overlapped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experiment, harness, type Harness } from './support/workflow-harness.ts';
import type { Journal } from '../experiments/journal.ts';
import { admissionStateQuery } from '../definitions/admission.ts';
import { admissionWorkflowId } from '../activities/control.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness('adm-restart');
  h.world.addProxy('route-a');
  await h.startWorker('w1');
});
afterAll(async () => {
  await h?.close();
});

const run = (i: number) =>
  experiment(
    `
title: queued ${i}
hypothesis:
  statement: the service answers
  probes: [ { name: ok, type: http, url: "\${URL}", requests: 2, timeout: 3s, tolerance: { maxErrorRate: 0 } } ]
method:
  - { kind: proxy.latency, proxy: route-a, latency: 50ms, duration: 1s }
admission: { wait: 10m }
afterCheck: { recoveryTimeout: 2s }
`,
    h.url,
  );

describe('admission across a worker restart', () => {
  it('the worker dies while ten runs are admitting: a new worker starts and every one of them runs, one at a time', async () => {
    const handles = [];
    for (let i = 0; i < 10; i++) handles.push(await h.start(run(i), { id: `queued-${i}-${Date.now().toString(36)}` }));
    // Every run has reached admission (one holds the route, the others wait).
    const admission = h.client.workflow.getHandle(admissionWorkflowId(h.taskQueue));
    const before = new Set(['starting', 'steady-state-before', 'selecting']);
    for (let i = 0; ; i++) {
      const phases = await Promise.all(
        handles.map((x) =>
          h
            .journal(x)
            .then((j) => j.phase)
            .catch(() => 'starting'),
        ),
      );
      if (phases.every((p) => !before.has(p))) break;
      if (i > 600) throw new Error(`the runs never all reached admission: ${phases.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    h.kill('w1');
    await h.startWorker('w2');
    const journals: Journal[] = await Promise.all(handles.map((x) => h.result(x)));
    // Each run that did not pass, with its reason.
    expect(journals.map((j) => `${j.verdict}: ${j.reason}`).filter((v) => !v.startsWith('passed:'))).toEqual([]);
    // One toxic at a time on route-a: each added after the previous one was removed.
    const ops = h.world.calls.filter(
      (c) => c.key.startsWith('toxic:route-a/') && (c.effect === 'apply' || c.effect === 'revert'),
    );
    const applied = ops.filter((c) => c.effect === 'apply').length;
    expect(applied).toBe(10);
    let on = 0;
    for (const c of ops) {
      on += c.effect === 'apply' ? 1 : c.effect === 'revert' ? -1 : 0;
      expect(on, `overlap at ${JSON.stringify(c)}`).toBeLessThanOrEqual(1);
    }
    const s = await admission.query(admissionStateQuery);
    expect([s.holds, s.waiters ?? []]).toEqual([[], []]);
  });
});
