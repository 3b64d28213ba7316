// The fleet against the real components: a second real dockerd beside the first (test/second-daemon.ts),
// the embedded worker as the local host's agent and `faultline agent` (the real CLI, a child process) as the
// second daemon's. The registry lists both with their agents; bad agents (a daemon that does not answer, a
// host name taken by another daemon) stop before anything is registered. An experiment whose selector
// matches a container of the same name on both daemons pauses both, each through its own host's agent, and
// reverts both; a target on an unregistered host, a host with no agent and a host name answered by another
// daemon are not-started with nothing injected (each daemon's event log shows no pause). The sweep spans
// every registered host: a paused container left on each daemon and a stray toxic on the proxy are found
// naming their hosts, fixed, and gone; a registered host with no agent is reported unreachable (exit 3).
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoImage } from '../demo/image.ts';
import type { HostEntry } from '../experiments/hosts.ts';
import { connectClient, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { forgetHost, registerHost } from '../activities/hosts.ts';
import {
  demoExperiment,
  docker,
  inProcessWorker,
  killProcess,
  ownDevServer,
  runCli,
  spawnAgent,
  uniqueId,
} from './helpers.ts';
import { startSecondDaemon, type SecondDaemon } from './second-daemon.ts';
import { createLeaseLedger } from '../warden/lease-ledger.ts';
import { ProxyClient } from '../activities/adapters/proxy-client.ts';
import { startProxyServer } from '../proxy/server.ts';
import type { SweepOutcome } from '../cli/commands/sweep.ts';
import { dockerEventLog } from './support/docker-events.ts';

const fleet = uniqueId('fl-fleet');
let d2: SecondDaemon;
let local: Awaited<ReturnType<typeof inProcessWorker>>;
let localName: string;
const agents: ChildProcess[] = [];
const id = uniqueId('fl-fleet-t');
const victim = `${id}-victim`; // the same name on both daemons: identity is host + name
const ids: Record<string, string> = {};
let fc: FaultlineClient;
let server: Awaited<ReturnType<typeof ownDevServer>> | undefined;
const web = http.createServer((_q, r) => r.end('ok'));

/** `faultline agent ARGS`, stopped in afterAll. */
async function agent(args: string[]): Promise<ChildProcess & { output: () => string }> {
  const child = await spawnAgent(args);
  agents.push(child);
  return child;
}

async function hosts(): Promise<HostEntry[]> {
  const r = await runCli(['hosts', '--json', '--task-queue', fleet]);
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { hosts: HostEntry[] }).hosts;
}

/** Visibility lags a registration by a moment: the listing until it has these hosts. */
async function hostsUntil(names: string[]): Promise<HostEntry[]> {
  for (let i = 0; ; i++) {
    const h = await hosts();
    if (names.every((n) => h.some((x) => x.host === n && x.agents > 0)) || i > 50) return h;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  // Its own server: its sweep reads every open run on the server, and another file's run that does not answer
  // its journal query (its worker killed on purpose) makes the sweep leave toxics unjudged, as it must.
  server = await ownDevServer('fleet');
  d2 = await startSecondDaemon();
  d2.load(await ensureDemoImage(docker));
  localName = ((await docker.info()) as { Name: string }).Name;
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const image = await ensureDemoImage(docker);
  for (const [host, dk] of [
    [localName, docker],
    ['d2', d2.docker],
  ] as const) {
    const c = await dk.createContainer({
      name: victim,
      Image: image,
      Env: ['ROLE=backend'],
      Labels: { 'faultline.test': id },
    });
    await c.start();
    ids[host] = c.id;
  }
  local = await inProcessWorker(fleet);
  await agent(['--socket', d2.socketPath, '--host', 'd2', '--task-queue', fleet]);
  fc = await connectClient();
});

afterAll(async () => {
  for (const a of agents) await killProcess(a, 'SIGTERM');
  await local?.stop();
  await fc?.close();
  await docker
    .getContainer(victim)
    .remove({ force: true })
    .catch(() => undefined);
  await d2?.stop();
  web.close();
  await server?.stop();
});

function pauseExperiment(extra = '') {
  return demoExperiment(
    `
title: pause the victim on every host
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${(web.address() as { port: number }).port}/", requests: 1 } ]
targets: { labels: { faultline.test: ${id} }, mode: all${extra} }
blastRadius: { maxTargets: 2 }
method: [ { kind: container.pause, duration: 3s } ]
`,
    { prefix: id, frontUrl: '' },
  );
}

/** pause/unpause events of a container on one daemon since a time. */
async function events(dk: Dockerode, cid: string, sinceMs: number): Promise<string[]> {
  return (await dockerEventLog(dk, { sinceMs, filters: { container: [cid], event: ['pause', 'unpause'] } })).map(
    (e) => e.Action,
  );
}

async function run(extra = '') {
  const { workflowId } = await startExperiment(fc, pauseExperiment(extra), { taskQueue: fleet });
  return waitForResult(fc, workflowId);
}

describe('host registry', () => {
  it('lists the local host (the embedded worker) and the second daemon (faultline agent), each with its daemon and last seen', async () => {
    const h = await hostsUntil([localName, 'd2']);
    const d2Info = (await d2.docker.info()) as { ID: string; DockerRootDir: string };
    const localInfo = (await docker.info()) as { ID: string; DockerRootDir: string };
    expect(h.map((x) => x.host).sort()).toEqual([localName, 'd2'].sort());
    const second = h.find((x) => x.host === 'd2');
    expect(second).toMatchObject({
      daemonId: `${d2Info.ID}@${d2Info.DockerRootDir}`,
      dockerHost: `unix://${d2.socketPath}`,
      taskQueue: `${fleet}@d2`,
    });
    expect(h.find((x) => x.host === localName)?.daemonId).toBe(`${localInfo.ID}@${localInfo.DockerRootDir}`);
    for (const x of h) {
      expect(x.agents).toBeGreaterThan(0);
      expect(Date.now() - Date.parse(x.lastSeen ?? '0')).toBeLessThan(75_000);
    }
    const text = await runCli(['hosts', '--task-queue', fleet]);
    expect(text.stdout).toMatch(/^HOST\s+DAEMON/m);
    expect(text.stdout).toContain(`d2 `);
  });

  it('an agent whose daemon does not answer exits non-zero with one line, and registers nothing', async () => {
    const r = await runCli([
      'agent',
      '--socket',
      '/tmp/fl-no-such-daemon.sock',
      '--host',
      'ghost',
      '--task-queue',
      fleet,
    ]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Docker daemon at unix:\/\/\/tmp\/fl-no-such-daemon.sock does not answer/);
    expect((await hosts()).map((x) => x.host)).not.toContain('ghost');
  });

  it('a host name registered for another daemon: the new agent refuses to start (exit 2); the same daemon is a standby', async () => {
    const r = await runCli(['agent', '--socket', d2.socketPath, '--host', localName, '--task-queue', fleet]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`host name "${localName}" is already registered for another Docker daemon`));
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const standby = await agent(['--socket', d2.socketPath, '--host', 'd2', '--task-queue', fleet]);
    expect(standby.output()).toContain('standby');
    const d2Entry = (await hosts()).find((x) => x.host === 'd2');
    expect(d2Entry?.agents).toBe(2);
    await killProcess(standby, 'SIGTERM');
  });

  it('hosts forget retires a host', async () => {
    const r = await runCli(['hosts', 'forget', 'nobody', '--task-queue', fleet]);
    expect(r.status).toBe(2);
    const extra = await agent(['--socket', d2.socketPath, '--host', 'd2-extra', '--task-queue', fleet]);
    await hostsUntil(['d2-extra']);
    await killProcess(extra, 'SIGTERM');
    expect((await runCli(['hosts', 'forget', 'd2-extra', '--task-queue', fleet])).status).toBe(0);
    for (let i = 0; i < 50 && (await hosts()).some((x) => x.host === 'd2-extra'); i++)
      await new Promise((r) => setTimeout(r, 200));
    expect((await hosts()).map((x) => x.host)).not.toContain('d2-extra');
  });
});

describe('routing across two daemons', () => {
  it('selects the same-named container on both hosts, pauses each through its own agent and reverts both', async () => {
    await hostsUntil([localName, 'd2']);
    const since = Date.now();
    const j = await run();
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.faults.map((f) => f.target).sort((a, b) => (a?.host ?? '').localeCompare(b?.host ?? ''))).toEqual(
      [
        { id: ids[localName], name: victim, host: localName },
        { id: ids.d2, name: victim, host: 'd2' },
      ].sort((a, b) => a.host.localeCompare(b.host)),
    );
    expect(j.faults.every((f) => f.status === 'reverted')).toBe(true);
    // Each daemon saw exactly its own container paused once and unpaused once, and it runs now.
    expect(await events(docker, ids[localName] as string, since)).toEqual(['pause', 'unpause']);
    expect(await events(d2.docker, ids.d2 as string, since)).toEqual(['pause', 'unpause']);
    expect((await docker.getContainer(victim).inspect()).State.Status).toBe('running');
    expect((await d2.docker.getContainer(victim).inspect()).State.Status).toBe('running');
  });

  it('a selector restricted to one host touches only that host', async () => {
    const since = Date.now();
    const j = await run(', hosts: [ d2 ]');
    expect(j.verdict, j.reason).toBe('passed');
    expect(j.faults.map((f) => f.target?.host)).toEqual(['d2']);
    expect(await events(docker, ids[localName] as string, since)).toEqual([]);
    expect(await events(d2.docker, ids.d2 as string, since)).toEqual(['pause', 'unpause']);
  });

  async function notStarted(extra: string, reason: RegExp) {
    const since = Date.now();
    const j = await run(extra);
    expect(j.verdict, j.reason).toBe('not-started');
    expect(j.reason).toMatch(reason);
    expect(j.faults).toEqual([]);
    expect(await events(docker, ids[localName] as string, since)).toEqual([]);
    expect(await events(d2.docker, ids.d2 as string, since)).toEqual([]);
  }

  it('a target on a host that is not registered: not-started, naming the host, nothing injected', async () => {
    await notStarted(', hosts: [ nowhere ]', /targets\.hosts: no registered host "nowhere"/);
  });

  it('one daemon registered under two host names: not-started, naming both, nothing injected', async () => {
    const alias = await agent(['--socket', d2.socketPath, '--host', 'd2-alias', '--task-queue', fleet]);
    try {
      await hostsUntil([localName, 'd2', 'd2-alias']);
      await notStarted('', /daemon \S+ is registered as hosts d2 and d2-alias: one daemon, two host names/);
    } finally {
      await killProcess(alias, 'SIGTERM');
      await forgetHost(fc.client, fleet, 'd2-alias');
    }
  });

  it('a registered host with no agent polling: not-started, naming the host, nothing injected', async () => {
    const rec = {
      host: 'silent',
      fleetQueue: fleet,
      daemonId: 'SILENT-DAEMON',
      daemonName: 'silent',
      dockerHost: 'tcp://192.0.2.1:2375',
      registeredAt: new Date().toISOString(),
    };
    await registerHost(fc.client, rec);
    await hostsUntil([localName, 'd2']);
    for (let i = 0; i < 50 && !(await hosts()).some((h) => h.host === 'silent'); i++)
      await new Promise((r) => setTimeout(r, 200));
    try {
      await notStarted('', /host silent: no agent is polling/);
    } finally {
      await forgetHost(fc.client, fleet, 'silent');
    }
  });

  it('a host name answered by another daemon than the registered one: not-started, nothing injected', async () => {
    // An agent of d2 registers "twin"; then the name is retired and taken by another daemon's registration
    // while the d2 agent still polls: the run sees the listing's daemon differ from the registry's.
    const twin = await agent(['--socket', d2.socketPath, '--host', 'twin', '--task-queue', fleet]);
    await hostsUntil(['twin']);
    await forgetHost(fc.client, fleet, 'twin');
    await registerHost(fc.client, {
      host: 'twin',
      fleetQueue: fleet,
      daemonId: 'OTHER-DAEMON',
      daemonName: 'other',
      dockerHost: 'tcp://192.0.2.2:2375',
      registeredAt: new Date().toISOString(),
    });
    for (let i = 0; i < 50 && !(await hosts()).some((h) => h.host === 'twin' && h.daemonId === 'OTHER-DAEMON'); i++)
      await new Promise((r) => setTimeout(r, 200));
    try {
      await notStarted(
        '',
        /host twin: an agent on daemon .* answers for it, but it is registered for daemon other \(OTHER-DAEMON\): one host name, two daemons/,
      );
    } finally {
      await forgetHost(fc.client, fleet, 'twin');
      await killProcess(twin, 'SIGTERM');
    }
  });
});

describe('the sweep across the fleet', () => {
  async function sweep(...args: string[]): Promise<{ status: number | null; out: SweepOutcome; stderr: string }> {
    const r = await runCli(['sweep', '--json', '--task-queue', fleet, ...args]);
    return { status: r.status, out: JSON.parse(r.stdout) as SweepOutcome, stderr: r.stderr };
  }

  it('a paused container on each host and a stray toxic: sweep names all three, --fix reverts all, then nothing', async () => {
    const registry = await hostsUntil([localName, 'd2']);
    const token = 'fleet-sweep-token';
    const proxy = await startProxyServer({ port: 0, token });
    await proxy.proxies.create({ name: 'fleet-route', listen: '127.0.0.1:0', upstream: '127.0.0.1:9' });
    // The in-process worker runs the proxy's sweep and reads the endpoint per call.
    Object.assign(process.env, { FAULTLINE_PROXY_URL: proxy.url, FAULTLINE_PROXY_TOKEN: token });
    const pc = new ProxyClient(proxy.url, token);
    try {
      // Left behind by hand: each victim paused, its lease (held an hour, so no warden steps in) in its
      // host's ledger naming a run that is not open; a faultline-* toxic no run holds.
      for (const [host, dk] of [
        [localName, docker],
        ['d2', d2.docker],
      ] as const) {
        const dir = registry.find((h) => h.host === host)?.wardenDir;
        if (!dir) throw new Error(`host ${host} has no warden ledger: ${JSON.stringify(registry)}`);
        await createLeaseLedger(dir).grant(
          {
            id: `${id}-${host}-by-hand`,
            kind: 'container.pause',
            handle: { containerId: ids[host], containerName: victim, wasState: 'running' },
            leaseMs: 10_000,
            // Left behind a minute ago: a lease granted after the sweep began (or within its clock margin)
            // is never swept, whatever run it names.
            grantedAt: new Date(Date.now() - 60_000).toISOString(),
            workflowId: `${id}-closed-run`,
          },
          3_600_000,
        );
        await dk.getContainer(victim).pause();
      }
      await pc.addToxic(
        'fleet-route',
        {
          name: 'faultline-stray-0001',
          type: 'latency',
          stream: 'downstream',
          toxicity: 1,
          attributes: { latency: 9 },
        },
        300_000,
      );
      // This test's strays: the files beside it write their leases to the same host's default ledger
      // (.state/warden), and runs on their own dev servers are not open on this one, so the sweep lists
      // theirs as well (see the closing note: two fleets sharing a host's ledger).
      const mine = (r: SweepOutcome) => r.orphans.filter((o) => o.target === victim || o.target === 'fleet-route');
      const where = (r: SweepOutcome) =>
        mine(r)
          .map((o) => `${o.host} ${o.type} ${o.target}`)
          .sort();
      const expected = [
        `${localName} container-fault ${victim}`,
        `d2 container-fault ${victim}`,
        `${proxy.url} toxic fleet-route`,
      ].sort();

      const first = await sweep();
      expect(first.status, first.stderr).toBe(1);
      expect(first.out.mode).toBe('workflow');
      expect(first.out.unreachable).toEqual([]);
      expect(where(first.out)).toEqual(expected);
      expect((await d2.docker.getContainer(victim).inspect()).State.Status).toBe('paused');

      const fixed = await sweep('--fix');
      expect(fixed.status, fixed.stderr).toBe(0);
      expect(where(fixed.out)).toEqual(expected);
      expect(mine(fixed.out).every((o) => o.fixed)).toBe(true);
      expect((await docker.getContainer(victim).inspect()).State.Status).toBe('running');
      expect((await d2.docker.getContainer(victim).inspect()).State.Status).toBe('running');
      expect(await pc.listToxics('fleet-route')).toEqual([]);

      const again = await sweep();
      expect(again.status, again.stderr).toBe(again.out.orphans.length ? 1 : 0);
      expect(mine(again.out)).toEqual([]);
    } finally {
      delete process.env.FAULTLINE_PROXY_URL;
      delete process.env.FAULTLINE_PROXY_TOKEN;
      await proxy.close();
    }
  });

  it('a registered host with no agent: the sweep reports it unreachable at once and exits 3', async () => {
    await registerHost(fc.client, {
      host: 'gone',
      fleetQueue: fleet,
      daemonId: 'GONE-DAEMON',
      daemonName: 'gone',
      dockerHost: 'tcp://192.0.2.3:2375',
      registeredAt: new Date().toISOString(),
    });
    try {
      for (let i = 0; i < 50 && !(await hosts()).some((h) => h.host === 'gone'); i++)
        await new Promise((r) => setTimeout(r, 200));
      const r = await sweep();
      expect(r.status, r.stderr).toBe(3);
      expect(r.out.unreachable).toEqual([{ host: 'gone', reason: expect.stringMatching(/no agent polls task queue/) }]);
      expect(r.out.hosts.map((h) => h.host).sort()).toEqual([localName, 'd2', 'gone'].sort());
    } finally {
      await forgetHost(fc.client, fleet, 'gone');
    }
  });
});
