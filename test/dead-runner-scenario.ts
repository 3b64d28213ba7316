// Every runner dead for good: one experiment per fault kind that leaves something to undo (container.pause,
// container.stop, container.kill, network.partition and every kernel kind: network.loss, network.split (two
// members, two leases), network.bandwidth, stress.cpu/memory/io, disk.fill, process.stop, dns.error/spoof, on
// containers of our own; proxy.latency on a fault proxy route), all in their fault window. process.kill and
// container.restart leave nothing to undo. The fleet worker (orchestration, proxy faults; no agent of its own) and the host's
// `faultline agent` (container faults and their holders) are separate processes; then the agent, the worker
// AND the Temporal server are SIGKILLed and none is started again.
// Measured per kind: SIGKILL -> the fault is gone (the container runs / is attached again, no FL- chain or
// fa17: qdisc in the target's namespace (read from the host with nsenter), no stressor or resolver container,
// the fill file gone, no process stopped, the toxic gone). Container faults are reverted by the warden when their lease lapses; proxy faults by the proxy.
// Shared by test/dead-runner.test.ts (asserts) and bench/dead-runner.ts (reports).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { request } from 'undici';
import { ensureDemoImage } from '../demo/image.ts';
import { ensureWarden, removeWarden } from '../activities/adapters/warden-container.ts';
import { RESOLVER_COMPONENT, STRESSOR_COMPONENT } from '../activities/adapters/kernel.ts';
import { activeLeases, lapsedLeases } from '../warden/lease-ledger.ts';
import { startProxyServer } from '../proxy/server.ts';
import { connectClient, getStatus, startExperiment } from '../cli/client.ts';
import { listHosts } from '../activities/hosts.ts';
import { parseExperiment } from '../experiments/parse.ts';
import type { LapsedLease } from '../faults/ports.ts';
import { CONTAINER_LEASE_MS } from '../faults/lease.ts';
import { FAULT_LEASE_MS } from '../faults/proxy-common.ts';
import { freePort, startDevServer } from '../cli/dev-server.ts';
import { PROJECT_ROOT, temporalTarget } from '../config.ts';

export interface KindResult {
  kind: string;
  target: string;
  leaseMs: number;
  /** SIGKILL of the last runner -> fault gone; null when it was still there after `giveUpMs`. */
  goneAfterMs: number | null;
  /** The host whose agent injected and held it (container faults), from the journal before the kill. */
  host?: string;
}

export interface DeadRunnerOutcome {
  results: KindResult[];
  /** The host name the agent registered (its daemon's name). */
  agentHost: string;
  /** The warden's own records of what it reverted. */
  lapsed: LapsedLease[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = promisify(execFile);
/** The target's netfilter rules (filter and nat) and qdiscs, read from the host in its network namespace. */
async function netnsState(pid: number): Promise<string> {
  const ns = ['-t', String(pid), '-n'];
  const [rules, qdiscs] = await Promise.all([
    run('nsenter', [...ns, 'iptables-save']),
    run('nsenter', [...ns, 'tc', 'qdisc', 'show']),
  ]);
  return rules.stdout + qdiscs.stdout;
}
const TOKEN = 'dead-runner-token';

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function spawnReady(args: string[], env: NodeJS.ProcessEnv): ChildProcess & { out: string } {
  const child = Object.assign(
    spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    {
      out: '',
    },
  );
  child.stdout?.on('data', (d: Buffer) => (child.out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (child.out += d.toString()));
  return child;
}

async function ready(child: ChildProcess & { out: string }, line: string): Promise<void> {
  for (const end = Date.now() + 120_000; !child.out.includes(line); await sleep(100)) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`did not start (${line}): ${child.out}`);
  }
}

export async function deadRunnerScenario(
  /** kernelKinds: the kernel kinds too (bench:dead-runner; test/kernel-warden.test.ts covers each in the suite). */
  opts: { giveUpMs?: number; log?: (s: string) => void; kernelKinds?: boolean } = {},
): Promise<DeadRunnerOutcome> {
  const log = opts.log ?? (() => undefined);
  const giveUpMs = opts.giveUpMs ?? 40_000;
  const docker = new Dockerode();
  const id = `fl-dead-${Date.now().toString(36)}`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'fl-dead-runner-'));
  const ledger = path.join(tmp, 'ledger');
  const net = `${id}-net`;
  const names = Object.fromEntries(
    [
      'pause',
      'stop',
      'kill',
      'part',
      'dns',
      'spoof',
      'loss',
      'splitA',
      'splitB',
      'bw',
      'cpu',
      'mem',
      'io',
      'fill',
      'pstop',
    ].map((k) => [k, `${id}-${k.toLowerCase()}`]),
  ) as Record<
    | 'pause'
    | 'stop'
    | 'kill'
    | 'part'
    | 'dns'
    | 'spoof'
    | 'loss'
    | 'splitA'
    | 'splitB'
    | 'bw'
    | 'cpu'
    | 'mem'
    | 'io'
    | 'fill'
    | 'pstop',
    string
  >;
  const web = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const webPort = (web.address() as { port: number }).port;
  const proxy = await startProxyServer({ port: 0, token: TOKEN });
  let worker: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let server: Awaited<ReturnType<typeof startDevServer>> | undefined;
  let fc: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    await proxy.proxies.create({ name: 'dead-route', listen: '127.0.0.1:0', upstream: `127.0.0.1:${webPort}` });
    const image = await ensureDemoImage(docker);
    await docker.createNetwork({ Name: net, Driver: 'bridge', Labels: { 'faultline.test': id } });
    const base = ['pause', 'stop', 'kill', 'part', 'dns'];
    const wanted = Object.fromEntries(
      Object.entries(names).filter(([k]) => opts.kernelKinds || base.includes(k)),
    ) as typeof names;
    for (const name of Object.values(wanted)) {
      const c = await docker.createContainer({
        name,
        Image: image,
        Env: ['ROLE=backend', `NAME=${name}`],
        Labels: { 'faultline.test': id },
        HostConfig: { NetworkMode: net },
        NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: [`${name}-alias`] } } },
      });
      await c.start();
    }
    await ensureWarden({ dir: ledger });
    const port = await freePort();
    server = await startDevServer({
      dbFile: path.join(tmp, 'temporal.db'),
      port,
      uiPort: await freePort(),
      logFile: path.join(tmp, 'temporal.log'),
      detached: true,
    });
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      FAULTLINE_WARDEN_DIR: ledger,
      FAULTLINE_PROXY_URL: proxy.url,
      FAULTLINE_PROXY_TOKEN: TOKEN,
      FAULTLINE_TASK_QUEUE: id,
    };
    // The fleet worker without an agent; the agent of the local daemon (default socket, so its ledger is
    // FAULTLINE_WARDEN_DIR: the warden started above), registered under the daemon's name.
    const w = spawnReady(['--import', 'tsx', path.join(PROJECT_ROOT, 'worker', 'main.ts')], {
      ...env,
      FAULTLINE_WORKER_AGENT: 'off',
    });
    const a = spawnReady([path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), 'agent', '--task-queue', id], env);
    [worker, agent] = [w, a];
    await Promise.all([ready(w, 'faultline worker ready'), ready(a, 'faultline agent ready')]);
    fc = await connectClient(temporalTarget({ TEMPORAL_ADDRESS: server.address }));
    // The registry lists the agent's host (visibility lags a registration by a moment).
    let agentHost = '';
    for (const end = Date.now() + 30_000; !agentHost; await sleep(200)) {
      agentHost = (await listHosts(fc.client, id)).find((h) => h.agents > 0)?.host ?? '';
      if (Date.now() > end) throw new Error('the agent never showed in the host registry');
    }
    const probe = `{ name: up, type: http, url: "http://127.0.0.1:${webPort}/", requests: 1 }`;
    const method: Record<string, [string, string]> = {
      'container.pause': [names.pause, '{ kind: container.pause, duration: 5m }'],
      'container.stop': [names.stop, '{ kind: container.stop, gracePeriod: 1, duration: 5m }'],
      'container.kill': [names.kill, '{ kind: container.kill, signal: SIGKILL, duration: 5m }'],
      'network.partition': [names.part, `{ kind: network.partition, network: ${net}, duration: 5m }`],
      'dns.error': [names.dns, '{ kind: dns.error, names: [ db.internal ], duration: 5m }'],
      'dns.spoof': [names.spoof, '{ kind: dns.spoof, names: [ db.internal ], address: 10.9.9.9, duration: 5m }'],
      'network.loss': [names.loss, '{ kind: network.loss, share: 50%, duration: 5m }'],
      'network.split': [
        names.splitA,
        `{ kind: network.split, from: { names: [ ${names.splitA} ] }, to: { names: [ ${names.splitB} ] }, duration: 5m }`,
      ],
      'network.bandwidth': [names.bw, '{ kind: network.bandwidth, rate: 1mbit, duration: 5m }'],
      'stress.cpu': [names.cpu, '{ kind: stress.cpu, cores: 0.1, duration: 5m }'],
      'stress.memory': [names.mem, '{ kind: stress.memory, size: 16MiB, duration: 5m }'],
      'stress.io': [names.io, '{ kind: stress.io, workers: 1, duration: 5m }'],
      'disk.fill': [names.fill, '{ kind: disk.fill, path: /tmp, size: 8MiB, duration: 5m }'],
      'process.stop': [names.pstop, '{ kind: process.stop, name: node, includePid1: true, duration: 5m }'],
      'proxy.latency': ['dead-route', '{ kind: proxy.latency, proxy: dead-route, latency: 200ms, duration: 5m }'],
    };
    const runs: { kind: string; target: string; workflowId: string }[] = [];
    const kernelKinds = [
      'dns.spoof',
      'network.loss',
      'network.split',
      'network.bandwidth',
      'disk.fill',
      'process.stop',
    ];
    for (const [kind, [target, fault]] of Object.entries(method)) {
      if (!opts.kernelKinds && (kernelKinds.includes(kind) || kind.startsWith('stress.'))) continue;
      // A split names its two groups itself (one record per member, both in the blast radius).
      const targets = kind.startsWith('proxy.')
        ? ''
        : kind === 'network.split'
          ? 'blastRadius: { maxTargets: 2 }\n'
          : `targets: { names: [ ${target} ], mode: one }\n`;
      const text = `title: dead runner ${kind}\nhypothesis: { statement: it holds, probes: [ ${probe} ] }\n${targets}method: [ ${fault} ]\n`;
      const parsed = parseExperiment(text, `${kind}.yaml`);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      const { workflowId } = await startExperiment(fc, parsed.experiment, { taskQueue: id });
      runs.push({ kind, target, workflowId });
    }
    // One lease per container fault record: the split has one per member.
    const containerKinds =
      runs.filter((r) => !r.kind.startsWith('proxy.')).length + (runs.some((r) => r.kind === 'network.split') ? 1 : 0);
    const hosts: Record<string, string | undefined> = {};
    for (const r of runs) {
      for (const end = Date.now() + 180_000; ; await sleep(100)) {
        const s = await getStatus(fc, r.workflowId);
        if (s.journal?.phase === 'observing') {
          hosts[r.kind] = s.journal.faults[0]?.target?.host;
          break;
        }
        if (s.status !== 'RUNNING' || Date.now() > end)
          throw new Error(`${r.kind}: did not reach observing (${s.status}, ${s.journal?.reason ?? ''})`);
      }
    }
    // The guard holds the faults: it has renewed every container lease at least once (a lease starts with
    // the inject phase's hold, see activities/index.ts), so what is measured is the lease itself.
    for (const end = Date.now() + 30_000; ; await sleep(100)) {
      const active = await activeLeases(ledger);
      if (active.length === containerKinds && active.every((l) => Date.parse(l.expiresAt) <= Date.now() + l.leaseMs))
        break;
      if (Date.now() > end) throw new Error(`the guard never renewed the leases: ${JSON.stringify(active)}`);
    }
    await fc.close();
    fc = undefined;
    const info = Object.fromEntries(
      await Promise.all(
        Object.entries(wanted).map(async ([k, n]) => {
          const i = await docker.getContainer(n).inspect();
          return [k, { id: i.Id, pid: i.State.Pid }] as const;
        }),
      ),
    ) as Record<keyof typeof names, { id: string; pid: number }>;
    const kernelOf = (k: keyof typeof names) => netnsState(info[k].pid);
    const noChain = async (k: keyof typeof names) => !(await kernelOf(k)).includes('FL-');
    const helpers = async (component: string, label: string, k: keyof typeof names) =>
      (
        await docker.listContainers({
          all: true,
          filters: { label: [`faultline.component=${component}`, `faultline.${label}.target=${info[k].id}`] },
        })
      ).length;
    const stateOf = async (k: keyof typeof names) =>
      /^State:\s+(\S)/m.exec(await readFile(`/proc/${info[k].pid}/status`, 'utf8'))?.[1];
    const fillFiles = async () =>
      (await readdir(`/proc/${info.fill.pid}/root/tmp`)).filter((f) => f.startsWith('faultline-fill-'));
    // Each fault is in place before the kill, seen the way its absence is measured after it.
    const inPlace: Record<string, () => Promise<boolean>> = {
      'dns.error': async () => !(await noChain('dns')),
      'dns.spoof': async () => !(await noChain('spoof')),
      'network.loss': async () => !(await noChain('loss')),
      'network.split': async () => !(await noChain('splitA')) && !(await noChain('splitB')),
      'network.bandwidth': async () => (await kernelOf('bw')).includes('fa17:'),
      'stress.cpu': async () => (await helpers(STRESSOR_COMPONENT, 'stress', 'cpu')) > 0,
      'stress.memory': async () => (await helpers(STRESSOR_COMPONENT, 'stress', 'mem')) > 0,
      'stress.io': async () => (await helpers(STRESSOR_COMPONENT, 'stress', 'io')) > 0,
      'disk.fill': async () => (await fillFiles()).length > 0,
      'process.stop': async () => (await stateOf('pstop')) === 'T',
    };
    for (const [kind, check] of Object.entries(inPlace))
      if (runs.some((r) => r.kind === kind) && !(await check()))
        throw new Error(`${kind}: not in place in its target while the fault is active`);
    log('every fault is injected; SIGKILL the agent, the worker and the Temporal server');
    await Promise.all([killHard(agent), killHard(worker), killHard(server.process)]);
    const killedAt = Date.now();

    const gone: Record<string, () => Promise<boolean>> = {
      'container.pause': async () => (await docker.getContainer(names.pause).inspect()).State.Status === 'running',
      'container.stop': async () => (await docker.getContainer(names.stop).inspect()).State.Status === 'running',
      'container.kill': async () => (await docker.getContainer(names.kill).inspect()).State.Status === 'running',
      'network.partition': async () =>
        net in ((await docker.getContainer(names.part).inspect()).NetworkSettings.Networks ?? {}),
      // The resolver's container gone and the redirect's chain gone.
      'dns.error': async () => !(await helpers(RESOLVER_COMPONENT, 'dns', 'dns')) && (await noChain('dns')),
      'dns.spoof': async () => !(await helpers(RESOLVER_COMPONENT, 'dns', 'spoof')) && (await noChain('spoof')),
      'network.loss': () => noChain('loss'),
      'network.split': async () => (await noChain('splitA')) && (await noChain('splitB')),
      'network.bandwidth': async () => !(await kernelOf('bw')).includes('fa17:'),
      'stress.cpu': async () => !(await helpers(STRESSOR_COMPONENT, 'stress', 'cpu')),
      'stress.memory': async () => !(await helpers(STRESSOR_COMPONENT, 'stress', 'mem')),
      'stress.io': async () => !(await helpers(STRESSOR_COMPONENT, 'stress', 'io')),
      'disk.fill': async () => (await fillFiles()).length === 0,
      'process.stop': async () => (await stateOf('pstop')) !== 'T',
      'proxy.latency': async () => {
        const r = await request(`${proxy.url}/proxies/dead-route/toxics`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        return ((await r.body.json()) as unknown[]).length === 0;
      },
    };
    const results: KindResult[] = runs.map((r) => ({
      kind: r.kind,
      target: r.target,
      leaseMs: r.kind.startsWith('proxy.') ? FAULT_LEASE_MS : CONTAINER_LEASE_MS,
      goneAfterMs: null,
      host: hosts[r.kind],
    }));
    // Each kind polled on its own, so a slow look at one (nsenter, a container listing) never delays another's.
    await Promise.all(
      results.map(async (r) => {
        while (r.goneAfterMs === null && Date.now() - killedAt < giveUpMs) {
          if (await gone[r.kind]!()) r.goneAfterMs = Date.now() - killedAt;
          else await sleep(20);
        }
      }),
    );
    return { results, agentHost, lapsed: await lapsedLeases(ledger) };
  } finally {
    await fc?.close().catch(() => undefined);
    if (agent) await killHard(agent);
    if (worker) await killHard(worker);
    if (server) await killHard(server.process);
    await removeWarden({ dir: ledger });
    for (const name of Object.values(names))
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    await docker
      .getNetwork(net)
      .remove()
      .catch(() => undefined);
    await proxy.close();
    await new Promise<void>((r) => web.close(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  }
}
