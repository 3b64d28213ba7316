// Worker wiring: Temporal connection, the activities with their ports, and shutdown.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import { createControlActivities } from '../activities/control.ts';
import { createNotifyActivities, type NotifyDeps } from '../activities/notify.ts';
import type { Ports } from '../faults/ports.ts';
import {
  createDockerContainerPort,
  createDockerContainerPortAt,
  endpointSocket,
  endpointUrl,
  type DockerEndpoint,
} from '../activities/adapters/docker.ts';
import { checkSameDaemon, registered, registerHost } from '../activities/hosts.ts';
import { hostNameProblem, hostTaskQueue, type HostRecord } from '../experiments/hosts.ts';
import { HostConflict, InfrastructureError, InvalidInput } from '../errors.ts';
import { createLeaseLedger } from '../warden/lease-ledger.ts';
import { createDockerKernelPort, createDockerKernelPortAt } from '../activities/adapters/kernel.ts';
import { ensureWarden } from '../activities/adapters/warden-container.ts';
import { ensureDemoImage } from '../demo/image.ts';
import { createProxyPort } from './proxy-port.ts';
import { createSweepActivities } from '../activities/sweep.ts';
import { sweepDeps } from './sweep-deps.ts';
import { installRuntime, type MetricsEndpoint } from './metrics-server.ts';
import { instrumentActivities, instrumentControl, watchQueue, type FaultlineMetrics } from '../activities/metrics.ts';
import {
  DEFAULT_TASK_QUEUE,
  PROJECT_ROOT,
  STATE_DIR,
  WARDEN_DIR,
  hostWardenDir,
  temporalTarget,
  type TemporalTarget,
} from '../config.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** A project source file inside a workflow bundle, with the text the bundle was built from. */
export interface BundledSource {
  file: string; // relative to PROJECT_ROOT, e.g. "workflows/experiment.ts"
  text: string;
}

/**
 * The project's source files a bundle contains, read from its inline source map: webpack lists every module
 * it bundled with its text, so this is the bundle's actual module graph (type-only imports are not in it).
 */
export function bundledSources(code: string): BundledSource[] {
  const m = /\/\/# sourceMappingURL=data:application\/json;[^,]*,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!m?.[1]) throw new Error('the workflow bundle has no inline source map');
  const map = JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')) as {
    sources: string[];
    sourcesContent?: (string | null)[];
  };
  return map.sources
    .flatMap((source, i): BundledSource[] => {
      const file = path.relative(PROJECT_ROOT, source);
      const text = map.sourcesContent?.[i];
      const ours = !file.startsWith('..') && !path.isAbsolute(file) && !file.split(path.sep).includes('node_modules');
      return ours && file.endsWith('.ts') && typeof text === 'string' ? [{ file, text }] : [];
    })
    .sort((a, b) => a.file.localeCompare(b.file));
}

/** Cache key of a bundle: its project files (names and text) and the locked dependency versions. */
export function workflowBundleKey(sources: BundledSource[]): string {
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${s.file}\0`).update(s.text).update('\0');
  hash.update(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

interface BundleManifest {
  key: string;
  files: string[];
}

/**
 * The workflow bundle, reused from the state directory while the files it contains are unchanged: a
 * restarted worker (after a crash) is polling again in about half the time. The manifest lists the files
 * the last bundle was built from (its source map); the key is their current text, so a change to any
 * bundled file, and only to one, rebuilds it.
 */
export async function cachedWorkflowBundle(): Promise<{ codePath: string }> {
  const dir = path.join(STATE_DIR, 'cache');
  const manifestPath = path.join(dir, 'workflow-bundle.json');
  const bundlePath = (key: string) => path.join(dir, `workflow-bundle-${key}.js`);
  const last = readManifest(manifestPath);
  if (last) {
    const current = last.files.map((file) => {
      const abs = path.join(PROJECT_ROOT, file);
      return existsSync(abs) ? { file, text: readFileSync(abs, 'utf8') } : undefined;
    });
    if (current.every((s) => s !== undefined)) {
      const key = workflowBundleKey(current);
      if (key === last.key && existsSync(bundlePath(key))) return { codePath: bundlePath(key) };
    }
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: Runtime.instance().logger });
  const sources = bundledSources(code);
  const key = workflowBundleKey(sources);
  mkdirSync(dir, { recursive: true });
  // Atomic renames: concurrent workers never read half a bundle or half a manifest.
  writeAtomic(bundlePath(key), code);
  writeAtomic(manifestPath, JSON.stringify({ key, files: sources.map((s) => s.file) } satisfies BundleManifest));
  return { codePath: bundlePath(key) };
}

function readManifest(file: string): BundleManifest | undefined {
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<BundleManifest>;
    return typeof m.key === 'string' && Array.isArray(m.files) ? { key: m.key, files: m.files.map(String) } : undefined;
  } catch {
    return undefined; // none yet, or unreadable: rebuild
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function defaultPorts(): Ports {
  return {
    containers: createDockerContainerPort(),
    proxy: createProxyPort(),
    leases: createLeaseLedger(WARDEN_DIR),
    kernel: createDockerKernelPort(undefined, { nodeImage: ensureDemoImage }),
  };
}

/**
 * Starts (or finds) the warden of a daemon's ledger; false when it cannot (the worker still runs: proxy
 * faults work, and container faults are refused before anything is injected).
 */
async function startWarden(dir: string, socketPath?: string): Promise<boolean> {
  try {
    await ensureWarden({ dir, socketPath });
    return true;
  } catch (e) {
    Runtime.instance().logger.warn(`no warden: container faults will be refused (${(e as Error).message})`);
    return false;
  }
}

/** The default ports, with the local daemon's warden started (or found) first. */
export async function defaultPortsWithWarden(): Promise<Ports> {
  await startWarden(WARDEN_DIR);
  return defaultPorts();
}

/** Several Workers of one process (the fleet queue and the host queue) run, stop and report as one. */
export class WorkerGroup {
  constructor(readonly workers: Worker[]) {}

  getState(): ReturnType<Worker['getState']> {
    return this.workers.find((w) => w.getState() !== 'RUNNING')?.getState() ?? 'RUNNING';
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  /** Until every Worker has stopped; one failing stops the others. */
  async run(until?: Promise<unknown>): Promise<void> {
    const results = await Promise.allSettled(
      this.workers.map((w) =>
        (until ? w.runUntil(until) : w.run()).catch((e: unknown) => {
          this.shutdown();
          throw e;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

export interface FaultlineWorkerOptions {
  target?: TemporalTarget;
  taskQueue?: string;
  ports?: Ports;
  /**
   * The local host's agent (a second Worker on the host's task queue, same ports), registered under this
   * name (default: the daemon's own name); false for none. Needs ports whose containers name their daemon.
   */
  host?: string | false;
  /** Extra activity dependencies (tests wrap the guard's link to its run). */
  activityDeps?: ActivityDeps;
  /** The notifications' environment (default this process's) and HTTP client. */
  notifyDeps?: NotifyDeps;
  /** Called once the worker polls, with the local host it registered as an agent (none without Docker). */
  onReady?: (a: { host?: HostRecord }) => void;
  /** Stops the worker gracefully when aborted (in-process workers of `run --worker` and quickstart). */
  signal?: AbortSignal;
  /** Extra Worker options (e.g. a prebuilt workflowBundle in tests). */
  worker?: Partial<WorkerOptions>;
  /**
   * The metrics endpoint (worker/metrics-server.ts, opened by the caller before anything connects): the
   * activities are counted on its registry; runWorker closes it when the worker stops.
   */
  metrics?: MetricsEndpoint;
}

async function connect(target: TemporalTarget): Promise<NativeConnection> {
  const { apiKey, ...rest } = target.connection;
  return NativeConnection.connect({ ...rest, apiKey: typeof apiKey === 'function' ? apiKey() : apiKey });
}

/** Options every Faultline Worker shares. */
const COMMON: Partial<WorkerOptions> = {
  // Flush heartbeats at least every 500 ms, so an abort reaches the guard activity that fast.
  maxHeartbeatThrottleInterval: '500ms',
  // Each run holds one activity for its whole fault window (its guard; a host's holder on an agent), mostly
  // asleep between samples: at the SDK's default of 100 slots the 101st run's guard waited for a slot while
  // its fault was applied (issue 16: the slots filled at N = 200). 2,000 keeps 1,000 runs' guards, their
  // probes and injects running at once; the guards' own work is bounded by their intervals.
  maxConcurrentActivityTaskExecutions: 2_000,
  // If this worker dies, its runs' next workflow tasks move to a live worker after 2 s, not 10 s.
  stickyQueueScheduleToStartTimeout: '2s',
};

export interface AgentOptions {
  connection: NativeConnection;
  namespace: string;
  fleetQueue: string;
  ports: Ports;
  host?: string;
  /** How the agent reaches its daemon, for the registry. */
  dockerHost: string;
  wardenDir?: string;
  /** The host's ledger for the sweep (default wardenDir, else the local one), even when no warden runs. */
  ledgerDir?: string;
  activityDeps?: ActivityDeps;
  worker?: Partial<WorkerOptions>;
  /** Counts this agent's activities and watches its ledger (activities/metrics.ts). */
  metrics?: FaultlineMetrics;
}

/**
 * A host's agent: asks the daemon who it is (an unanswering daemon fails here, before anything is
 * registered), registers the host (HostConflict when the name belongs to another daemon) and returns the
 * Worker of the host's task queue, which runs the container activities and the host's presence workflow.
 */
export async function createAgentWorker(
  o: AgentOptions,
): Promise<{ worker: Worker; record: HostRecord; standby: boolean }> {
  const daemonOf = o.ports.containers.daemon;
  if (!daemonOf) throw new InvalidInput('these ports name no Docker daemon: no agent');
  const daemon = await Promise.race([
    daemonOf(),
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new InfrastructureError(`the Docker daemon at ${o.dockerHost} does not answer within 5 s`)),
        5_000,
      ).unref(),
    ),
  ]).catch((e: unknown) => {
    throw new InfrastructureError(
      `the Docker daemon at ${o.dockerHost} does not answer: ${(e as Error).message}; the agent needs its daemon`,
    );
  });
  const host = o.host ?? daemon.name;
  const bad = hostNameProblem(host);
  if (bad) throw new InvalidInput(`${bad} (set one with --host)`);
  const record: HostRecord = {
    host,
    fleetQueue: o.fleetQueue,
    daemonId: daemon.id,
    daemonName: daemon.name,
    dockerHost: o.dockerHost,
    ...(o.wardenDir ? { wardenDir: o.wardenDir } : {}),
    registeredAt: new Date().toISOString(),
  };
  const client = new Client({ connection: o.connection, namespace: o.namespace });
  const { standby } = await registerHost(client, record);
  const activities = createActivities(o.ports, o.activityDeps);
  if (o.metrics && o.wardenDir) o.metrics.ledgers.push({ host, dir: o.wardenDir });
  const worker = await Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: hostTaskQueue(o.fleetQueue, host),
    activities: {
      ...(o.metrics ? instrumentActivities(activities, o.metrics) : activities),
      // This host's share of the orphan sweep (workflows/sweep.ts runs sweepHost on the host's queue).
      ...createSweepActivities({
        ...sweepDeps(client, o.ports, o.ledgerDir ?? o.wardenDir ?? WARDEN_DIR),
        host: () => Promise.resolve(host),
      }),
    },
    ...COMMON,
    workflowBundle: o.worker?.workflowBundle ?? (await cachedWorkflowBundle()),
    ...o.worker,
  });
  return { worker, record, standby };
}

/**
 * The embedded worker: the fleet's Worker (workflows, every activity) and, with Docker, the local host's
 * agent beside it, so one machine needs no configuration.
 */
export async function createWorker(
  opts: FaultlineWorkerOptions = {},
): Promise<{ worker: WorkerGroup; connection: NativeConnection; host?: HostRecord }> {
  installRuntime();
  const target = opts.target ?? temporalTarget();
  const connection = await connect(target);
  const fleetQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  let ports = opts.ports;
  let wardenDir: string | undefined;
  if (!ports) {
    wardenDir = (await startWarden(WARDEN_DIR)) ? WARDEN_DIR : undefined;
    ports = defaultPorts();
  }
  const workflowBundle = opts.worker?.workflowBundle ?? (await cachedWorkflowBundle());
  const client = new Client({ connection, namespace: target.namespace });
  const m = opts.metrics?.metrics;
  if (m) watchQueue(m, client, fleetQueue);
  const activities = createActivities(ports, opts.activityDeps);
  const control = createControlActivities(client);
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue: fleetQueue,
    activities: {
      ...(m ? instrumentActivities(activities, m) : activities),
      // A Client on the worker's own connection, for admission, schedules and the host registry.
      ...(m ? instrumentControl(control, m) : control),
      // The orphan sweep (workflows/sweep.ts): this worker's host, its warden's ledger, the fault proxy.
      ...createSweepActivities(sweepDeps(client, ports)),
      // Notifications (workflows/notify.ts): webhook deliveries, secrets from this process's environment.
      ...createNotifyActivities(opts.notifyDeps),
    },
    ...COMMON,
    workflowBundle,
    ...opts.worker,
  });
  const workers = [worker];
  let host: HostRecord | undefined;
  if (opts.host !== false && ports.containers.daemon) {
    try {
      const agent = await createAgentWorker({
        connection,
        namespace: target.namespace,
        fleetQueue,
        ports,
        host: opts.host,
        dockerHost: opts.ports ? 'memory' : endpointUrl({}),
        wardenDir,
        activityDeps: opts.activityDeps,
        worker: { ...opts.worker, workflowBundle },
        metrics: m,
      });
      workers.push(agent.worker);
      host = agent.record;
    } catch (e) {
      if (e instanceof HostConflict) throw e;
      // No daemon here: the worker still runs proxy faults; container faults find no host and are not-started.
      Runtime.instance().logger.warn(`no local host agent: ${(e as Error).message}`);
    }
  }
  return { worker: new WorkerGroup(workers), connection, host };
}

/** Runs until SIGINT/SIGTERM (the SDK's shutdown signals), then drains and closes the connection. */
export async function runWorker(opts: FaultlineWorkerOptions = {}): Promise<void> {
  try {
    const { worker, connection, host } = await createWorker(opts);
    try {
      await runGroup(worker, { signal: opts.signal, onReady: () => opts.onReady?.({ host }) });
    } finally {
      await connection.close();
    }
  } finally {
    await opts.metrics?.close();
  }
}

export interface RunAgentOptions {
  endpoint: DockerEndpoint;
  host?: string;
  /** The fleet's main task queue (the host's queue is derived from it). */
  taskQueue?: string;
  target?: TemporalTarget;
  onReady?: (a: { record: HostRecord; standby: boolean; warden: boolean }) => void;
  signal?: AbortSignal;
  /** The metrics endpoint (opened before anything connects); closed when the agent stops. */
  metrics?: MetricsEndpoint;
}

/**
 * `faultline agent`: one daemon's agent, with that daemon's ports and warden (its ledger under the state
 * directory, per host; the local default daemon keeps the embedded worker's ledger).
 */
export async function runAgent(o: RunAgentOptions): Promise<void> {
  try {
    await agentUntilStopped(o);
  } finally {
    await o.metrics?.close();
  }
}

async function agentUntilStopped(o: RunAgentOptions): Promise<void> {
  installRuntime();
  const target = o.target ?? temporalTarget();
  const containers = createDockerContainerPortAt(o.endpoint);
  const fleetQueue = o.taskQueue ?? DEFAULT_TASK_QUEUE;
  const dockerHost = endpointUrl(o.endpoint);
  const isDefault = !o.endpoint.socketPath && !o.endpoint.dockerHost && !process.env.DOCKER_HOST;
  // The daemon is asked first: one that does not answer stops the agent before anything (warden, registry).
  let daemon: { id: string; name: string } | undefined;
  try {
    daemon = await Promise.race([
      containers.daemon?.(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5_000).unref()),
    ]);
  } catch (e) {
    throw new InfrastructureError(
      `the Docker daemon at ${dockerHost} does not answer (${(e as Error).message}); the agent needs its daemon`,
    );
  }
  // The name decides the ledger, so it is settled before the warden starts.
  const host = o.host ?? daemon?.name;
  const wardenDir = host && !isDefault ? hostWardenDir(host) : WARDEN_DIR;
  const socketPath = endpointSocket(o.endpoint);
  const connection = await connect(target);
  try {
    // A host name taken by another daemon stops the agent before its warden starts (registration checks again).
    if (host && daemon) {
      const client = new Client({ connection, namespace: target.namespace });
      checkSameDaemon({ host, daemonId: daemon.id, dockerHost }, await registered(client, fleetQueue, host));
    }
    const ports: Ports = {
      containers,
      proxy: createProxyPort(),
      leases: createLeaseLedger(wardenDir),
      kernel: createDockerKernelPortAt(o.endpoint, { nodeImage: ensureDemoImage }),
    };
    // The daemon is asked again inside (with a bound), so a daemon that stops answering is caught there.
    const agent = await createAgentWorker({
      connection,
      namespace: target.namespace,
      fleetQueue,
      ports,
      host,
      dockerHost,
      wardenDir: (await startWarden(wardenDir, socketPath)) ? wardenDir : undefined,
      ledgerDir: wardenDir,
      metrics: o.metrics?.metrics,
    });
    await runGroup(new WorkerGroup([agent.worker]), {
      signal: o.signal,
      onReady: () => o.onReady?.({ record: agent.record, standby: agent.standby, warden: !!agent.record.wardenDir }),
    });
  } finally {
    await connection.close();
  }
}

/** Runs a group until SIGINT/SIGTERM or the signal; onReady once every Worker polls. */
async function runGroup(worker: WorkerGroup, opts: { onReady?: () => void; signal?: AbortSignal }): Promise<void> {
  const ready = setInterval(() => {
    if (worker.getState() !== 'RUNNING') return;
    clearInterval(ready);
    opts.onReady?.();
  }, 50);
  try {
    await worker.run(
      opts.signal
        ? new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }))
        : undefined,
    );
  } finally {
    clearInterval(ready);
  }
}
export { openMetricsEndpoint, type MetricsEndpoint } from './metrics-server.ts';
