// End-to-end runs against the real Temporal dev server and the real Docker daemon: the demo stack is
// the system under test, the experiment workflow runs on an in-process worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { containerState, demoExperiment, docker, dockerEvents, inProcessWorker, uniqueId } from './helpers.ts';
import { freePort } from '../cli/dev-server.ts';

const TQ = uniqueId('runner');
let stack: DemoStack;
let fc: FaultlineClient;
let worker: Awaited<ReturnType<typeof inProcessWorker>>;

const HYPOTHESIS = `
title: runner test
hypothesis:
  statement: the front answers
  probes:
    - { name: front-ok, type: http, url: "\${FRONT}/", requests: 20, concurrency: 2, timeout: 2s, tolerance: { maxErrorRate: 0 } }
`;

beforeAll(async () => {
  const prefix = uniqueId('fl-run');
  stack = await demoUp({ prefix, frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
  worker = await inProcessWorker(TQ);
});

afterAll(async () => {
  await worker?.stop();
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
});

describe('experiment runs', () => {
  it('passes when one replica is killed, and the killed container runs again afterwards', async () => {
    const since = Date.now();
    const exp = demoExperiment(
      `${HYPOTHESIS}
targets: { labels: { faultline.demo: "\${PREFIX}", faultline.role: backend }, mode: one }
method: [ { kind: container.kill, signal: SIGKILL, duration: 3s } ]
guard:
  interval: 250ms
  failuresToAbort: 3
  probes: [ { name: g, type: http, url: "\${FRONT}/", requests: 4, timeout: 1s, tolerance: { maxErrorRate: 0 } } ]
`,
      stack,
    );
    const { workflowId } = await startExperiment(fc, exp, { taskQueue: TQ });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.faults).toHaveLength(1);
    const f = j.faults[0]!;
    expect(f.status).toBe('reverted');
    expect(f.injectedAt && f.revertedAt && Date.parse(f.revertedAt) > Date.parse(f.injectedAt)).toBe(true);
    expect(stack.containers.backends).toContain(f.target?.name);
    expect(j.selection?.selected).toHaveLength(1);
    expect(j.guardSamples.count).toBeGreaterThan(0);
    expect(await containerState(f.target!.name)).toBe('running');
    const events = await dockerEvents([f.target!.id], ['kill', 'start'], since);
    expect(events.filter((e) => e.action === 'kill').length).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.action === 'start')).toHaveLength(1);
  });

  it('aborts when every replica is paused: the guard sees it, all are unpaused, the failing sample is recorded', async () => {
    const since = Date.now();
    const exp = demoExperiment(
      `${HYPOTHESIS}
targets: { labels: { faultline.demo: "\${PREFIX}", faultline.role: backend }, mode: all }
blastRadius: { maxTargets: 3, maxPercent: 100 }
method: [ { kind: container.pause, duration: 60s } ]
guard:
  interval: 250ms
  failuresToAbort: 2
  probes: [ { name: guard-front, type: http, url: "\${FRONT}/", requests: 2, timeout: 1s, tolerance: { maxErrorRate: 0.4 } } ]
`,
      stack,
    );
    const { workflowId } = await startExperiment(fc, exp, { taskQueue: TQ });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('aborted');
    expect(j.abort?.by).toBe('guard');
    expect(j.abort?.sample?.ok).toBe(false);
    expect(j.abort?.sample?.probe).toBe('guard-front');
    expect(j.faults).toHaveLength(3);
    expect(j.faults.every((f) => f.status === 'reverted')).toBe(true);
    expect(j.detectToRevertMs).toBeGreaterThanOrEqual(0);
    for (const b of stack.containers.backends) expect(await containerState(b)).toBe('running');
    const ids = j.faults.map((f) => f.target!.id);
    const ev = await dockerEvents(ids, ['pause', 'unpause'], since);
    expect(ev.filter((e) => e.action === 'pause')).toHaveLength(3);
    expect(ev.filter((e) => e.action === 'unpause')).toHaveLength(3);
    // Guard aborted long before the 60 s window ended.
    expect(Date.parse(j.finishedAt!) - Date.parse(j.startedAt)).toBeLessThan(60_000);
  });

  it('does not start when the steady state fails before: nothing is injected', async () => {
    const since = Date.now();
    const exp = demoExperiment(
      `
title: broken steady state
hypothesis:
  statement: a path that does not exist answers 200
  probes: [ { name: missing, type: http, url: "\${FRONT}/health", expectStatus: 418, requests: 3 } ]
targets: { labels: { faultline.demo: "\${PREFIX}", faultline.role: backend }, mode: one }
method: [ { kind: container.pause, duration: 5s } ]
`,
      stack,
    );
    const { workflowId } = await startExperiment(fc, exp, { taskQueue: TQ });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict).toBe('not-started');
    expect(j.reason).toMatch(/steady state did not hold/);
    expect(j.steadyStateBefore[0]?.errorSamples.join()).toMatch(/status 200/);
    expect(j.faults).toHaveLength(0);
    const all = await docker.listContainers({ all: true, filters: { label: [`faultline.demo=${stack.prefix}`] } });
    const ev = await dockerEvents(
      all.map((c) => c.Id),
      ['pause', 'kill', 'stop', 'disconnect'],
      since,
    );
    expect(ev).toHaveLength(0);
  });

  it('refuses at run time a selection the blast radius forbids: not started, nothing injected', async () => {
    const since = Date.now();
    // 50% of 3 replicas rounds up to 2 containers = 67% of the fleet, over maxPercent 60.
    const exp = demoExperiment(
      `${HYPOTHESIS}
targets: { labels: { faultline.demo: "\${PREFIX}", faultline.role: backend }, mode: percent, percent: 50 }
blastRadius: { maxTargets: 3, maxPercent: 60 }
method: [ { kind: container.pause, duration: 5s } ]
`,
      stack,
    );
    const { workflowId } = await startExperiment(fc, exp, { taskQueue: TQ });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict).toBe('not-started');
    expect(j.reason).toMatch(/maxPercent/);
    expect(j.faults).toHaveLength(0);
    const all = await docker.listContainers({ all: true, filters: { label: [`faultline.demo=${stack.prefix}`] } });
    expect(
      await dockerEvents(
        all.map((c) => c.Id),
        ['pause'],
        since,
      ),
    ).toHaveLength(0);
  });

  it('never selects protected containers, whatever the selector', async () => {
    const exp = demoExperiment(
      `${HYPOTHESIS}
targets: { namePattern: "^\${PREFIX}-", mode: all }
blastRadius: { maxTargets: 10, maxPercent: 100 }
method: [ { kind: container.pause, duration: 1s } ]
`,
      stack,
    );
    const { workflowId } = await startExperiment(fc, exp, { taskQueue: TQ });
    const j = await waitForResult(fc, workflowId);
    const selected = j.selection!.selected.map((t) => t.name).sort();
    expect(selected).toEqual([...stack.containers.backends].sort());
    expect(selected).not.toContain(stack.containers.front);
    expect(j.selection!.protectedSkipped).toContain(stack.containers.front);
    expect(j.faults.every((f) => f.status === 'reverted')).toBe(true);
    expect(await containerState(stack.containers.front)).toBe('running');
  });
});
