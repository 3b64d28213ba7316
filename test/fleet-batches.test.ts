// A host's container faults in one activity per host per phase ('fleet-batches'), against the real
// components: a second real dockerd beside the first (test/second-daemon.ts), the embedded worker as the
// local host's agent and `faultline agent` (the real CLI, a child process) as the second daemon's. Three
// containers on each daemon are paused by one experiment: each host's intents, injects and reverts are one
// activity on its own queue, each daemon's event log shows exactly one pause and one unpause per container,
// and every container answers from inside once the run ends (an exec into a paused container is refused).
// An operator abort in the window reverts every one of them the same way.
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoImage } from '../demo/image.ts';
import type { Journal } from '../experiments/journal.ts';
import { hostTaskQueue } from '../experiments/hosts.ts';
import { abortExperiment, connectClient, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { listHosts } from '../activities/hosts.ts';
import { demoExperiment, docker, dockerEvents, inProcessWorker, killProcess, spawnAgent, uniqueId } from './helpers.ts';
import { startSecondDaemon, type SecondDaemon } from './second-daemon.ts';
import { dockerEventLog } from './support/docker-events.ts';

const PER_HOST = 3;
const fleet = uniqueId('fl-batch');
const id = uniqueId('fl-batch-t');
let d2: SecondDaemon;
let local: Awaited<ReturnType<typeof inProcessWorker>>;
let localName: string;
let agent: ChildProcess | undefined;
let fc: FaultlineClient;
const web = http.createServer((_q, r) => r.end('ok'));
/** Every target: its daemon and container ID, by host/name. */
const targets = new Map<string, { dk: Dockerode; cid: string }>();

beforeAll(async () => {
  d2 = await startSecondDaemon();
  const image = await ensureDemoImage(docker);
  d2.load(image);
  localName = ((await docker.info()) as { Name: string }).Name;
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  for (const [host, dk] of [
    [localName, docker],
    ['d2', d2.docker],
  ] as const)
    for (let i = 0; i < PER_HOST; i++) {
      const name = `${id}-${i}`;
      const c = await dk.createContainer({
        name,
        Image: image,
        Cmd: ['/usr/bin/node', '-e', 'setInterval(() => {}, 1 << 30)'],
        Labels: { 'faultline.test': id },
        HostConfig: { NetworkMode: 'none' },
      });
      await c.start();
      targets.set(`${host}/${name}`, { dk, cid: c.id });
    }
  local = await inProcessWorker(fleet);
  agent = await spawnAgent(['--socket', d2.socketPath, '--host', 'd2', '--task-queue', fleet]);
  fc = await connectClient();
  // Visibility lags a registration by a moment.
  for (let i = 0; (await listHosts(fc.client, fleet)).filter((h) => h.agents > 0).length < 2; i++) {
    if (i > 100) throw new Error('the two hosts never showed in the registry');
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  if (agent) await killProcess(agent, 'SIGTERM');
  await local?.stop();
  await fc?.close();
  for (const [key, t] of targets)
    await t.dk
      .getContainer(t.cid)
      .remove({ force: true })
      .catch(() => console.warn(`could not remove ${key}`));
  await d2?.stop();
  web.close();
});

function pauseAll(duration: string) {
  return demoExperiment(
    `
title: pause every target on both hosts
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${(web.address() as { port: number }).port}/", requests: 1 } ]
targets: { labels: { faultline.test: ${id} }, mode: all }
blastRadius: { maxTargets: ${2 * PER_HOST} }
method: [ { kind: container.pause, duration: ${duration} } ]
`,
    { prefix: id, frontUrl: '' },
  );
}

/**
 * pause/unpause events of a container on its daemon since a time (the first daemon's through dockerEvents:
 * it replays only its last 256 events, and other files run beside this one).
 */
async function events(dk: Dockerode, cid: string, sinceMs: number): Promise<string[]> {
  if (dk === docker) return (await dockerEvents([cid], ['pause', 'unpause'], sinceMs)).map((e) => e.action);
  return (await dockerEventLog(dk, { sinceMs, filters: { container: [cid], event: ['pause', 'unpause'] } })).map(
    (e) => e.Action,
  );
}

/** A process started inside the container runs and answers (Docker refuses an exec into a paused one). */
async function answersFromInside(dk: Dockerode, cid: string): Promise<string> {
  const exec = await dk.getContainer(cid).exec({
    Cmd: ['/usr/bin/node', '-e', 'process.stdout.write("alive " + process.pid)'],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString('latin1')));
  await new Promise((r) => stream.on('end', r));
  return /alive \d+/.exec(out)?.[0] ?? `no answer: ${out}`;
}

/** Each activity type the run scheduled, with the task queues it went to (sorted). */
async function scheduled(workflowId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const e of (await fc.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name) (out[a.activityType.name] ??= []).push(a.taskQueue?.name ?? '');
  }
  for (const qs of Object.values(out)) qs.sort();
  return out;
}

async function expectAllReverted(j: Journal, since: number): Promise<void> {
  expect(j.faults.map((f) => `${f.target?.host}/${f.target?.name}`).sort()).toEqual([...targets.keys()].sort());
  for (const f of j.faults) expect(f, f.summary).toMatchObject({ status: 'reverted', errors: [] });
  for (const [key, t] of targets) {
    expect(await events(t.dk, t.cid, since), key).toEqual(['pause', 'unpause']);
    expect(await answersFromInside(t.dk, t.cid), key).toMatch(/^alive \d+$/);
  }
}

describe('a fleet run with several container faults per host', () => {
  it(
    'one activity per host per phase: every target paused and then answering from inside',
    { timeout: 180_000 },
    async () => {
      const since = Date.now();
      const { workflowId } = await startExperiment(fc, pauseAll('3s'), { taskQueue: fleet });
      const j = await waitForResult(fc, workflowId);
      expect(j.verdict, j.reason).toBe('passed');
      await expectAllReverted(j, since);
      const queues = [localName, 'd2'].map((h) => hostTaskQueue(fleet, h)).sort();
      const acts = await scheduled(workflowId);
      expect(acts.prepareFaults).toEqual(queues);
      expect(acts.injectFaults).toEqual(queues);
      expect(acts.revertFaults).toEqual(queues);
      for (const t of ['prepareFault', 'injectFault', 'revertFault']) expect(acts[t], t).toBeUndefined();
    },
  );

  it('an operator abort in the window reverts every target on both hosts', { timeout: 180_000 }, async () => {
    const since = Date.now();
    const { workflowId } = await startExperiment(fc, pauseAll('5m'), { taskQueue: fleet });
    // Abort once every target is paused (each daemon's own log says so).
    for (let i = 0; ; i++) {
      const paused = await Promise.all([...targets.values()].map((t) => events(t.dk, t.cid, since)));
      if (paused.every((e) => e.includes('pause'))) break;
      if (i > 300) throw new Error('the targets were never all paused');
      await new Promise((r) => setTimeout(r, 200));
    }
    const aborted = await abortExperiment(fc, workflowId, 'enough', 'fleet-batches test');
    for (const f of aborted.faults) expect(f.status, f.summary).toBe('reverted');
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('aborted');
    await expectAllReverted(j, since);
    expect((await scheduled(workflowId)).revertFaults).toEqual(
      [localName, 'd2'].map((h) => hostTaskQueue(fleet, h)).sort(),
    );
  });
});
