// The orphan sweeper against the real daemon, the real fault proxy and the real Temporal server: a pause
// left by a run that was terminated (Temporal's terminate skips every revert) while its warden was down,
// and a faultline-* toxic added by hand. `sweep` finds both, `sweep --fix` reverts both, a second `sweep`
// finds nothing (in the CLI process: the worker that polled is dead, so the sweep workflow is given up).
// Then the sweep as Temporal work: `sweep --every --fix` creates a schedule that `schedule list` shows;
// triggered, its sweepFleet run fixes a hand-made orphan (a paused container whose lease in the ledger
// names a closed run); a host whose agent does not answer is reported unreachable.
// On a dev server of its own: the sweep reads every open run on its server, and another file's run that does
// not answer its journal query (its worker killed on purpose) makes it leave toxics unjudged, as it must.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoImage } from '../demo/image.ts';
import { dockerSocketPath, ensureWarden, removeWarden, wardenName } from '../activities/adapters/warden-container.ts';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { ProxyClient } from '../activities/adapters/proxy-client.ts';
import { connectClient, getStatus, startExperiment, type FaultlineClient } from '../cli/client.ts';
import type { Orphan } from '../warden/sweep.ts';
import { activeLeases, createLeaseLedger } from '../warden/lease-ledger.ts';
import { SWEEP_MARGIN_MS } from '../warden/sweep-decision.ts';
import { localHostName } from '../activities/adapters/warden-container.ts';
import { describeSchedule } from '../cli/schedules.ts';
import { SWEEP_TYPE, type SweepInput, type SweepReport } from '../definitions/sweep.ts';
import type { ScheduledRunResult } from '../definitions/scheduled.ts';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createSweepActivities } from '../activities/sweep.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { temporalTarget } from '../config.ts';
import type { Journal } from '../experiments/journal.ts';
import {
  containerState,
  demoExperiment,
  docker,
  dockerEvents,
  killProcess,
  ownDevServer,
  runCli,
  uniqueId,
  workerProcess,
} from './helpers.ts';

const TOKEN = 'sweep-token';
const id = uniqueId('fl-sweep');
const victim = `${id}-victim`;
let ledger: string;
let proxy: ProxyServer;
let fc: FaultlineClient;
let env: Record<string, string>;
let worker: Awaited<ReturnType<typeof workerProcess>> | undefined;
let server: Awaited<ReturnType<typeof ownDevServer>> | undefined;
const web = http.createServer((_q, r) => r.end('ok'));

beforeAll(async () => {
  server = await ownDevServer('sweep');
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  ledger = mkdtempSync(path.join(os.tmpdir(), 'fl-sweep-ledger-'));
  proxy = await startProxyServer({ port: 0, token: TOKEN });
  await proxy.proxies.create({ name: 'sweep-route', listen: '127.0.0.1:0', upstream: '127.0.0.1:9' });
  env = { FAULTLINE_WARDEN_DIR: ledger, FAULTLINE_PROXY_URL: proxy.url, FAULTLINE_PROXY_TOKEN: TOKEN };
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
  await proxy?.close();
  web.close();
  rmSync(ledger, { recursive: true, force: true });
  await server?.stop();
});

async function sweep(
  ...args: string[]
): Promise<{ status: number | null; orphans: Orphan[]; stderr: string; mode: string }> {
  const r = await runCli(['sweep', '--json', ...args], env);
  const out = JSON.parse(r.stdout) as { orphans: Orphan[]; mode: string };
  return { status: r.status, orphans: out.orphans, stderr: r.stderr, mode: out.mode };
}

describe('faultline sweep', () => {
  it('finds a paused container and a stray toxic, --fix reverts both, a second sweep finds nothing', async () => {
    const tq = uniqueId('sweep');
    worker = await workerProcess(tq, env);
    const e = demoExperiment(
      `
title: left behind
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${(web.address() as { port: number }).port}/", requests: 1 } ]
targets: { names: [ ${victim} ], mode: one }
method: [ { kind: container.pause, duration: 5m } ]
`,
      { prefix: id, frontUrl: '' },
    );
    const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
    for (let i = 0; ; i++) {
      const st = await getStatus(fc, workflowId);
      if (st.journal?.phase === 'observing') break;
      if (st.status !== 'RUNNING' || i > 600) throw new Error(`never observing: ${st.status} ${st.journal?.reason}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The warden goes down, then an operator terminates the run: nothing reverts the pause.
    await docker.getContainer(wardenName(ledger, dockerSocketPath() as string)).stop({ t: 1 });
    await fc.client.workflow.getHandle(workflowId).terminate('left behind on purpose');
    await killProcess(worker);
    worker = undefined;
    await new ProxyClient(proxy.url, TOKEN).addToxic(
      'sweep-route',
      {
        name: 'faultline-by-hand-0001',
        type: 'latency',
        stream: 'downstream',
        toxicity: 1,
        attributes: { latency: 50 },
      },
      300_000,
    );
    expect(await containerState(victim)).toBe('paused');
    // A sweep never touches a lease granted after it began (less the clock margin): this one must be older.
    const granted = Math.max(...(await activeLeases(ledger)).map((l) => Date.parse(l.grantedAt)));
    await new Promise((r) => setTimeout(r, Math.max(0, granted + SWEEP_MARGIN_MS + 100 - Date.now())));

    // The worker polled this queue moments ago, so the CLI tries the workflow, finds nobody takes it, and
    // sweeps from its own process instead (never hangs).
    const first = await sweep('--task-queue', tq);
    expect(first.mode).toBe('in-process');
    expect(first.status, first.stderr).toBe(1);
    expect(first.orphans).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'container-fault',
          what: 'container.pause',
          target: victim,
          workflowId,
          applied: true,
        }),
        expect.objectContaining({ type: 'toxic', what: 'faultline-by-hand-0001', target: 'sweep-route' }),
      ]),
    );
    expect(first.orphans).toHaveLength(2);
    expect(await containerState(victim)).toBe('paused'); // a sweep without --fix changes nothing

    const idle = uniqueId('no-worker'); // a queue nobody ever polled: straight to the in-process sweep
    const fixed = await sweep('--fix', '--task-queue', idle);
    expect(fixed.status, fixed.stderr).toBe(0);
    expect(fixed.orphans.map((o) => o.fixed)).toEqual([true, true]);
    expect(await containerState(victim)).toBe('running');
    expect(await new ProxyClient(proxy.url, TOKEN).listToxics('sweep-route')).toEqual([]);

    const again = await sweep('--task-queue', idle);
    expect(again.status, again.stderr).toBe(0);
    expect(again.orphans).toEqual([]);
  });
});

describe('the sweep as Temporal work', () => {
  it('a scheduled sweep --fix, triggered, fixes a paused container whose lease names a closed run', async () => {
    await ensureWarden({ dir: ledger }); // the case above stopped it
    const tq = uniqueId('sweepwf');
    worker = await workerProcess(tq, env);
    const scheduleId = uniqueId('sweep-sched');
    // The orphan, by hand: paused, its lease in the ledger (held an hour, so the warden leaves it) naming a
    // run that is not open.
    const info = await docker.getContainer(victim).inspect();
    await createLeaseLedger(ledger).grant(
      {
        id: `${id}-by-hand`,
        kind: 'container.pause',
        handle: { containerId: info.Id, containerName: victim, wasState: 'running' },
        leaseMs: 10_000,
        grantedAt: new Date(Date.now() - 60_000).toISOString(), // a minute before the sweep: old enough
        workflowId: `${id}-closed-run`,
      },
      3_600_000,
    );
    await docker.getContainer(victim).pause();
    try {
      const created = await runCli(
        ['sweep', '--fix', '--every', '1h', '--schedule-id', scheduleId, '--task-queue', tq, '--json'],
        env,
      );
      expect(created.status, created.stderr).toBe(0);
      // Bad input: a clear one-line message, exit 2, nothing created (and an ID taken already is refused).
      for (const [args, msg] of [
        [['--every', '5x'], /sweep --every: /],
        [['--every', '1h', '--schedule-id', 'Not_An_ID'], /sweep --schedule-id: /],
        [['--every', '1h', '--schedule-id', scheduleId], /exists already/],
      ] as const) {
        const bad = await runCli(['sweep', ...args, '--task-queue', tq], env);
        expect(bad.status, bad.stderr).toBe(2);
        expect(bad.stderr).toMatch(msg);
        expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      }
      const list = await runCli(['schedule', 'list', '--json'], env);
      expect(JSON.parse(list.stdout)).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: scheduleId, runs: 'faultline sweep --fix' })]),
      );
      expect(await containerState(victim)).toBe('paused'); // nothing swept before the trigger

      const trig = await runCli(['schedule', 'trigger', scheduleId], env);
      expect(trig.status, trig.stderr).toBe(0);
      let runId: string | undefined;
      for (let i = 0; !runId; i++) {
        runId = (await describeSchedule(fc, scheduleId)).recent[0]?.workflowId;
        if (i > 300) throw new Error('the schedule never started a run');
        await new Promise((r) => setTimeout(r, 100));
      }
      const run = (await fc.client.workflow.getHandle(runId).result()) as ScheduledRunResult;
      expect(run.pausedSchedule).toBe(false);
      const report = (await fc.client.workflow.getHandle(run.child).result()) as SweepReport;
      expect(report.fix).toBe(true);
      expect(report.orphans).toEqual([
        expect.objectContaining({
          host: await localHostName(),
          type: 'container-fault',
          what: 'container.pause',
          target: victim,
          workflowId: `${id}-closed-run`,
          applied: true,
          fixed: true,
        }),
      ]);
      expect(await containerState(victim)).toBe('running');

      // `sweep` with a worker on the queue runs the workflow, and finds nothing left.
      const again = await sweep('--task-queue', tq);
      expect(again.mode).toBe('workflow');
      expect(again.status, again.stderr).toBe(0);
      expect(again.orphans).toEqual([]);
    } finally {
      await fc.client.schedule
        .getHandle(scheduleId)
        .delete()
        .catch(() => undefined);
    }
  });

  it('a run that starts during a sweep --fix keeps its fault, which its own end reverts', async () => {
    // The window made deterministic: the sweep reads the open runs at once (the run does not exist yet),
    // then its host sweep waits on a task queue that nobody polls until the run is observing; then the
    // host's sweep activities (the agent's own, on the same ledger and daemon) start polling it.
    await ensureWarden({ dir: ledger });
    const tq = uniqueId('sweeprace');
    const lateQueue = uniqueId('late-agent');
    worker = await workerProcess(tq, env);
    const since = Date.now();
    const host = await localHostName();
    const sweepId = uniqueId('sweep-race');
    const sweepRun = await fc.client.workflow.start(SWEEP_TYPE, {
      taskQueue: tq,
      workflowId: sweepId,
      args: [
        { fix: true, hostWaitMs: 120_000, hosts: [{ host, taskQueue: lateQueue, agents: 1 }] } satisfies SweepInput,
      ],
    });
    for (let i = 0; ; i++) {
      const d = await sweepRun.describe();
      if ((d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'sweepHost')) break; // runs read
      if (d.status.name !== 'RUNNING' || i > 600) throw new Error(`the sweep never reached its host: ${d.status.name}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const e = demoExperiment(
      `
title: started during a sweep
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${(web.address() as { port: number }).port}/", requests: 1 } ]
targets: { names: [ ${victim} ], mode: one }
method: [ { kind: container.pause, duration: 20s } ]
`,
      { prefix: id, frontUrl: '' },
    );
    const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
    for (let i = 0; ; i++) {
      const st = await getStatus(fc, workflowId);
      if (st.journal?.phase === 'observing') break;
      if (st.status !== 'RUNNING' || i > 600) throw new Error(`never observing: ${st.status} ${st.journal?.reason}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await containerState(victim)).toBe('paused');
    const connection = await NativeConnection.connect({ address: temporalTarget().address });
    const late = await Worker.create({
      connection,
      namespace: temporalTarget().namespace,
      taskQueue: lateQueue,
      activities: createSweepActivities({
        client: fc.client,
        host: () => Promise.resolve(host),
        containers: createDockerContainerPort(),
        ledgerDir: ledger,
        proxy: () => undefined,
      }),
    });
    let report: SweepReport;
    try {
      report = await late.runUntil(sweepRun.result() as Promise<SweepReport>);
    } finally {
      await connection.close();
    }
    // Not swept: the run's lease was granted after the sweep began; the container is still paused.
    expect(report.openRuns).not.toContain(workflowId);
    expect(report.orphans.filter((o) => o.workflowId === workflowId)).toEqual([]);
    expect(report.spared).toEqual([
      expect.objectContaining({
        host,
        type: 'container-fault',
        what: 'container.pause',
        target: victim,
        workflowId,
        reason: expect.stringMatching(/after the sweep began/),
      }),
    ]);
    expect(await containerState(victim)).toBe('paused');
    // The run goes on to its own end and reverts its fault itself: one pause, one unpause.
    const j = (await fc.client.workflow.getHandle(workflowId).result()) as Journal;
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.faults[0]?.status).toBe('reverted');
    expect(j.faults[0]?.revertedBy).toBe('workflow'); // its own revert, not the warden's
    expect(await containerState(victim)).toBe('running');
    const info = await docker.getContainer(victim).inspect();
    expect((await dockerEvents([info.Id], ['pause', 'unpause'], since)).map((x) => x.action)).toEqual([
      'pause',
      'unpause',
    ]);
    await killProcess(worker);
    worker = undefined;
  });

  it('a host whose agent does not answer is reported unreachable, not waited for', async () => {
    const tq = uniqueId('sweepwf');
    const w = await workerProcess(tq, env);
    try {
      const r = (await fc.client.workflow.execute(SWEEP_TYPE, {
        taskQueue: tq,
        workflowId: uniqueId('sweep-ghost'),
        args: [
          {
            fix: false,
            hostWaitMs: 1_000,
            hosts: [{ host: 'ghost', taskQueue: uniqueId('nobody') }],
          } satisfies SweepInput,
        ],
      })) as SweepReport;
      expect(r.unreachable).toEqual([{ host: 'ghost', reason: expect.stringMatching(/no agent took its sweep/) }]);
    } finally {
      await killProcess(w);
    }
  });
});
