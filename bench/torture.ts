// npm run bench:torture — does any fault outlive its experiment when the runner is killed at random?
// Against the demo target, N seeded runs cycle through every fault kind and some multi-fault methods (the kernel
// kinds too: network.loss, network.split, network.bandwidth, stress.cpu/memory/io, disk.fill, process.stop,
// dns.error/spoof, on a backend through the worker's agent).
// Each run SIGKILLs the worker, the Temporal server or both at a random phase, restarts them after a
// random pause, and waits for the verdict. Before every run the bench snapshots the real state
// (container status, SIGSTOPped main process, networks and aliases, proxy rules and enabled flags from
// the proxy's admin API; per backend, Faultline's chains and fa17: qdisc in its namespace (nsenter from the
// host), its stressor and resolver containers and the fill files in its /tmp); it polls that state during the run and inventories it after the run ended.
// Counted: orphaned faults (state differs from the snapshot once the run ended), double injects
// (Docker's own events, per container; for proxy rules, a rule that came back after it was gone),
// lost runs (no journal within the deadline), and the revert time after the replacement starts.
//
//   npm run bench:torture -- [--runs 100] [--from 0] [--seed S] [--chunk 10] [--label after] [--fresh]
//
// Runs are numbered; run i uses the seed (S, i), so `--from 40 --runs 20 --seed S` replays runs 40..59
// and merges them into bench/results/torture.json under the label (resumable, chunked). With
// FAULTLINE_E2E_LOCK=/tmp/faultline-e2e.lock the bench takes that lock for every chunk of --chunk runs
// and releases it in between, so other users of Docker and the demo are not blocked for an hour.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { parseExperiment } from '../experiments/parse.ts';
import { durationMs } from '../faults/duration.ts';
import type { Journal } from '../experiments/journal.ts';
import { connectClient, getStatus, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { freePort, startDevServer, type DevServer } from '../cli/dev-server.ts';
import { PROJECT_ROOT } from '../config.ts';
import { killProcess, workerProcess } from '../test/helpers.ts';
import { mulberry32 } from '../judge/random.ts';
import { dockerEventLog, type DockerEvent } from '../test/support/docker-events.ts';

const docker = new Dockerode();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RUN_DEADLINE_MS = 180_000;
const POLL_MS = 150;
/** After the verdict, keep watching this long: a rule re-added late is an orphan too. */
const LINGER_MS = 2_000;

// ---------- arguments ----------
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Number(arg('runs') ?? 100);
const FROM = Number(arg('from') ?? 0);
const SEED = Number(arg('seed') ?? Math.floor(Math.random() * 2 ** 31));
const CHUNK = Number(arg('chunk') ?? 10);
const LABEL = arg('label') ?? 'latest';
const FRESH = process.argv.includes('--fresh');
const LOCK = arg('lock') ?? process.env.FAULTLINE_E2E_LOCK;
const OUT = path.join(PROJECT_ROOT, 'bench', 'results', 'torture.json');

const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;

// ---------- scenarios ----------
interface Vars {
  backend: string; // container name of the target backend
  route: string; // its proxy route (backend-k)
  other: string; // another route
  third: string; // the remaining route
  otherBackend: string; // the container behind `other`
  network: string;
}
interface Scenario {
  name: string;
  /** method entries (YAML flow maps); container faults hit `backend`. */
  method: (v: Vars) => string[];
  /** Docker actions that mean "the container fault was applied" (kill:<signal> for kills). */
  injectAction?: string;
  /** The method names its own containers (network.split's groups): no targets line. */
  noTargets?: boolean;
}
const SCENARIOS: Scenario[] = [
  {
    name: 'container.kill',
    method: () => ['{ kind: container.kill, signal: SIGKILL, duration: 3s }'],
    injectAction: 'kill:9',
  },
  {
    name: 'container.kill SIGSTOP',
    method: () => ['{ kind: container.kill, signal: SIGSTOP, duration: 3s }'],
    injectAction: 'kill:19',
  },
  {
    name: 'container.stop',
    method: () => ['{ kind: container.stop, gracePeriod: 1, duration: 3s }'],
    injectAction: 'stop',
  },
  {
    name: 'container.restart',
    method: () => ['{ kind: container.restart, gracePeriod: 1, duration: 3s }'],
    injectAction: 'restart',
  },
  { name: 'container.pause', method: () => ['{ kind: container.pause, duration: 3s }'], injectAction: 'pause' },
  {
    name: 'network.partition',
    method: (v) => [`{ kind: network.partition, network: ${v.network}, duration: 3s }`],
    injectAction: 'disconnect',
  },
  {
    name: 'proxy.latency',
    method: (v) => [`{ kind: proxy.latency, proxy: ${v.route}, latency: 200ms, duration: 3s }`],
  },
  { name: 'proxy.partition', method: (v) => [`{ kind: proxy.partition, proxy: ${v.route}, duration: 3s }`] },
  {
    name: 'proxy.partition down',
    method: (v) => [`{ kind: proxy.partition, proxy: ${v.route}, mode: down, duration: 3s }`],
  },
  { name: 'proxy.bandwidth', method: (v) => [`{ kind: proxy.bandwidth, proxy: ${v.route}, rate: 20, duration: 3s }`] },
  { name: 'proxy.reset', method: (v) => [`{ kind: proxy.reset, proxy: ${v.route}, duration: 3s }`] },
  { name: 'http.delay', method: (v) => [`{ kind: http.delay, proxy: ${v.route}, delay: 300ms, duration: 3s }`] },
  {
    name: 'http.abort',
    method: (v) => [`{ kind: http.abort, proxy: ${v.route}, status: 503, percentage: 50, duration: 3s }`],
  },
  // The issue's resurrection case: a short and a long rule in one method.
  {
    name: 'latency 2s + latency 6s',
    method: (v) => [
      `{ kind: proxy.latency, proxy: ${v.route}, latency: 100ms, duration: 2s }`,
      `{ kind: proxy.latency, proxy: ${v.other}, latency: 100ms, duration: 6s }`,
    ],
  },
  {
    name: 'pause + http.abort',
    method: (v) => [
      '{ kind: container.pause, duration: 4s }',
      `{ kind: http.abort, proxy: ${v.other}, status: 500, percentage: 30, duration: 2s }`,
    ],
    injectAction: 'pause',
  },
  {
    name: 'partition + proxy down + delay',
    method: (v) => [
      `{ kind: network.partition, network: ${v.network}, duration: 2s }`,
      `{ kind: proxy.partition, proxy: ${v.other}, mode: down, duration: 4s }`,
      `{ kind: http.delay, proxy: ${v.third}, delay: 100ms, duration: 3s }`,
    ],
    injectAction: 'disconnect',
  },
  {
    name: 'kill + bandwidth + reset',
    method: (v) => [
      '{ kind: container.kill, signal: SIGKILL, duration: 2s }',
      `{ kind: proxy.bandwidth, proxy: ${v.other}, rate: 50, duration: 4s }`,
      `{ kind: proxy.reset, proxy: ${v.third}, toxicity: 0.3, duration: 3s }`,
    ],
    injectAction: 'kill:9',
  },
  // The kernel kinds (appended: the runs numbered before them replay as they were).
  { name: 'network.loss', method: () => ['{ kind: network.loss, share: 40%, duration: 3s }'] },
  {
    name: 'network.split',
    method: (v) => [
      `{ kind: network.split, from: { names: [ "${v.backend}" ] }, to: { names: [ "${v.otherBackend}" ] }, duration: 3s }`,
    ],
    noTargets: true,
  },
  { name: 'network.bandwidth', method: () => ['{ kind: network.bandwidth, rate: 1mbit, duration: 3s }'] },
  { name: 'stress.cpu', method: () => ['{ kind: stress.cpu, cores: 0.2, duration: 3s }'] },
  { name: 'stress.memory', method: () => ['{ kind: stress.memory, size: 16MiB, duration: 3s }'] },
  { name: 'stress.io', method: () => ['{ kind: stress.io, workers: 1, duration: 3s }'] },
  { name: 'disk.fill', method: () => ['{ kind: disk.fill, path: /tmp, size: 8MiB, duration: 3s }'] },
  { name: 'process.stop', method: () => ['{ kind: process.stop, name: node, includePid1: true, duration: 3s }'] },
  { name: 'dns.error', method: () => ['{ kind: dns.error, names: [ db.internal ], duration: 3s }'] },
  { name: 'dns.spoof', method: () => ['{ kind: dns.spoof, names: [ db.internal ], address: 10.9.9.9, duration: 3s }'] },
];

const KILL_WHO = ['worker', 'server', 'both'] as const;
const KILL_PHASES = ['before-inject', 'at-inject', 'mid-fault', 'at-revert', 'after-check'] as const;

function experimentText(sc: Scenario, v: Vars, frontUrl: string, i: number): string {
  return `
title: torture ${i} ${sc.name}
hypothesis:
  statement: the front answers while faults come and go
  probes: [ { name: front, type: http, url: "${frontUrl}/", requests: 5, timeout: 2s, tolerance: { maxErrorRate: 0.2 } } ]
${sc.noTargets ? '' : `targets: { names: [ "${v.backend}" ] }\n`}method:
${sc
  .method(v)
  .map((m) => `  - ${m}`)
  .join('\n')}
guard:
  interval: 500ms
  failuresToAbort: 3
  probes: [ { name: guard, type: http, url: "${frontUrl}/", requests: 2, timeout: 1s, tolerance: { maxErrorRate: 0.5 } } ]
blastRadius: { maxTargets: 3 } # up to one container and two routes: every one counts
afterCheck: { recoveryTimeout: 10s }
`;
}

// ---------- the real state ----------
interface ContainerState {
  status: string;
  /** The main process is SIGSTOPped (Docker still says running; /proc says T). */
  stopped: boolean;
  networks: Record<string, string[]>;
  startedAt: string;
  /** What a kernel fault leaves in or beside it: chains, Faultline's qdisc, stressors, resolvers, fill files. */
  kernel: string[];
}
interface World {
  at: number;
  containers: Record<string, ContainerState>;
  proxies: Record<string, { enabled: boolean; toxics: string[] }>;
}

async function processStopped(pid: number): Promise<boolean> {
  if (!pid) return false;
  try {
    return /^State:\s+T/m.test(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const run = promisify(execFile);
/** Faultline's own chains and qdisc in the container's network namespace (read from the host). */
async function netnsMarks(pid: number): Promise<string[]> {
  if (!pid) return [];
  const { stdout } = await run('nsenter', ['-t', String(pid), '-n', 'sh', '-c', 'iptables-save; tc qdisc show']);
  return [
    ...new Set([...stdout.matchAll(/^:(FL-\S+)/gm)].map((m) => `chain ${m[1]}`)),
    ...(/qdisc \S+ fa17:/.test(stdout) ? ['qdisc fa17:'] : []),
  ];
}
async function fillFiles(pid: number): Promise<string[]> {
  if (!pid) return [];
  return (await readdir(`/proc/${pid}/root/tmp`).catch(() => [] as string[])).filter((f) =>
    f.startsWith('faultline-fill-'),
  );
}

async function observeWorld(stack: DemoStack): Promise<World> {
  const names = [stack.containers.front, ...stack.containers.backends];
  const containers: World['containers'] = {};
  // Stressors and resolvers by the target they name.
  const helpers = await docker.listContainers({ all: true, filters: { label: ['faultline.component'] } });
  const helpersOf = (id: string) =>
    helpers
      .filter((h) => h.Labels['faultline.stress.target'] === id || h.Labels['faultline.dns.target'] === id)
      .map((h) => `${h.Labels['faultline.component']} ${h.Names[0]?.replace(/^\//, '')}`);
  await Promise.all(
    names.map(async (n) => {
      const i = await docker.getContainer(n).inspect();
      const nets: Record<string, string[]> = {};
      for (const [net, e] of Object.entries(i.NetworkSettings.Networks ?? {}))
        nets[net] = (e.Aliases ?? []).filter((a: string) => a !== i.Id.slice(0, 12)).sort();
      const running = i.State.Running;
      containers[n] = {
        status: i.State.Status,
        stopped: await processStopped(i.State.Pid),
        networks: nets,
        startedAt: i.State.StartedAt,
        kernel: [
          ...(running ? await netnsMarks(i.State.Pid) : []),
          ...helpersOf(i.Id),
          ...(running ? (await fillFiles(i.State.Pid)).map((f) => `file /tmp/${f}`) : []),
        ].sort(),
      };
    }),
  );
  const res = await fetch(`${stack.proxyAdminUrl}/proxies`, {
    headers: { authorization: `Bearer ${stack.proxyToken}` },
    signal: AbortSignal.timeout(5000),
  });
  const raw = (await res.json()) as Record<string, { enabled: boolean; toxics: { name: string }[] }>;
  const proxies: World['proxies'] = {};
  for (const [name, p] of Object.entries(raw))
    proxies[name] = { enabled: p.enabled, toxics: p.toxics.map((t) => t.name).sort() };
  return { at: Date.now(), containers, proxies };
}

/** What differs from the snapshot, one line per difference (startedAt is not state: a restart is fine). */
function differences(before: World, now: World): string[] {
  const out: string[] = [];
  for (const [n, b] of Object.entries(before.containers)) {
    const c = now.containers[n];
    if (!c) {
      out.push(`${n}: gone`);
      continue;
    }
    if (c.status !== b.status) out.push(`${n}: ${c.status} (was ${b.status})`);
    if (c.stopped !== b.stopped) out.push(`${n}: main process ${c.stopped ? 'stopped (SIGSTOP)' : 'running'}`);
    for (const k of c.kernel) if (!b.kernel.includes(k)) out.push(`${n}: ${k} present`);
    for (const [net, aliases] of Object.entries(b.networks)) {
      if (!c.networks[net]) out.push(`${n}: not on ${net}`);
      else if (aliases.some((a) => !c.networks[net]!.includes(a)))
        out.push(`${n}: aliases on ${net} ${c.networks[net]!.join(',')} (was ${aliases.join(',')})`);
    }
  }
  for (const [p, b] of Object.entries(before.proxies)) {
    const c = now.proxies[p];
    if (!c) continue;
    if (c.enabled !== b.enabled)
      out.push(`proxy ${p}: ${c.enabled ? 'enabled' : 'disabled'} (was ${b.enabled ? 'enabled' : 'disabled'})`);
    for (const t of c.toxics) if (!b.toxics.includes(t)) out.push(`proxy ${p}: rule ${t} present`);
  }
  return out;
}

/** Puts the demo back the way the snapshot says, so one run's orphan does not spoil the next run. */
async function restore(stack: DemoStack, before: World): Promise<void> {
  for (const [n, b] of Object.entries(before.containers)) {
    const c = docker.getContainer(n);
    const i = await c.inspect();
    if (i.State.Paused) await c.unpause();
    else if (!i.State.Running && b.status === 'running') await c.start();
    let now = await c.inspect();
    const left = (await observeWorld(stack)).containers[n]?.kernel.filter((k) => !b.kernel.includes(k)) ?? [];
    for (const k of left) {
      const [what, name] = k.split(' ');
      if (what === 'stressor' || what === 'dns-resolver')
        await docker
          .getContainer(name!)
          .remove({ force: true })
          .catch(() => undefined);
      if (what === 'file') await rm(`/proc/${now.State.Pid}/root${name}`, { force: true });
    }
    // A chain or qdisc left: a restart gives the container a new network namespace without it.
    if (left.some((k) => k.startsWith('chain ') || k.startsWith('qdisc '))) {
      await c.restart({ t: 1 });
      now = await c.inspect();
    }
    if (await processStopped(now.State.Pid)) await c.kill({ signal: 'SIGCONT' });
    for (const [net, aliases] of Object.entries(b.networks))
      if (!now.NetworkSettings.Networks?.[net])
        await docker.getNetwork(net).connect({ Container: now.Id, EndpointConfig: { Aliases: aliases } });
  }
  const now = await observeWorld(stack);
  const auth = { authorization: `Bearer ${stack.proxyToken}`, 'content-type': 'application/json' };
  for (const [p, c] of Object.entries(now.proxies)) {
    const b = before.proxies[p];
    if (!b) continue;
    for (const t of c.toxics)
      if (!b.toxics.includes(t))
        await fetch(`${stack.proxyAdminUrl}/proxies/${p}/toxics/${t}`, { method: 'DELETE', headers: auth });
    if (c.enabled !== b.enabled)
      await fetch(`${stack.proxyAdminUrl}/proxies/${p}`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ enabled: b.enabled }),
      });
  }
}

// ---------- Docker's own events ----------

const dockerEventsBetween = (sinceMs: number, untilMs: number): Promise<DockerEvent[]> =>
  dockerEventLog(docker, { sinceMs, untilMs, filters: { type: ['container', 'network'] } });

/**
 * How many times the container fault was applied, from Docker's log. Kills and pauses are counted
 * directly; a network partition is counted as connected -> disconnected transitions that are not a
 * container dying (Docker 20.10 reports one disconnect twice, and every die/start as a disconnect/connect).
 */
function containerInjects(events: DockerEvent[], containerId: string, network: string, action: string): number {
  const mine = events.filter((e) => e.Actor?.ID === containerId || e.Actor?.Attributes?.container === containerId);
  if (action.startsWith('kill:'))
    return mine.filter((e) => e.Action === 'kill' && e.Actor?.Attributes?.signal === action.slice(5)).length;
  if (action !== 'disconnect') return mine.filter((e) => e.Type === 'container' && e.Action === action).length;
  const dies = mine.filter((e) => e.Type === 'container' && (e.Action === 'die' || e.Action === 'kill'));
  let connected = true;
  let count = 0;
  for (const e of mine.filter((x) => x.Type === 'network' && x.Actor?.Attributes?.name === network)) {
    if (e.Action === 'connect') connected = true;
    else if (e.Action === 'disconnect' && connected) {
      connected = false;
      if (!dies.some((d) => Math.abs(d.timeNano - e.timeNano) < 2e9)) count++;
    }
  }
  return count;
}

// ---------- runners ----------
interface Runner {
  stack: DemoStack;
  server: DevServer;
  serverOpts: Parameters<typeof startDevServer>[0];
  worker?: ChildProcess;
  taskQueue: string;
  workerEnv: Record<string, string>;
}

async function startWorker(r: Runner): Promise<void> {
  r.worker = await workerProcess(r.taskQueue, r.workerEnv);
}

async function ensureWorker(r: Runner): Promise<void> {
  if (!r.worker || r.worker.exitCode !== null || r.worker.signalCode !== null) await startWorker(r);
}

// ---------- one run ----------
export interface RunRecord {
  index: number;
  scenario: string;
  backend: string;
  killWho: (typeof KILL_WHO)[number];
  killPhase: (typeof KILL_PHASES)[number];
  downMs: number;
  refused?: string;
  workflowId?: string;
  /** The journal phase last seen before the kill, and whether the trigger fired or timed out. */
  killedInPhase?: string;
  triggerMissed?: boolean;
  verdict?: string;
  reason?: string;
  lost: boolean;
  lostWhy?: string;
  orphans: string[];
  doubleInjects: string[];
  /** Effect gone minus max(replacement ready, planned end of the faults); only when a fault was in effect then. */
  revertAfterReplacementMs?: number;
  runMs: number;
}

interface Poll {
  samples: { at: number; diffs: string[] }[];
  toxicAppearances: Map<string, number>;
  /** How often each kernel mark (a chain, the qdisc, a stressor, a resolver, a fill file) appeared. */
  kernelAppearances: Map<string, number>;
  disables: Map<string, number>;
  stop(): Promise<void>;
}

function startPoller(stack: DemoStack, before: World): Poll {
  const p: Poll = {
    samples: [],
    toxicAppearances: new Map(),
    kernelAppearances: new Map(),
    disables: new Map(),
    stop: async () => {},
  };
  let running = true;
  let last = before;
  const loop = (async () => {
    while (running) {
      try {
        const w = await observeWorld(stack);
        p.samples.push({ at: w.at, diffs: differences(before, w) });
        for (const [name, c] of Object.entries(w.containers))
          for (const k of c.kernel)
            if (!before.containers[name]?.kernel.includes(k) && !last.containers[name]?.kernel.includes(k))
              p.kernelAppearances.set(`${name}: ${k}`, (p.kernelAppearances.get(`${name}: ${k}`) ?? 0) + 1);
        for (const [name, px] of Object.entries(w.proxies)) {
          for (const t of px.toxics)
            if (!last.proxies[name]?.toxics.includes(t))
              p.toxicAppearances.set(`${name}/${t}`, (p.toxicAppearances.get(`${name}/${t}`) ?? 0) + 1);
          if (!px.enabled && last.proxies[name]?.enabled) p.disables.set(name, (p.disables.get(name) ?? 0) + 1);
        }
        last = w;
      } catch {
        /* a transient inspect failure (container mid-restart): next poll */
      }
      await sleep(POLL_MS);
    }
  })();
  p.stop = async () => {
    running = false;
    await loop;
  };
  return p;
}

async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return true;
    await sleep(50);
  }
  return false;
}

async function runOne(r: Runner, fc: FaultlineClient, index: number): Promise<RunRecord> {
  const rng = mulberry32((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const sc = SCENARIOS[index % SCENARIOS.length]!;
  const k = 1 + Math.floor(rng() * 3);
  const routes = [1, 2, 3].map((x) => `backend-${x}`);
  const v: Vars = {
    backend: r.stack.containers.backends[k - 1]!,
    route: `backend-${k}`,
    other: routes[k % 3]!,
    third: routes[(k + 1) % 3]!,
    otherBackend: r.stack.containers.backends[k % 3]!,
    network: r.stack.network,
  };
  const rec: RunRecord = {
    index,
    scenario: sc.name,
    backend: v.backend,
    killWho: pick(rng, KILL_WHO),
    killPhase: pick(rng, KILL_PHASES),
    downMs: Math.floor(rng() * 2000),
    lost: false,
    orphans: [],
    doubleInjects: [],
    runMs: 0,
  };
  const extra = rng(); // random offset inside the phase
  const parsed = parseExperiment(experimentText(sc, v, r.stack.frontUrl, index), `torture-${index}.yaml`);
  if (!parsed.ok) {
    rec.refused = parsed.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('; ');
    return rec;
  }
  const exp = parsed.experiment;
  const minDurMs = Math.min(...exp.method.map((m) => durationMs(m.duration)));

  await ensureWorker(r);
  const before = await observeWorld(r.stack);
  const t0 = Date.now();
  const poll = startPoller(r.stack, before);
  const { workflowId } = await startExperiment(fc, exp, { taskQueue: r.taskQueue });
  rec.workflowId = workflowId;

  // ---- the kill trigger ----
  let phase = 'starting';
  let stopPhase = false;
  const phasePoller = (async () => {
    while (!stopPhase) {
      const s = await getStatus(fc, workflowId).catch(() => undefined);
      if (s?.journal?.phase) phase = s.journal.phase;
      if (s && s.status !== 'RUNNING') phase = 'done';
      await sleep(100);
    }
  })();
  const effectSeen = () => poll.samples.some((s) => s.diffs.length > 0);
  const effectDropped = () => {
    let max = 0;
    for (const s of poll.samples) {
      if (s.diffs.length > max) max = s.diffs.length;
      else if (max > 0 && s.diffs.length < max) return true;
    }
    return false;
  };
  const reached = (ph: string[]) => () => ph.includes(phase);
  let fired: boolean;
  switch (rec.killPhase) {
    case 'before-inject':
      fired = await waitFor(reached(['steady-state-before', 'selecting', 'injecting']), 30_000);
      await sleep(extra * 300);
      break;
    case 'at-inject':
      fired = await waitFor(() => effectSeen() || phase === 'observing', 30_000);
      break;
    case 'mid-fault':
      fired = await waitFor(reached(['observing']), 30_000);
      await sleep(extra * minDurMs * 0.9);
      break;
    case 'at-revert':
      fired = await waitFor(() => effectDropped() || ['reverting', 'steady-state-after'].includes(phase), 40_000);
      break;
    case 'after-check':
      // The after-check is short when the system recovers at once: fire on the phase or as soon as
      // every effect seen is gone again, whichever the pollers notice first.
      fired = await waitFor(
        () =>
          phase === 'steady-state-after' ||
          (effectSeen() && (poll.samples.at(-1)?.diffs.length ?? 1) === 0 && phase !== 'observing'),
        40_000,
      );
      await sleep(extra * 100);
      break;
  }
  stopPhase = true;
  await phasePoller;
  rec.killedInPhase = phase;
  rec.triggerMissed = !fired;

  // ---- kill and restart ----
  const killServer = rec.killWho !== 'worker';
  const killWorker = rec.killWho !== 'server';
  const effectAtKill = poll.samples.at(-1)?.diffs.length ?? 0;
  if (killWorker && r.worker) await killProcess(r.worker, 'SIGKILL');
  if (killServer) await r.server.stop('SIGKILL');
  await sleep(rec.downMs);
  if (killServer) r.server = await startDevServer(r.serverOpts);
  if (killWorker) await startWorker(r);
  else await ensureWorker(r); // a worker that gave up while the server was away is restarted too
  const replacementAt = Date.now();

  // ---- the verdict ----
  let journal: Journal | undefined;
  const deadline = new Promise<never>((_, rej) =>
    setTimeout(() => rej(new Error(`no verdict within ${RUN_DEADLINE_MS / 1000} s`)), RUN_DEADLINE_MS).unref(),
  );
  for (;;) {
    try {
      journal = await Promise.race([waitForResult(fc, workflowId), deadline]);
      break;
    } catch (e) {
      const msg = (e as Error).message;
      if (/no verdict within/.test(msg)) {
        rec.lost = true;
        rec.lostWhy = msg;
        await fc.client.workflow
          .getHandle(workflowId)
          .terminate('torture: lost run')
          .catch(() => undefined);
        break;
      }
      // A connection blip while the server restarts: ask again. A failed workflow: lost.
      const st = await getStatus(fc, workflowId).catch(() => undefined);
      if (st && st.status !== 'RUNNING' && st.status !== 'COMPLETED') {
        rec.lost = true;
        rec.lostWhy = `workflow ${st.status}: ${msg}`;
        break;
      }
      await sleep(500);
    }
  }
  const endAt = Date.now();
  rec.verdict = journal?.verdict;
  rec.reason = journal?.reason;
  await sleep(LINGER_MS);
  await poll.stop();

  // ---- inventory ----
  const after = await observeWorld(r.stack);
  const lateDiffs = poll.samples.filter((s) => s.at >= endAt).flatMap((s) => s.diffs);
  rec.orphans = [...new Set([...differences(before, after), ...lateDiffs])];
  for (const [t, n] of poll.toxicAppearances) if (n > 1) rec.doubleInjects.push(`rule ${t} applied ${n} times`);
  for (const [p, n] of poll.disables) if (n > 1) rec.doubleInjects.push(`route ${p} disabled ${n} times`);
  for (const [k, n] of poll.kernelAppearances) if (n > 1) rec.doubleInjects.push(`${k} applied ${n} times`);
  if (sc.injectAction) {
    const id = (await docker.getContainer(v.backend).inspect()).Id;
    const n = containerInjects(await dockerEventsBetween(t0, Date.now()), id, v.network, sc.injectAction);
    if (n > 1) rec.doubleInjects.push(`${v.backend}: ${sc.injectAction} ${n} times (Docker events)`);
  }
  // The revert time: when the state was last different from the snapshot, against the later of the
  // replacement being ready and the faults' planned end (a fault still within its duration is not late).
  const lastDiff = poll.samples.filter((s) => s.diffs.length > 0).at(-1);
  const firstCleanAfter = lastDiff ? poll.samples.find((s) => s.at > lastDiff.at && s.diffs.length === 0) : undefined;
  if (effectAtKill > 0 && firstCleanAfter && journal) {
    const ends = journal.faults
      .filter((f) => f.injectedAt)
      .map((f) => Date.parse(f.injectedAt!) + durationMs(exp.method[f.faultIndex]!.duration));
    const plannedEnd = journal.abort ? Date.parse(journal.abort.at) : ends.length ? Math.max(...ends) : replacementAt;
    rec.revertAfterReplacementMs = Math.max(0, firstCleanAfter.at - Math.max(replacementAt, plannedEnd));
  }
  if (rec.orphans.length) await restore(r.stack, before).catch((e: Error) => console.error(`restore: ${e.message}`));
  const clean = differences(baseline!, await observeWorld(r.stack));
  if (clean.length) console.error(`run ${index}: demo not back to baseline: ${clean.join('; ')}`);
  rec.runMs = Date.now() - t0;
  return rec;
}

let baseline: World | undefined;

// ---------- chunks under the shared lock ----------
async function acquireLock(file: string): Promise<ChildProcess> {
  const child = spawn('flock', [file, 'sh', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (c) => reject(new Error(`flock exited ${c}`)));
  });
  return child;
}
async function releaseLock(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.stdin?.end();
  await gone;
}

// ---------- results ----------
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

function summarize(runs: RunRecord[]) {
  const ran = runs.filter((r) => !r.refused);
  const reverts = ran.map((r) => r.revertAfterReplacementMs).filter((x): x is number => x !== undefined);
  const verdicts: Record<string, number> = {};
  for (const r of ran) verdicts[r.verdict ?? 'none'] = (verdicts[r.verdict ?? 'none'] ?? 0) + 1;
  const byScenario: Record<
    string,
    { runs: number; refused: number; orphaned: number; doubleInjects: number; lost: number }
  > = {};
  for (const r of runs) {
    const s = (byScenario[r.scenario] ??= { runs: 0, refused: 0, orphaned: 0, doubleInjects: 0, lost: 0 });
    s.runs++;
    if (r.refused) s.refused++;
    if (r.orphans.length) s.orphaned++;
    if (r.doubleInjects.length) s.doubleInjects++;
    if (r.lost) s.lost++;
  }
  return {
    runs: runs.length,
    killed: ran.length,
    refusedAtValidation: runs.length - ran.length,
    orphanedRuns: ran.filter((r) => r.orphans.length).length,
    orphanedFaults: ran.reduce((n, r) => n + r.orphans.length, 0),
    doubleInjectRuns: ran.filter((r) => r.doubleInjects.length).length,
    lostRuns: ran.filter((r) => r.lost).length,
    revertAfterReplacementMs: {
      n: reverts.length,
      p50: pct(reverts, 50),
      p95: pct(reverts, 95),
      max: reverts.length ? Math.max(...reverts) : NaN,
    },
    verdicts,
    byScenario,
  };
}

function printTable(label: string, runs: RunRecord[]): void {
  const s = summarize(runs);
  console.log(
    `\ntorture (${label}): ${s.runs} runs, ${s.killed} with kills, ${s.refusedAtValidation} refused at validation`,
  );
  console.log('scenario                         | runs | orphaned | double injects | lost');
  for (const [name, x] of Object.entries(s.byScenario))
    console.log(
      `${name.padEnd(32)} | ${String(x.runs).padStart(4)} | ${String(x.orphaned).padStart(8)} | ${String(x.doubleInjects).padStart(14)} | ${String(x.lost).padStart(4)}${x.refused ? `  (${x.refused} refused at validation)` : ''}`,
    );
  const rv = s.revertAfterReplacementMs;
  console.log(
    `total: orphaned runs ${s.orphanedRuns} (${s.orphanedFaults} differences), double-inject runs ${s.doubleInjectRuns}, lost runs ${s.lostRuns}; ` +
      `revert after replacement p50 ${rv.p50} / p95 ${rv.p95} / max ${rv.max} ms (n=${rv.n}); verdicts ${JSON.stringify(s.verdicts)}`,
  );
  for (const r of runs.filter((x) => x.orphans.length || x.doubleInjects.length || x.lost))
    console.log(
      `  run ${r.index} ${r.scenario} kill ${r.killWho} ${r.killPhase} (${r.killedInPhase}): ${[...r.orphans.map((o) => `orphan ${o}`), ...r.doubleInjects, ...(r.lost ? [`lost: ${r.lostWhy}`] : [])].join('; ')}`,
    );
}

interface ResultsFile {
  series: Record<
    string,
    {
      seed: number;
      commit: string;
      date: string;
      machine: object;
      runs: RunRecord[];
      summary: ReturnType<typeof summarize>;
    }
  >;
}

function gitCommit(): string {
  return (
    spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).stdout ?? ''
  ).trim();
}

function save(runs: RunRecord[]): void {
  const file: ResultsFile = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as ResultsFile) : { series: {} };
  const old = file.series[LABEL];
  const prev = !FRESH && old?.seed === SEED ? old.runs : [];
  const merged = [...prev.filter((p) => !runs.some((r) => r.index === p.index)), ...runs].sort(
    (a, b) => a.index - b.index,
  );
  file.series[LABEL] = {
    seed: SEED,
    commit: gitCommit(),
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    runs: merged,
    summary: summarize(merged),
  };
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(file, null, 2)}\n`);
}

/** Ctrl-C (or SIGTERM) ends the bench after the current run, saving results and removing the demo and server. */
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.log(`\n${sig}: stopping after this run (again to quit at once); resume with --from and the same --seed`);
  });

/** --dry: validate every scenario's experiment and exit (no Docker, no Temporal). */
function dryRun(): void {
  const v: Vars = {
    backend: 'demo-backend-1',
    route: 'backend-1',
    other: 'backend-2',
    third: 'backend-3',
    otherBackend: 'demo-backend-2',
    network: 'demo-net',
  };
  for (const [i, sc] of SCENARIOS.entries()) {
    const r = parseExperiment(experimentText(sc, v, 'http://127.0.0.1:1', i), `${sc.name}.yaml`);
    console.log(
      `${sc.name.padEnd(32)} ${r.ok ? 'valid' : `refused: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`}`,
    );
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--dry')) return dryRun();
  console.log(`torture: runs ${FROM}..${FROM + RUNS - 1}, seed ${SEED} (replay with --seed ${SEED}), label ${LABEL}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-torture-'));
  const serverOpts = {
    dbFile: path.join(dir, 'temporal.db'),
    port: await freePort(),
    uiPort: await freePort(),
    logFile: path.join(dir, 'temporal.log'),
  };
  process.env.TEMPORAL_ADDRESS = `127.0.0.1:${serverOpts.port}`;
  const prefix = `fl-torture-${process.pid}`;
  const runs: RunRecord[] = [];
  let r: Runner | undefined;
  let fc: FaultlineClient | undefined;
  try {
    for (let start = FROM; start < FROM + RUNS && !interrupted; start += CHUNK) {
      const lock = LOCK ? await acquireLock(LOCK) : undefined;
      try {
        if (!r) {
          const stack = await demoUp({ prefix, frontPort: await freePort(), proxyAdminPort: await freePort() });
          if (!stack.proxyAdminUrl) throw new Error('the demo image has no fault proxy');
          r = {
            stack,
            server: await startDevServer(serverOpts),
            serverOpts,
            taskQueue: `torture-${process.pid}`,
            workerEnv: { FAULTLINE_PROXY_URL: stack.proxyAdminUrl, FAULTLINE_PROXY_TOKEN: stack.proxyToken ?? '' },
          };
          fc = await connectClient();
          baseline = await observeWorld(stack);
        }
        for (let i = start; i < Math.min(start + CHUNK, FROM + RUNS) && !interrupted; i++) {
          const rec = await runOne(r, fc!, i);
          runs.push(rec);
          const bad = [...rec.orphans, ...rec.doubleInjects, ...(rec.lost ? ['LOST'] : [])];
          console.log(
            `run ${i} ${rec.scenario}: ${rec.refused ? `refused (${rec.refused})` : `kill ${rec.killWho} ${rec.killPhase} in ${rec.killedInPhase}, ${rec.verdict ?? 'no verdict'}, ${rec.runMs} ms${rec.revertAfterReplacementMs !== undefined ? `, revert +${rec.revertAfterReplacementMs} ms` : ''}`}${bad.length ? ` !! ${bad.join('; ')}` : ''}`,
          );
        }
        save(runs);
      } finally {
        if (lock) await releaseLock(lock);
      }
    }
  } finally {
    if (r?.worker) await killProcess(r.worker, 'SIGTERM');
    await fc?.close();
    await demoDown({ prefix });
    await r?.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const file = JSON.parse(readFileSync(OUT, 'utf8')) as ResultsFile;
  printTable(LABEL, file.series[LABEL]!.runs);
  console.log(`\nwrote ${path.relative(process.cwd(), OUT)}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
