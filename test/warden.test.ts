// The warden in the run's journal: when it reverted a fault because the lease lapsed (the guard could not
// renew: its worker frozen with SIGSTOP past the lease), the journal says so with the warden's own time;
// the same orchestration with in-memory ports (the warden's revert succeeding, and failing).
// Bad input for container faults: no live warden beside the daemon (its container stopped). The run is
// `not-started`, the reason names the ledger, and nothing reaches the container (no Docker event at all).
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoImage } from '../demo/image.ts';
import { dockerSocketPath, ensureWarden, removeWarden, wardenName } from '../activities/adapters/warden-container.ts';
import { activeLeases, lapsedLeases, wardenBeat, WARDEN_STALE_MS } from '../warden/lease-ledger.ts';
import { connectClient, getStatus, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { summary } from '../cli/render.ts';
import type { LapsedLease } from '../faults/ports.ts';
import { experiment, harness } from './support/workflow-harness.ts';
import { demoExperiment, docker, dockerEvents, killProcess, runCli, uniqueId, workerProcess } from './helpers.ts';
import { dockerEventLog, eventIso } from './support/docker-events.ts';

const id = uniqueId('fl-nowarden');
const victim = `${id}-victim`;
const web = http.createServer((_q, r) => r.end('ok'));
let ledger: string;
let fc: FaultlineClient;
let worker: Awaited<ReturnType<typeof workerProcess>> | undefined;

beforeAll(async () => {
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  ledger = mkdtempSync(path.join(os.tmpdir(), 'fl-nowarden-'));
  const c = await docker.createContainer({
    name: victim,
    Image: await ensureDemoImage(docker),
    Env: ['ROLE=backend'],
    Labels: { 'faultline.test': id },
  });
  await c.start();
  await ensureWarden({ dir: ledger });
  fc = await connectClient();
});

afterAll(async () => {
  if (worker) await killProcess(worker);
  await fc?.close();
  await removeWarden({ dir: ledger });
  await docker
    .getContainer(victim)
    .remove({ force: true })
    .catch(() => undefined);
  web.close();
  rmSync(ledger, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The times (ISO, to the millisecond of Docker's timeNano) of a container's events of one action since sinceMs. */
async function dockerEventTimes(name: string, action: string, sinceMs: number): Promise<string[]> {
  return (await dockerEventLog(docker, { sinceMs, filters: { container: [name], event: [action] } })).map(eventIso);
}
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(100)) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('the journal says when the warden reverted', () => {
  it("in memory: the warden takes the lease at the guard's first renewal; its revert succeeding, then failing", async () => {
    const h = await harness('wjournal');
    try {
      h.world.useLeases();
      h.world.addContainer('api-1');
      h.world.addContainer('api-2');
      h.world.addContainer('api-3');
      await h.startWorker('w1');
      const pause = (name: string) =>
        experiment(
          `
title: lapse ${name}
hypothesis: { statement: it answers, probes: [ { name: ok, type: http, url: "\${URL}", requests: 1 } ] }
targets: { names: [ ${name} ], mode: one }
method: [ { kind: container.pause, duration: 1s } ]
afterCheck: { recoveryTimeout: 2s }
`,
          h.url,
        );
      // The warden steps in right before the guard's first renewal (which then finds the lease gone).
      const lapseAtRenewal = (): Promise<LapsedLease[]> =>
        new Promise((resolve) => {
          h.world.onCall = async (c) => {
            if (c.op !== 'renewLease') return;
            h.world.onCall = undefined;
            resolve(await h.world.lapse());
          };
        });

      let lapsed = lapseAtRenewal();
      let j = await h.result(await h.start(pause('api-1')));
      const [ok] = await lapsed;
      expect(ok?.revertedAt).toBeDefined();
      expect(j.verdict, j.reason).toBe('passed');
      // The warden's unpause, as the daemon's event log has it (the guard's own revert later was a no-op).
      const unpause = h.world.calls.find((c) => c.op === 'unpause' && c.key === 'container:api-1-id');
      expect(unpause?.worker).toBe('warden');
      expect(j.faults[0]).toMatchObject({
        status: 'reverted',
        revertedBy: 'warden',
        warden: { lapsedAt: ok?.lapsedAt, revertedAt: ok?.revertedAt },
        revertedAt: new Date(unpause?.t ?? 0).toISOString(),
        errors: [],
      });
      expect(summary(j)).toContain(`reverted by the warden: lease lapsed`);
      expect(summary(j)).toMatch(/reverted \S+ \S+ by the warden/);

      // The warden's unpause fails: the run's own revert still puts it back, and the journal keeps the error.
      h.world.failOn('unpause', 'container:api-2', 1);
      lapsed = lapseAtRenewal();
      j = await h.result(await h.start(pause('api-2')));
      const [failed] = await lapsed;
      expect(failed?.error).toMatch(/injected failure/);
      // The run's own revert undid it: the journal names the run, and keeps the warden's error.
      expect(j.faults[0]).toMatchObject({
        status: 'reverted',
        revertedBy: 'workflow',
        warden: { error: failed?.error },
      });
      expect(j.faults[0]?.warden?.revertedAt).toBeUndefined();
      expect(j.faults[0]?.errors).toEqual([expect.stringMatching(/^warden revert: .*injected failure/)]);
      expect(summary(j)).toContain('its revert failed');

      // Nobody lapses: the run reverted it itself, and the journal says nothing of a warden.
      j = await h.result(await h.start(pause('api-3')));
      expect(j.faults[0]?.status).toBe('reverted');
      expect(j.faults[0]?.revertedBy).toBe('workflow');
      expect(j.faults[0]?.warden).toBeUndefined();
      expect(h.world.leftovers()).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it("for real: the guard's worker frozen (SIGSTOP) past the lease; the warden reverts; the journal says so", async () => {
    await ensureWarden({ dir: ledger });
    const tq = uniqueId('frozen');
    const env = { FAULTLINE_WARDEN_DIR: ledger };
    worker = await workerProcess(tq, env);
    const port = (web.address() as { port: number }).port;
    const e = demoExperiment(
      `
title: frozen guard
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${port}/", requests: 1 } ]
targets: { names: [ ${victim} ], mode: one }
method: [ { kind: container.pause, duration: 15s } ]
`,
      { prefix: id, frontUrl: '' },
    );
    const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
    // Frozen once the guard renewed (a lease starts with the inject phase's longer hold).
    await until('the guard renewing the lease', async () =>
      (await activeLeases(ledger)).some(
        (l) => l.workflowId === workflowId && Date.parse(l.expiresAt) <= Date.now() + l.leaseMs,
      ),
    );
    expect((await getStatus(fc, workflowId)).journal?.phase).toBe('observing');
    const w = worker;
    w.kill('SIGSTOP');
    let rec: LapsedLease;
    try {
      rec = await until('the warden reverting the lapsed lease', async () =>
        (await lapsedLeases(ledger)).find((l) => l.lease.workflowId === workflowId && l.revertedAt),
      );
      expect((await docker.getContainer(victim).inspect()).State.Status).toBe('running');
    } finally {
      w.kill('SIGCONT');
    }
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('passed');
    // The guard's revert at the window's end found it running (a no-op): the journal keeps the warden's
    // unpause at the time Docker's own event log gives (to its millisecond), not the no-op's time.
    const unpauses = await dockerEventTimes(victim, 'unpause', Date.parse(j.faults[0]?.intentAt ?? ''));
    expect(unpauses).toHaveLength(1);
    expect(j.faults[0]).toMatchObject({
      status: 'reverted',
      revertedBy: 'warden',
      warden: { lapsedAt: rec.lapsedAt, revertedAt: rec.revertedAt },
      revertedAt: unpauses[0],
    });
    const st = await runCli(['status', workflowId], env);
    expect(st.stdout).toContain('reverted by the warden: lease lapsed');
    expect(st.stdout).toContain(
      `reverted ${(unpauses[0] as string).replace('T', ' ').replace(/\.\d+Z$/, 'Z')} by the warden`,
    );
    await killProcess(w);
    worker = undefined;
  });
});

describe('no warden', () => {
  it('a container fault without a live warden: not-started, the reason names the ledger, nothing injected', async () => {
    const tq = uniqueId('nowarden');
    worker = await workerProcess(tq, { FAULTLINE_WARDEN_DIR: ledger });
    await docker.getContainer(wardenName(ledger, dockerSocketPath() as string)).stop({ t: 1 });
    while (((await wardenBeat(ledger))?.ageMs ?? Infinity) <= WARDEN_STALE_MS)
      await new Promise((r) => setTimeout(r, 200)); // until its last heartbeat is stale
    const since = Date.now();
    const port = (web.address() as { port: number }).port;
    const e = demoExperiment(
      `
title: no warden
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${port}/", requests: 1 } ]
targets: { names: [ ${victim} ], mode: one }
method: [ { kind: container.pause, duration: 5s } ]
`,
      { prefix: id, frontUrl: '' },
    );
    const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('not-started');
    expect(j.reason).toContain(ledger);
    expect(j.reason).toMatch(/no warden/);
    const info = await docker.getContainer(victim).inspect();
    expect(info.State.Status).toBe('running');
    expect(await dockerEvents([info.Id], ['pause', 'unpause'], since)).toEqual([]);
  });
});
