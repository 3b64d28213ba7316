// The journal's revert time is the real one: the first revert that took effect, and who did it. The real
// workflow and activities on the dev server with in-memory ports (their daemon keeps an event log as
// Docker's does: test/support/memory-ports.ts), and workers that die right after a revert took effect, so
// the revert that follows is a no-op. (With real Docker and the warden: test/warden.test.ts, "for real".)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experiment, harness, type Harness } from './support/workflow-harness.ts';
import { summary } from '../cli/render.ts';

let h: Harness;
let seq = 0;

beforeAll(async () => {
  h = await harness('revtime');
  h.world.addContainer('api-1');
  h.world.addContainer('api-2');
  h.world.addProxy('route-a');
  h.world.addProxy('route-b');
});

afterAll(async () => {
  await h?.close();
});

const pause = (name: string, duration = '1s') =>
  experiment(
    `
title: pause ${name}
hypothesis: { statement: it answers, probes: [ { name: ok, type: http, url: "\${URL}", requests: 1 } ] }
targets: { names: [ ${name} ], mode: one }
method: [ { kind: container.pause, duration: ${duration} } ]
afterCheck: { recoveryTimeout: 2s }
`,
    h.url,
  );

/**
 * The worker that makes the first call `op` on `key` (from activity `activity`) dies right after it took
 * effect: at its next port call (the revert's own check), so its attempt never reports.
 */
function dieAfter(op: string, key: string, activity: string): Promise<{ worker: string; t: number }> {
  return new Promise((resolve) => {
    let victim: { worker: string; t: number } | undefined;
    h.world.onCall = (c) => {
      if (!victim && c.op === op && c.key === key && c.activity === activity) {
        victim = { worker: c.worker, t: 0 };
        return;
      }
      if (victim && c.worker === victim.worker) {
        h.world.onCall = undefined;
        const call = h.world.calls.find((x) => x.op === op && x.key === key && x.worker === victim?.worker);
        h.kill(victim.worker);
        resolve({ worker: victim.worker, t: call?.t ?? 0 });
      }
    };
  });
}

describe("the journal's revert time", () => {
  it("the guard's unpause at the window's end, its worker dead before it reported: the retried guard's no-op keeps the unpause's time, by an earlier attempt", async () => {
    const first = `w${++seq}`;
    await h.startWorker(first);
    const died = dieAfter('unpause', 'container:api-1-id', 'observe');
    const run = await h.start(pause('api-1'));
    const { worker, t } = await died;
    expect(worker).toBe(first);
    await h.startWorker(`w${++seq}`); // takes the guard over once its heartbeat times out (3 s)
    const j = await h.result(run);
    expect(j.verdict, j.reason).toBe('passed');
    const unpauses = h.world.calls.filter((c) => c.op === 'unpause' && c.key === 'container:api-1-id');
    expect(unpauses.map((c) => [c.worker, c.effect])).toEqual([[first, 'revert']]); // the only one that did anything
    const f = j.faults[0];
    expect(f?.revertedBy).toBe('earlier-attempt');
    expect(f?.revertedAt).toBe(new Date(t).toISOString());
    // The no-ops came seconds later (the heartbeat timeout, the retry, the revert phase): never recorded.
    const noops = h.world.calls.filter(
      (c) => c.op === 'inspect' && c.key === 'container:api-1-id' && c.worker !== first && c.t > t + 1_000,
    );
    expect(noops.length).toBeGreaterThan(0);
    expect(summary(j)).toContain("by an earlier attempt of the run's revert");
    expect(h.world.leftovers()).toEqual([]);
  });

  it('a revert that took effect names the run; a proxy fault found undone names nobody and keeps the time it was found so', async () => {
    const w = `w${++seq}`;
    await h.startWorker(w);
    const j = await h.result(await h.start(pause('api-2', '500ms')));
    expect(j.verdict, j.reason).toBe('passed');
    const unpause = h.world.calls.find((c) => c.op === 'unpause' && c.key === 'container:api-2-id');
    expect(j.faults[0]?.revertedBy).toBe('workflow');
    expect(Date.parse(j.faults[0]?.revertedAt ?? '')).toBeGreaterThanOrEqual(unpause?.t ?? Infinity);

    // The rule lapses in the proxy while the guard's worker is frozen out: nothing knows when it went.
    const e = experiment(
      `
title: latency lapses
hypothesis: { statement: it answers, probes: [ { name: ok, type: http, url: "\${URL}", requests: 1 } ] }
method: [ { kind: proxy.latency, proxy: route-a, latency: 50ms, duration: 500ms } ]
afterCheck: { recoveryTimeout: 2s }
`,
      h.url,
    );
    h.world.onCall = (c) => {
      if (c.op !== 'inspectProxy' || c.activity !== 'observe') return;
      h.world.onCall = undefined;
      h.world.toxics.get('route-a')?.clear(); // gone already when the guard comes to remove it
    };
    const k = await h.result(await h.start(e));
    expect(k.verdict, k.reason).toBe('passed');
    expect(k.faults[0]?.revertedBy).toBe('unknown');
    expect(k.faults[0]?.revertedAt).toBeDefined();
    expect(summary(k)).toContain('found undone (by whom unknown; no later than this)');
    // The guard found it gone first: the revert phase's later no-op does not move the time.
    const removes = h.world.calls.filter((c) => c.op === 'removeToxic' && c.key.startsWith('toxic:route-a/'));
    expect(removes.map((c) => c.effect)).toEqual(['none', 'none']);
    expect(Date.parse(k.faults[0]?.revertedAt ?? '')).toBeLessThan(removes[1]?.t ?? 0);
  });

  it("a proxy rule whose lease lapsed in the proxy before the guard's revert: by the proxy, at the lease's expiry", async () => {
    await h.startWorker(`w${++seq}`);
    const e = experiment(
      `
title: latency lapses in the proxy
hypothesis: { statement: it answers, probes: [ { name: ok, type: http, url: "\${URL}", requests: 1 } ] }
method: [ { kind: proxy.latency, proxy: route-b, latency: 50ms, duration: 2s } ]
afterCheck: { recoveryTimeout: 2s }
`,
      h.url,
    );
    let expiredAt = 0;
    h.world.onCall = (c) => {
      if (c.op !== 'renewToxic' || c.activity !== 'observe') return;
      h.world.onCall = undefined;
      // Right after the guard's first renewal its lease runs out (as if it could not renew it again): the
      // proxy drops the rule at its next look, long before the guard's revert at the window's end.
      setTimeout(() => {
        for (const rule of h.world.toxics.get('route-b')?.values() ?? []) rule.expiresAt = expiredAt = Date.now() - 1;
      }, 50);
    };
    const j = await h.result(await h.start(e));
    expect(j.verdict, j.reason).toBe('passed');
    expect(expiredAt).toBeGreaterThan(0);
    expect(j.faults[0]?.revertedBy).toBe('proxy');
    expect(j.faults[0]?.revertedAt).toBe(new Date(expiredAt).toISOString());
    expect(summary(j)).toContain('by the fault proxy (its lease lapsed)');
  });
});
