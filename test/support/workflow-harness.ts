// Runs the real experiment workflow and activities on the test run's Temporal dev server, with in-memory
// ports (./memory-ports.ts) instead of Docker and the proxy. Workers live in this process and can "die":
// a dead worker stops polling, and its activities never complete, never heartbeat and make no more port
// or client calls (what a SIGKILLed process does), so Temporal hands its work to a live worker.
// The system under test is a local HTTP server whose health follows the in-memory world.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { contextRunLink } from '../../activities/index.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Experiment } from '../../experiments/schema.ts';
import type { Journal } from '../../experiments/journal.ts';
import { abortExperimentUpdate, journalQuery, type RunInput, type Tuning } from '../../definitions/experiment.ts';
import { createActivities } from '../../activities/index.ts';
import { createControlActivities } from '../../activities/control.ts';
import { temporalTarget } from '../../config.ts';
import { workflowBundle } from '../helpers.ts';
import { MemoryWorld, MEMORY_HOST } from './memory-ports.ts';
import { listHosts, registerHost } from '../../activities/hosts.ts';
import { hostTaskQueue } from '../../experiments/hosts.ts';
import type { GuardViolation } from '../../experiments/journal.ts';

export { MemoryWorld, MEMORY_HOST };

/** Decides whether the simulated service answers at this path: 'ok' (200), 'error' (500) or 'hang'. */
export type Health = (path: string) => 'ok' | 'error' | 'hang';

export interface Harness {
  world: MemoryWorld;
  client: Client;
  taskQueue: string;
  url: string;
  setHealth(h: Health): void;
  startWorker(id: string): Promise<void>;
  /** The worker dies at once: no more polls, calls, heartbeats or completions. */
  kill(id: string): void;
  start(e: Experiment, opts?: { id?: string; tuning?: Partial<Tuning> }): Promise<WorkflowHandle>;
  result(h: WorkflowHandle): Promise<Journal>;
  journal(h: WorkflowHandle): Promise<Journal>;
  abort(h: WorkflowHandle, reason?: string): Promise<Journal>;
  close(): Promise<void>;
}

let seq = 0;

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  /* installed already */
}

/**
 * hosts: the in-memory Docker hosts of the fleet (default one, MEMORY_HOST), each registered in the
 * registry; every worker started runs one Worker on the fleet's queue and one per host on the host's queue.
 */
export async function harness(name: string, queue?: string, opts: { hosts?: string[] } = {}): Promise<Harness> {
  const hosts = opts.hosts ?? [MEMORY_HOST];
  const world = new MemoryWorld();
  let health: Health = () => 'ok';
  const server = http.createServer((req, res) => {
    const h = health(req.url ?? '/');
    if (h === 'hang') return; // never answers: the probe times out
    res.statusCode = h === 'ok' ? 200 : 500;
    res.end(h);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const target = temporalTarget();
  const connection = await Connection.connect({ address: target.connection.address });
  const client = new Client({ connection, namespace: target.namespace });
  const taskQueue = queue ?? `${name}-${Date.now().toString(36)}-${seq++}`;
  const bundle = await workflowBundle();
  const workers = new Map<string, { workers: Worker[]; running: Promise<void>; conn: NativeConnection }>();

  const startWorker = async (id: string) => {
    const conn = await NativeConnection.connect({ address: target.connection.address });
    const dead = () => world.isDead(id);
    const runLink = () => {
      const inner = contextRunLink();
      // Recorded like port calls, so a test can kill the worker right after the report is durable.
      return {
        reportViolation: async (v: GuardViolation) => {
          if (dead()) return world.never<void>();
          await inner.reportViolation(v);
          const key = `run:${Context.current().info.workflowExecution?.workflowId ?? ''}`;
          world.calls.push({ t: Date.now(), worker: id, op: 'reportViolation', key, effect: 'none' });
          await world.onCall?.({ worker: id, op: 'reportViolation:done', key });
          if (dead()) return world.never<void>();
        },
        guardRecord: () => (dead() ? world.never<{ violation?: GuardViolation }>() : inner.guardRecord()),
      };
    };
    const common: Omit<WorkerOptions, 'taskQueue'> = {
      connection: conn,
      namespace: target.namespace,
      interceptors: {
        activity: [
          (ctx) => {
            // A dead process sends no heartbeat and reports no outcome.
            const c = ctx as unknown as { heartbeatFn: (d?: unknown) => void };
            const beat = c.heartbeatFn;
            c.heartbeatFn = (d) => {
              if (!dead()) beat(d);
            };
            return {
              inbound: {
                execute: async (input, next) => {
                  try {
                    const r = await next(input);
                    return dead() ? world.never() : r;
                  } catch (e) {
                    if (dead()) return world.never();
                    throw e;
                  }
                },
              },
            };
          },
        ],
      },
      maxHeartbeatThrottleInterval: '500ms',
      stickyQueueScheduleToStartTimeout: '2s',
      shutdownGraceTime: '100ms',
    };
    const worker = await Worker.create({
      ...common,
      taskQueue,
      workflowBundle: bundle,
      activities: {
        // Admission (every run passes it), schedules and the host registry talk to Temporal itself.
        ...createControlActivities(new Client({ connection: conn, namespace: target.namespace })),
        ...createActivities(world.ports(id), { runLink }),
      },
    });
    // The hosts' agents: activities only (the presence workflow needs no worker to be listed).
    const agents = await Promise.all(
      hosts.map((host) =>
        Worker.create({
          ...common,
          taskQueue: hostTaskQueue(taskQueue, host),
          activities: createActivities(world.ports(id, host), { runLink }),
        }),
      ),
    );
    const all = [worker, ...agents];
    workers.set(id, { workers: all, running: Promise.all(all.map((w) => w.run())).then(() => undefined), conn });
  };

  for (const host of hosts)
    await registerHost(client, {
      host,
      fleetQueue: taskQueue,
      daemonId: `memory-daemon-${host}`,
      daemonName: host,
      dockerHost: 'memory',
      registeredAt: new Date().toISOString(),
    });
  // Visibility lists a registration a moment after it: wait, so the first run sees every host.
  for (let i = 0; (await listHosts(client, taskQueue)).length < hosts.length; i++) {
    if (i > 100) throw new Error(`the registry does not list the hosts ${hosts.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    world,
    client,
    taskQueue,
    url,
    setHealth: (h) => {
      health = h;
    },
    startWorker,
    kill: (id) => {
      world.kill(id);
      for (const w of workers.get(id)?.workers ?? []) if (w.getState() === 'RUNNING') w.shutdown();
    },
    start: (e, opts = {}) =>
      client.workflow.start('runExperiment', {
        taskQueue,
        workflowId: opts.id ?? `${name}-${Date.now().toString(36)}-${seq++}`,
        args: [{ experiment: e, searchAttributes: true, tuning: opts.tuning } satisfies RunInput],
      }),
    result: async (h) => {
      try {
        return (await h.result()) as Journal;
      } catch (e) {
        if (e instanceof WorkflowFailedError) throw new Error(`workflow failed: ${e.cause?.message ?? e.message}`);
        throw e;
      }
    },
    journal: (h) => h.query(journalQuery),
    abort: (h, reason = 'test abort') => h.executeUpdate(abortExperimentUpdate, { args: [{ reason, who: 'test' }] }),
    close: async () => {
      for (const [id, w] of workers)
        if (!world.isDead(id)) for (const x of w.workers) if (x.getState() === 'RUNNING') x.shutdown();
      world.releaseTheDead();
      await Promise.allSettled([...workers.values()].map((w) => w.running));
      await Promise.allSettled([...workers.values()].map((w) => w.conn.close()));
      await connection.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Parses experiment YAML (the real validation), with ${URL} replaced by the harness's service. */
export function experiment(yaml: string, url: string): Experiment {
  const r = parseExperiment(yaml.replaceAll('${URL}', url), 'test.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return r.experiment;
}
