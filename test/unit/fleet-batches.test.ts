// A host's container faults in one activity per phase ('fleet-batches'): on the time-skipping test server
// with mocked activities, two hosts with two containers each are prepared, injected and reverted in one
// activity per host per phase; a batch where one target fails reports it on that target, and every target
// that was applied is still reverted; a target a batch did not revert is retried on its own. Then the real
// batch activities over containers in memory: a retried inject batch applies nothing twice, and a
// cancelled one starts no other target.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  createActivities,
  type BatchInject,
  type BatchPrepare,
  type BatchRevert,
  type HostInventory,
  type TargetResult,
} from '../../activities/index.ts';
import type { ContainerInfo, ContainerPort, Ports } from '../../faults/ports.ts';
import { hostTaskQueue, type HostEntry } from '../../experiments/hosts.ts';
import type { Journal, RevertReport, SelectedTarget } from '../../experiments/journal.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Experiment, FaultEntry } from '../../experiments/schema.ts';
import { WORKFLOW_TYPE } from '../../definitions/experiment.ts';
import { callsOf, startWorker, taskQueue, timeSkippingEnv, workflowBundle } from './support/workflow-env.ts';
import { fakeChaos, runInput, serverNow } from './support/fake-chaos.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const HOSTS = ['h1', 'h2'];
const NAMES = ['api-1', 'api-2'];

function pauseAll(): Experiment {
  const r = parseExperiment(
    `title: pause every api over two hosts
hypothesis:
  statement: the front answers
  probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ]
targets: { labels: { app: api }, mode: all }
blastRadius: { maxTargets: 10 }
method:
  - { kind: container.pause, duration: 20s }
afterCheck: { recoveryTimeout: 15s }
`,
    'unit.yaml',
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.experiment;
}

const idOf = (t: SelectedTarget) => `${t.host}/${t.name}`;
const ok = <T>(index: number, value: T): TargetResult<T> => ({ index, ok: true, value });
const failure = (index: number, message: string, nonRetryable: boolean): TargetResult<never> => ({
  index,
  ok: false,
  error: { type: nonRetryable ? 'FaultTargetGone' : 'Error', message, nonRetryable },
});

/**
 * Two registered hosts, each with its agent and two containers; the batch mocks apply and revert each
 * target in `active` (a handle's id is host/name). `fail` decides a target's outcome in a batch.
 */
function twoHosts(fleetQueue: string, fail: { inject?: (id: string) => TargetResult<never> | undefined } = {}) {
  const revertFailures = new Map<string, number>();
  const chaos: ReturnType<typeof fakeChaos> = fakeChaos({
    listHosts: async (): Promise<HostEntry[]> =>
      HOSTS.map((host) => ({
        host,
        fleetQueue,
        daemonId: `daemon-${host}`,
        daemonName: host,
        dockerHost: 'unix:///var/run/docker.sock',
        registeredAt: serverNow(),
        taskQueue: hostTaskQueue(fleetQueue, host),
        agents: 1,
      })),
    listContainers: async () => {
      const host = Context.current().info.taskQueue.split('@')[1] as string;
      return {
        daemon: { id: `daemon-${host}`, name: host },
        containers: NAMES.map((name) => ({ id: `${host}-${name}`, name, labels: { app: 'api' }, state: 'running' })),
      };
    },
    planFaults: async (e: Experiment, _seed: number, hosts?: HostInventory[]) => ({
      faults: (hosts ?? []).flatMap((h) =>
        h.containers.map((c) => ({
          faultIndex: 0,
          kind: e.method[0]?.kind,
          summary: `pause ${c.name} on ${h.host}`,
          target: { id: c.id, name: c.name, host: h.host },
        })),
      ),
    }),
    prepareFaults: async (items: BatchPrepare[]) =>
      items.map((it) => ok(it.index, { id: idOf(it.target as SelectedTarget), kind: it.spec.kind })),
    injectFaults: async (items: BatchInject[]) =>
      items.map((it) => {
        const id = String(it.handle.id);
        const f = fail.inject?.(id);
        if (f) return { ...f, index: it.index };
        chaos.active.add(id);
        return ok(it.index, { at: serverNow() });
      }),
    revertFaults: async (items: BatchRevert[]) =>
      items.map((it) => {
        const id = String(it.handle.id);
        const left = revertFailures.get(id) ?? 0;
        if (left > 0) {
          revertFailures.set(id, left - 1);
          return failure(it.index, 'daemon hiccup', false);
        }
        chaos.active.delete(id);
        const at = serverNow();
        return ok<RevertReport>(it.index, { at, by: 'workflow', tookEffect: true, confirmedAt: at });
      }),
    // The per-target activities, for a target a batch left to itself.
    prepareFault: async (spec: FaultEntry, target: SelectedTarget) => ({ id: idOf(target), kind: spec.kind }),
    injectFault: async (_spec: FaultEntry, handle: Record<string, unknown>) => {
      chaos.active.add(String(handle.id));
      return { at: serverNow() };
    },
    revertFault: async (_kind: string, handle: Record<string, unknown>): Promise<RevertReport> => {
      chaos.active.delete(String(handle.id));
      const at = serverNow();
      return { at, by: 'workflow', tookEffect: true, confirmedAt: at };
    },
  });
  return { chaos, failRevertOnce: (id: string) => revertFailures.set(id, 1) };
}

/** Runs the experiment with a worker on the fleet's queue and one agent per host; its journal and history. */
async function runOnTwoHosts(
  name: string,
  fleet: (q: string) => ReturnType<typeof twoHosts>,
  experiment: Experiment = pauseAll(),
) {
  const fleetQueue = taskQueue(name);
  const { chaos, failRevertOnce } = fleet(fleetQueue);
  const workers = await Promise.all(
    [fleetQueue, ...HOSTS.map((h) => hostTaskQueue(fleetQueue, h))].map((q) =>
      startWorker(env, { taskQueue: q, activities: chaos.activities }),
    ),
  );
  try {
    const handle = await env.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: fleetQueue,
      workflowId: name,
      args: [runInput(experiment)],
    });
    const j = (await handle.result()) as Journal;
    const history = await handle.fetchHistory();
    return { j, history, chaos, fleetQueue, failRevertOnce };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Each activity type the run scheduled, with the task queues it went to. */
function scheduledTypes(history: Awaited<ReturnType<typeof runOnTwoHosts>>['history']): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name) (out[a.activityType.name] ??= []).push(a.taskQueue?.name ?? '');
  }
  return out;
}

/** A partition between two groups (network.split): its containers come from its own from/to, not `targets`. */
function splitOnly(): Experiment {
  const r = parseExperiment(
    `title: split api-1 from api-2 on every host
hypothesis:
  statement: the front answers
  probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ]
blastRadius: { maxTargets: 10 }
method:
  - { kind: network.split, from: { names: [api-1] }, to: { names: [api-2] }, duration: 20s }
afterCheck: { recoveryTimeout: 15s }
`,
    'unit.yaml',
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.experiment;
}

describe('a partition between groups on a fleet', () => {
  it("is planned from every registered host's containers (patch split-plans-across-fleet), and applied through their agents", async () => {
    const { j, history, chaos, fleetQueue } = await runOnTwoHosts('split-fleet', (q) => twoHosts(q), splitOnly());
    const plan = callsOf(chaos.calls, 'planFaults');
    expect(plan).toHaveLength(1);
    expect((plan[0]?.args[2] as HostInventory[] | undefined)?.map((h) => h.host)).toEqual(HOSTS);
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.faults.map((f) => f.target?.host).sort()).toEqual(['h1', 'h1', 'h2', 'h2']);
    expect(scheduledTypes(history).injectFaults?.sort()).toEqual(HOSTS.map((h) => hostTaskQueue(fleetQueue, h)));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'split-fleet');
  });
});

describe('a host with several container faults', () => {
  it('is prepared, injected and reverted in one activity per host per phase, every fault reverted; the history replays', async () => {
    const { j, history, chaos, fleetQueue } = await runOnTwoHosts('batch-two-hosts', (q) => twoHosts(q));
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.faults).toHaveLength(4);
    for (const f of j.faults) {
      expect(f).toMatchObject({ status: 'reverted', revertedBy: 'workflow', revertAttempts: 1, errors: [] });
      expect(f.injectedAt).toBeTruthy();
    }
    expect(chaos.active.size).toBe(0);
    const queues = HOSTS.map((h) => hostTaskQueue(fleetQueue, h));
    const types = scheduledTypes(history);
    for (const t of ['prepareFaults', 'injectFaults', 'revertFaults']) expect(types[t]?.sort(), t).toEqual(queues);
    for (const t of ['prepareFault', 'injectFault', 'revertFault']) expect(types[t], t).toBeUndefined();
    // Each batch carried its own host's two faults.
    for (const t of ['prepareFaults', 'injectFaults', 'revertFaults'])
      for (const c of callsOf(chaos.calls, t)) {
        const items = c.args[0] as { index: number }[];
        expect(items).toHaveLength(2);
        for (const it of items)
          expect(hostTaskQueue(fleetQueue, j.faults[it.index]?.target?.host ?? '')).toBe(c.taskQueue);
      }
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'batch-two-hosts');
  });

  it('a target that fails in a batch is reported on that target; every target applied is still reverted', async () => {
    const { j, history, chaos } = await runOnTwoHosts('batch-one-fails', (q) =>
      twoHosts(q, {
        inject: (id) => (id === 'h2/api-2' ? failure(0, 'container api-2 no longer exists', true) : undefined),
      }),
    );
    expect(j.verdict, j.reason).toBe('failed');
    expect(j.reason).toMatch(/container api-2 no longer exists/);
    const byId = new Map(j.faults.map((f) => [String(f.handle?.id), f]));
    expect(byId.get('h2/api-2')?.errors).toEqual(['inject: FaultTargetGone: container api-2 no longer exists']);
    expect(byId.get('h2/api-2')?.injectedAt).toBeUndefined();
    for (const id of ['h1/api-1', 'h1/api-2', 'h2/api-1']) {
      expect(byId.get(id)?.errors, id).toEqual([]);
      expect(byId.get(id)?.injectedAt, id).toBeTruthy();
    }
    // The three applied ones (and the failed one, which may have been half-applied) reverted, one batch per host.
    for (const f of j.faults) expect(f.status).toBe('reverted');
    expect(chaos.active.size).toBe(0);
    const types = scheduledTypes(history);
    expect(types.revertFaults).toHaveLength(2);
    expect(types.revertFault).toBeUndefined();
    expect(types.injectFault).toBeUndefined(); // a target that failed for good is not tried again
  });

  it('a target a batch could not inject or revert (retryable) is retried on its own; nothing else is', async () => {
    let injectFailed = false;
    const { j, history, chaos } = await runOnTwoHosts('batch-retry-one', (q) => {
      const f = twoHosts(q, {
        inject: (id) => {
          if (id !== 'h1/api-1' || injectFailed) return undefined;
          injectFailed = true;
          return failure(0, 'daemon hiccup', false);
        },
      });
      f.failRevertOnce('h2/api-2');
      return f;
    });
    expect(j.verdict, j.reason).toBe('passed');
    expect(chaos.active.size).toBe(0);
    const types = scheduledTypes(history);
    expect(types.injectFault).toHaveLength(1);
    expect(types.revertFault).toHaveLength(1);
    const byId = new Map(j.faults.map((f) => [String(f.handle?.id), f]));
    expect(callsOf(chaos.calls, 'injectFault').map((c) => (c.args[1] as { id: string }).id)).toEqual(['h1/api-1']);
    expect(byId.get('h2/api-2')).toMatchObject({
      status: 'reverted',
      revertAttempts: 2,
      errors: ['revert attempt 1: Error: daemon hiccup'],
    });
    for (const id of ['h1/api-1', 'h1/api-2', 'h2/api-1'])
      expect(byId.get(id), id).toMatchObject({ status: 'reverted', revertAttempts: 1, errors: [] });
  });
});

/**
 * Containers in memory; every call is recorded as "op:id". A container in `hang` does not answer inspect
 * until release(); an unknown one does not exist.
 */
function memoryContainers(ids: string[]) {
  const calls: string[] = [];
  const states: Record<string, ContainerInfo['state']> = Object.fromEntries(ids.map((i) => [i, 'running']));
  const hang = new Set<string>();
  let release = () => undefined as void;
  const released = new Promise<void>((r) => (release = r));
  const info = (id: string): ContainerInfo | null =>
    states[id] ? { id, name: id, labels: {}, state: states[id], networks: {} } : null;
  const port = {
    list: async () => ids.map(info),
    inspect: async (id: string) => {
      calls.push(`inspect:${id}`);
      if (hang.has(id)) await released;
      return info(id);
    },
    pause: async (id: string) => void (calls.push(`pause:${id}`), (states[id] = 'paused')),
    unpause: async (id: string) => void (calls.push(`unpause:${id}`), (states[id] = 'running')),
  } as unknown as ContainerPort;
  return { port, calls, states, hang, release };
}

describe('the batch activities', () => {
  const spec = { kind: 'container.pause', duration: '20s' } as FaultEntry;
  const handle = (id: string) => ({ containerId: id, containerName: id, wasState: 'running' });

  it('a retried inject batch applies nothing twice: the targets in its heartbeat are not touched again', async () => {
    const mem = memoryContainers(['c1', 'c2', 'c3']);
    const acts = createActivities({ containers: mem.port, proxy: {} } as unknown as Ports);
    const items = ['c1', 'c2', 'c3'].map((id, index) => ({ index, spec, handle: handle(id) }));
    // Attempt 1: c1 and c2 are paused, c3's daemon never answers; the attempt is lost (cancelled).
    mem.hang.add('c3');
    const first = new MockActivityEnvironment({ attempt: 1 });
    const beats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => beats.push(d));
    const lost = first.run(acts.injectFaults, items);
    for (let i = 0; !(mem.states.c1 === 'paused' && mem.states.c2 === 'paused'); i++) {
      if (i > 200) throw new Error('c1 and c2 were never paused');
      await new Promise((r) => setTimeout(r, 10));
    }
    const last = beats.at(-1) as { applied: Record<number, string> };
    expect(Object.keys(last.applied).sort()).toEqual(['0', '1']);
    // Attempt 2 with attempt 1's last heartbeat: only c3 is touched.
    mem.hang.delete('c3');
    mem.calls.length = 0;
    const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: last });
    const results = (await second.run(acts.injectFaults, items)) as TargetResult<{ at: string }>[];
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(results.slice(0, 2).map((r) => r.ok && r.value.at)).toEqual([last.applied[0], last.applied[1]]);
    expect(mem.calls.filter((c) => !c.endsWith(':c3'))).toEqual([]);
    expect(mem.calls.filter((c) => c === 'pause:c3')).toEqual(['pause:c3']);
    expect(mem.states).toEqual({ c1: 'paused', c2: 'paused', c3: 'paused' });
    // The lost attempt's call to c3 answers at last: it finds c3 paused already and does not pause it again.
    first.cancel();
    mem.release();
    await expect(lost).rejects.toThrow();
    expect(mem.calls.filter((c) => c === 'pause:c3')).toEqual(['pause:c3']);
  });

  it('per-target results: a target that fails does not stop the others; reverts are idempotent per target', async () => {
    const mem = memoryContainers(['c1', 'c2']);
    const acts = createActivities({ containers: mem.port, proxy: {} } as unknown as Ports);
    const items = [
      { index: 0, spec, handle: handle('c1') },
      { index: 1, spec, handle: handle('gone') },
    ];
    const r = (await new MockActivityEnvironment().run(acts.injectFaults, items)) as TargetResult<{ at: string }>[];
    expect(r[0]).toMatchObject({ index: 0, ok: true });
    expect(r[1]).toMatchObject({ index: 1, ok: false, error: { type: 'FaultTargetGone', nonRetryable: true } });
    const reverts = [{ index: 0, kind: 'container.pause', handle: handle('c1') }];
    const once = (await new MockActivityEnvironment().run(acts.revertFaults, reverts)) as TargetResult<RevertReport>[];
    const twice = (await new MockActivityEnvironment().run(acts.revertFaults, reverts)) as TargetResult<RevertReport>[];
    expect(once[0]).toMatchObject({ ok: true, value: { tookEffect: true } });
    expect(twice[0]).toMatchObject({ ok: true, value: { tookEffect: false } });
    expect(mem.calls.filter((c) => c.startsWith('unpause'))).toEqual(['unpause:c1']);
  });

  it('a cancelled inject batch starts no other target and fails as cancelled', async () => {
    const mem = memoryContainers(['c1', 'c2']);
    const acts = createActivities({ containers: mem.port, proxy: {} } as unknown as Ports);
    const e = new MockActivityEnvironment();
    e.cancel();
    await expect(
      e.run(acts.injectFaults, [
        { index: 0, spec, handle: handle('c1') },
        { index: 1, spec, handle: handle('c2') },
      ]),
    ).rejects.toThrow(/CANCELLED|cancel/i);
    expect(mem.calls.filter((c) => c.startsWith('pause'))).toEqual([]);
  });
});
