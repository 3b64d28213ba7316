// Agent loss with a standby agent: two `faultline agent` processes (real CLI children) answer for one host
// (same daemon, same host name: the second registers as standby) beside a fleet worker with no agent of its
// own. A 20 s container.pause on that host is held by one agent's holder; that exact process (the holder's
// worker identity, pid@hostname, from the workflow's pending activities) is SIGKILLed. The other agent must
// take the holder over (a retry of the same activity: it renews the lease from the warden's ledger, never
// injects again), so the warden never reverts early, and revert it at its window's end: the daemon's event
// log shows exactly one pause and one unpause, the unpause after the window's end, and the warden's ledger
// records no lapse of the lease. The takeover time is printed; bench figures live in the README.
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoImage } from '../demo/image.ts';
import { WARDEN_DIR } from '../config.ts';
import { connectClient, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { createWorker } from '../worker/worker.ts';
import { activeLeases, lapsedLeases } from '../warden/lease-ledger.ts';
import { leaseOf } from '../faults/lease.ts';
import { demoExperiment, docker, dockerEvents, killProcess, spawnAgent, uniqueId, workflowBundle } from './helpers.ts';

const fleet = uniqueId('fl-standby');
const host = `${fleet}-h`;
const victim = `${fleet}-victim`;
const agents: ChildProcess[] = [];
const web = http.createServer((_q, r) => r.end('ok'));
let fc: FaultlineClient;
let stopWorker: (() => Promise<void>) | undefined;
let victimId = '';

/** `faultline agent` for the host on the local daemon (its default ledger); resolves once it polls. */
async function agent(): Promise<ChildProcess & { output: () => string }> {
  const child = await spawnAgent(['--host', host, '--task-queue', fleet]);
  agents.push(child);
  return child;
}

beforeAll(async () => {
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const c = await docker.createContainer({
    name: victim,
    Image: await ensureDemoImage(docker),
    Env: ['ROLE=backend'],
    Labels: { 'faultline.test': fleet },
  });
  await c.start();
  victimId = c.id;
  // The orchestration only: no local agent here, so the two agents below are the host's only ones.
  const w = await createWorker({ taskQueue: fleet, host: false, worker: { workflowBundle: await workflowBundle() } });
  const running = w.worker.run();
  stopWorker = async () => {
    w.worker.shutdown();
    await running;
    await w.connection.close();
  };
  fc = await connectClient();
}, 240_000);

afterAll(async () => {
  for (const a of agents) await killProcess(a, 'SIGTERM');
  await stopWorker?.();
  await fc?.close();
  await docker
    .getContainer(victim)
    .remove({ force: true })
    .catch(() => undefined);
  web.close();
});

interface Pending {
  type: string;
  identity: string;
  attempt: number;
  started: boolean;
}

async function pending(workflowId: string): Promise<Pending[]> {
  const d = await fc.client.workflow.getHandle(workflowId).describe();
  return (d.raw.pendingActivities ?? []).map((a) => ({
    type: a.activityType?.name ?? '',
    identity: a.lastWorkerIdentity ?? '',
    attempt: a.attempt ?? 0,
    started: Number(a.state) === 2, // PENDING_ACTIVITY_STATE_STARTED
  }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('agent loss with a standby agent', () => {
  it('SIGKILL of the agent holding a pause: the standby keeps it under guard and reverts it once, at its end', async () => {
    // Both are fresh processes: the second one registers the same host name for the same daemon (standby).
    const [a, b] = await Promise.all([agent(), agent()]);
    expect(a.output() + b.output()).toContain('standby');
    const byIdentity = new Map([
      [`${a.pid}@${hostname()}`, a],
      [`${b.pid}@${hostname()}`, b],
    ]);
    const port = (web.address() as { port: number }).port;
    const e = demoExperiment(
      `
title: pause held by one of two agents
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${port}/", requests: 1 } ]
targets: { names: [ ${victim} ], hosts: [ ${host} ], mode: one }
method: [ { kind: container.pause, duration: 20s } ]
`,
      { prefix: fleet, frontUrl: '' },
    );
    const since = Date.now();
    const { workflowId } = await startExperiment(fc, e, { taskQueue: fleet });

    // The holder: the observe activity a live agent process runs (the guard runs on this process's worker).
    let holder: ChildProcess | undefined;
    for (const end = Date.now() + 60_000; !holder; await sleep(100)) {
      const h = (await pending(workflowId)).find(
        (p) => p.type === 'observe' && p.started && byIdentity.has(p.identity),
      );
      holder = h && byIdentity.get(h.identity);
      if (Date.now() > end) throw new Error(`no agent took the holder: ${JSON.stringify(await pending(workflowId))}`);
    }
    // The inject's grant holds the lease into the future; once the holder has renewed it, its renewal time
    // is in the past, so a renewal time after the SIGKILL below can only be the standby's.
    for (const end = Date.now() + 30_000; ; await sleep(50)) {
      const l = (await activeLeases(WARDEN_DIR)).find((x) => x.handle.containerId === victimId);
      if (l && Date.parse(l.expiresAt) <= Date.now() + l.leaseMs) break;
      if (Date.now() > end) throw new Error(`the holder never renewed the lease: ${JSON.stringify(l)}`);
    }
    const standby = holder === a ? b : a;
    const standbyIdentity = `${standby.pid}@${hostname()}`;
    await killProcess(holder, 'SIGKILL');
    const killedAt = Date.now();

    // The standby holds it: the same activity, retried, started by the standby; and the lease renewed after
    // the SIGKILL (only a live holder renews; the killed one cannot).
    let tookOverMs: number | undefined;
    let renewedMs: number | undefined;
    for (const end = killedAt + 30_000; tookOverMs === undefined || renewedMs === undefined; await sleep(50)) {
      if (Date.now() > end) break;
      const p = (await pending(workflowId)).find((x) => x.type === 'observe' && x.identity === standbyIdentity);
      if (tookOverMs === undefined && p?.started) tookOverMs = Date.now() - killedAt;
      const renewed = (await activeLeases(WARDEN_DIR)).some(
        (l) => l.handle.containerId === victimId && Date.parse(l.expiresAt) - l.leaseMs > killedAt,
      );
      if (renewedMs === undefined && renewed) renewedMs = Date.now() - killedAt;
    }
    console.log(
      `standby agent: holder started ${tookOverMs} ms, lease renewed ${renewedMs} ms after the SIGKILL of the holding agent`,
    );
    expect(tookOverMs, 'the standby agent never started the holder').toBeDefined();
    expect(renewedMs, 'nobody renewed the lease after the holding agent died').toBeDefined();

    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.faults).toHaveLength(1);
    const f = j.faults[0]!;
    expect(f.target).toMatchObject({ id: victimId, host });
    expect(f.status).toBe('reverted');
    // Exactly one pause and one unpause in the daemon's log: no second inject, no early revert by the warden.
    const events = await dockerEvents([victimId], ['pause', 'unpause'], since);
    expect(events.map((x) => x.action)).toEqual(['pause', 'unpause']);
    expect(Date.parse(f.revertedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(f.endsAt ?? ''));
    const lease = leaseOf(f.handle as Record<string, unknown>);
    expect(lease, 'the pause carried a lease').toBeDefined();
    expect((await lapsedLeases(WARDEN_DIR)).filter((l) => l.lease.id === lease?.id)).toEqual([]);
    expect((await docker.getContainer(victim).inspect()).State.Status).toBe('running');
  });
});
