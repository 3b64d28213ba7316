// npm run bench:fleet — pause 50 containers spread over two real Docker daemons (the machine's and a second
// dockerd started here, test/second-daemon.ts) and unpause them: time to apply and to revert all of them,
// through the container.pause fault kind (inspect + pause; revert: inspect + unpause) over each daemon's
// ContainerPort, all calls at once (50 concurrent Docker calls, 25 per daemon) vs one after the other.
// Then the same 50 pauses as one real experiment (blast radius 50) through the two agents, one per daemon
// (runAgent in this process, each with its daemon's warden, polling Q@first and Q@second of a dev server
// started here; the fleet worker has no agent): one prepare and one inject activity per container on its
// host's agent, then each host's holder unpauses its containers at their window's end. Measured from the
// workflow history and the daemons' event logs: first inject scheduled -> last pause, first window end ->
// last unpause. Target: under 1 s each. Writes bench/results/fleet.json and prints a table. Takes the e2e lock.
import { openSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { ensureDemoImage } from '../demo/image.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { containerPause } from '../faults/container-pause.ts';
import type { Ports } from '../faults/ports.ts';
import type { ContainerHandle } from '../faults/container-common.ts';
import { startSecondDaemon } from '../test/second-daemon.ts';
import { hostWardenDir, temporalTarget } from '../config.ts';
import { runBench, writeResults } from './results-file.ts';
import { freePort, startDevServer } from '../cli/dev-server.ts';
import { connectClient, startExperiment, waitForResult } from '../cli/client.ts';
import { createWorker, defaultPorts, runAgent } from '../worker/worker.ts';
import { listHosts } from '../activities/hosts.ts';
import { removeWarden } from '../activities/adapters/warden-container.ts';
import { parseExperiment } from '../experiments/parse.ts';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { dockerEventLog } from '../test/support/docker-events.ts';

const PER_DAEMON = 25;
const ROUNDS = 5;
/** Experiments through the agents (each on a fresh dev server): the p95 of apply and revert is over these. */
const AGENT_RUNS = Number(process.env.FLEET_AGENT_RUNS ?? 8);
/** The commit measured (and whether the work tree had changes on top of it). */
function measuredCommit(): string {
  const git = (...a: string[]) => execFileSync('git', a, { encoding: 'utf8' }).trim();
  return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : ''}`;
}
const spec = containerPause.spec.parse({ kind: 'container.pause', duration: '10s' });

interface Target {
  ports: Ports;
  handle: ContainerHandle;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return Math.round(performance.now() - t0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Times (epoch ms) of a daemon's pause or unpause events of the bench's containers since a time. */
async function eventTimes(
  dk: Dockerode,
  label: string,
  action: string,
  sinceMs: number,
): Promise<{ id: string; t: number }[]> {
  return (await dockerEventLog(dk, { sinceMs, filters: { label: [label], event: [action] } })).map((e) => ({
    id: e.id ?? '',
    t: e.timeNano / 1e6,
  }));
}

interface AgentsRun {
  /** First inject scheduled -> last pause (and -> first pause: the dispatch to the agents). */
  applyMs: number;
  firstPauseMs: number;
  /** First inject scheduled -> the last inject picked up by an agent / its result recorded (history). */
  lastInjectStartedMs: number;
  lastInjectCompletedMs: number;
  /** First window end -> last unpause (each fault's window starts at its own inject, so this includes their spread). */
  revertMs: number;
  /** The largest lag of one unpause after its own fault's window end. */
  maxRevertLagMs: number;
  pauses: number;
  unpauses: number;
  verdict: string;
}

/** The 50 pauses as one experiment through the two agents (see the header). */
async function throughAgents(
  id: string,
  label: string,
  daemons: { name: string; docker: Dockerode; socketPath: string }[],
): Promise<AgentsRun> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'fl-bench-fleet-'));
  const web = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const server = await startDevServer({
    dbFile: path.join(tmp, 'temporal.db'),
    port: await freePort(),
    uiPort: await freePort(),
    logFile: path.join(tmp, 'temporal.log'),
    detached: true,
  });
  const target = temporalTarget({ TEMPORAL_ADDRESS: server.address });
  const stop = new AbortController();
  const hostName = (d: { name: string }) => `${id}-${d.name}`;
  const agents = daemons.map(
    (d) =>
      new Promise<void>((ready, fail) => {
        runAgent({
          endpoint: { socketPath: d.socketPath },
          host: hostName(d),
          taskQueue: id,
          target,
          signal: stop.signal,
          onReady: () => ready(),
        }).catch(fail);
      }),
  );
  // Given ports, so it starts no warden of its own: it runs no container fault (host: false).
  const fleet = await createWorker({ target, taskQueue: id, host: false, ports: defaultPorts() });
  const running = fleet.worker.run();
  const fc = await connectClient(target);
  try {
    await Promise.all(agents);
    for (let i = 0; (await listHosts(fc.client, id)).filter((h) => h.agents > 0).length < 2; i++) {
      if (i > 150) throw new Error('the two agents never showed in the registry');
      await sleep(200);
    }
    const text = `title: pause 50 over two hosts
hypothesis: { statement: it answers, probes: [ { name: up, type: http, url: "http://127.0.0.1:${(web.address() as { port: number }).port}/", requests: 1 } ] }
targets: { labels: { faultline.bench: ${label} }, mode: all }
blastRadius: { maxTargets: ${2 * PER_DAEMON} }
method: [ { kind: container.pause, duration: 5s } ]
`;
    const parsed = parseExperiment(text, 'bench-fleet.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const since = Date.now();
    const { workflowId } = await startExperiment(fc, parsed.experiment, { taskQueue: id });
    const j = await waitForResult(fc, workflowId);
    const history = await fc.client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const at = (e: (typeof events)[number]) =>
      Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
    // One inject activity per fault (before 'fleet-batches'), or one per host carrying all of its faults.
    const injects = events.filter((e) =>
      ['injectFault', 'injectFaults'].includes(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
    );
    const firstInject = Math.min(...injects.map(at));
    // When an agent picked each inject up (its started event), and when each inject's result was recorded.
    const ids = new Set(injects.map((e) => String(e.eventId)));
    const started = events
      .filter((e) => ids.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '')))
      .map(at);
    const completed = events
      .filter((e) => ids.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '')))
      .map(at);
    const labelFilter = `faultline.bench=${label}`;
    const pauses = (await Promise.all(daemons.map((d) => eventTimes(d.docker, labelFilter, 'pause', since)))).flat();
    const unpauses = (
      await Promise.all(daemons.map((d) => eventTimes(d.docker, labelFilter, 'unpause', since)))
    ).flat();
    const endOf = new Map(j.faults.map((f) => [f.target?.id, Date.parse(f.endsAt ?? '')]));
    const firstEnd = Math.min(...endOf.values());
    const ts = (xs: { t: number }[]) => xs.map((x) => x.t);
    return {
      applyMs: Math.round(Math.max(...ts(pauses)) - firstInject),
      firstPauseMs: Math.round(Math.min(...ts(pauses)) - firstInject),
      lastInjectStartedMs: Math.round(Math.max(...started) - firstInject),
      lastInjectCompletedMs: Math.round(Math.max(...completed) - firstInject),
      revertMs: Math.round(Math.max(...ts(unpauses)) - firstEnd),
      maxRevertLagMs: Math.round(Math.max(...unpauses.map((u) => u.t - (endOf.get(u.id) ?? NaN)))),
      pauses: pauses.length,
      unpauses: unpauses.length,
      verdict: `${j.verdict}${j.reason ? ` (${j.reason})` : ''}`,
    };
  } finally {
    stop.abort();
    fleet.worker.shutdown();
    await Promise.allSettled([...agents, running]);
    await fc.close();
    await fleet.connection.close();
    for (const d of daemons) await removeWarden({ dir: hostWardenDir(hostName(d)), socketPath: d.socketPath });
    server.process.kill('SIGKILL');
    await new Promise<void>((r) => web.close(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  }
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function main(): Promise<void> {
  // The lock the e2e suites share: containers and a second daemon are created here.
  const lock = openSync('/tmp/faultline-e2e.lock', 'a');
  execFileSync('flock', ['-x', String(3)], { stdio: ['ignore', 'inherit', 'inherit', lock] });
  const commit = measuredCommit();
  const first = new Dockerode();
  const image = await ensureDemoImage(first);
  const second = await startSecondDaemon();
  const id = `fl-fleet-${process.pid}`;
  const created: { docker: Dockerode; name: string }[] = [];
  try {
    second.load(image);
    const daemons = [
      { name: 'first', docker: first },
      { name: 'second', docker: second.docker },
    ];
    const targets: Target[] = [];
    for (const d of daemons) {
      const ports: Ports = { containers: createDockerContainerPort(d.docker), proxy: {} as Ports['proxy'] };
      for (let i = 0; i < PER_DAEMON; i++) {
        const name = `${id}-${d.name}-${i}`;
        const c = await d.docker.createContainer({
          name,
          Image: image,
          Cmd: ['/usr/bin/node', '-e', 'setInterval(() => {}, 1 << 30)'],
          Labels: { 'faultline.bench': id },
          HostConfig: { NetworkMode: 'none' },
        });
        created.push({ docker: d.docker, name });
        await c.start();
        targets.push({ ports, handle: await containerPause.prepare(ports, spec, { container: { id: c.id, name } }) });
      }
    }
    const apply = (t: Target) => containerPause.inject(t.ports, spec, t.handle);
    const revert = (t: Target) => containerPause.revert(t.ports, t.handle);
    const allPaused = async (want: string) => {
      for (const t of targets) {
        const s = (await t.ports.containers.inspect(t.handle.containerId))?.state;
        if (s !== want) throw new Error(`${t.handle.containerName} is ${s}, expected ${want}`);
      }
    };
    const concurrent = { apply: [] as number[], revert: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      concurrent.apply.push(await timed(() => Promise.all(targets.map(apply))));
      await allPaused('paused');
      concurrent.revert.push(await timed(() => Promise.all(targets.map(revert))));
      await allPaused('running');
    }
    const sequential = {
      apply: await timed(async () => {
        for (const t of targets) await apply(t);
      }),
      revert: await timed(async () => {
        for (const t of targets) await revert(t);
      }),
    };
    await allPaused('running');
    const runs: AgentsRun[] = [];
    for (let r = 0; r < AGENT_RUNS; r++) {
      runs.push(
        await throughAgents(`${id}-${r}`, id, [
          { name: 'first', docker: first, socketPath: '/var/run/docker.sock' },
          { name: 'second', docker: second.docker, socketPath: second.socketPath },
        ]),
      );
      await allPaused('running');
      console.log(`agents run ${r + 1}/${AGENT_RUNS}: apply ${runs[r]!.applyMs} ms, revert ${runs[r]!.revertMs} ms`);
    }
    const viaAgents = runs[runs.length - 1]!;
    const of = (k: keyof AgentsRun) => runs.map((x) => x[k] as number);
    const summary = Object.fromEntries(
      (['applyMs', 'revertMs', 'firstPauseMs', 'lastInjectStartedMs', 'maxRevertLagMs'] as const).map((k) => [
        k,
        { p50: pct(of(k), 0.5), p95: pct(of(k), 0.95), min: Math.min(...of(k)), max: Math.max(...of(k)) },
      ]),
    );
    const rows = [
      ['apply (pause all 50)', concurrent.apply, sequential.apply],
      ['revert (unpause all 50)', concurrent.revert, sequential.revert],
    ] as const;
    console.log(
      `\n${targets.length} containers over 2 daemons (${PER_DAEMON} each), ${ROUNDS} rounds, 50 concurrent Docker calls`,
    );
    console.log('step                     | concurrent p50 / max | one at a time | ratio | target < 1 s');
    for (const [step, xs, seq] of rows)
      console.log(
        `${step.padEnd(24)} | ${`${pct(xs, 0.5)} / ${Math.max(...xs)} ms`.padEnd(20)} | ${`${seq} ms`.padEnd(13)} | ${(seq / pct(xs, 0.5)).toFixed(1)}x  | ${Math.max(...xs) < 1000 ? 'met' : 'NOT met'}`,
      );
    console.log(`\n${AGENT_RUNS} experiments through the two agents, p50 / p95 / max:`);
    for (const k of ['applyMs', 'revertMs'] as const)
      console.log(
        `${k === 'applyMs' ? 'apply  (first inject scheduled -> last pause)  ' : 'revert (first window end -> last unpause)     '} | ${summary[k]!.p50} / ${summary[k]!.p95} / ${summary[k]!.max} ms | ${summary[k]!.p95 < 1000 ? 'met' : 'NOT met'}`,
      );
    console.log(
      `\nthe last experiment through the two agents (${PER_DAEMON} concurrent inject activities per agent): verdict ${viaAgents.verdict}, ${viaAgents.pauses} pauses / ${viaAgents.unpauses} unpauses`,
    );
    console.log('step                                          | time    | target < 1 s');
    for (const [step, ms] of [
      ['apply: first inject scheduled -> first pause', viaAgents.firstPauseMs],
      ['apply: first inject scheduled -> last picked up', viaAgents.lastInjectStartedMs],
      ['apply: first inject scheduled -> last pause', viaAgents.applyMs],
      ['apply: first inject scheduled -> last completed', viaAgents.lastInjectCompletedMs],
      ['revert: first window end -> last unpause', viaAgents.revertMs],
      ['revert: largest lag behind its own window end', viaAgents.maxRevertLagMs],
    ] as const)
      console.log(`${step.padEnd(45)} | ${`${ms} ms`.padEnd(7)} | ${ms < 1000 ? 'met' : 'NOT met'}`);
    writeResults('fleet', {
      commit,
      containers: targets.length,
      daemons: 2,
      concurrentDockerCalls: targets.length,
      rounds: ROUNDS,
      concurrentMs: concurrent,
      sequentialMs: sequential,
      throughAgents: { agents: 2, runs: AGENT_RUNS, summary, last: viaAgents, all: runs },
    });
  } finally {
    await Promise.all(
      created.map((c) =>
        c.docker
          .getContainer(c.name)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await second.stop();
  }
}

runBench(main);
