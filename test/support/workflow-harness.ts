// Runs the real experiment workflow and activities on the test run's Temporal dev server, with in-memory
// ports (./memory-ports.ts) instead of Docker and the proxy. Workers live in this process and can "die":
// a dead worker stops polling, and its activities never complete, never heartbeat and make no more port
// or client calls (what a SIGKILLed process does), so Temporal hands its work to a live worker.
// The system under test is a local HTTP server whose health follows the in-memory world.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { contextRunLink } from '../../activities/index.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Experiment } from '../../experiments/schema.ts';
import type { Journal } from '../../experiments/journal.ts';
import { abortExperimentUpdate, journalQuery, type RunInput, type Tuning } from '../../workflows/definitions.ts';
import { createActivities } from '../../activities/index.ts';
import { createControlActivities } from '../../activities/control.ts';
import { temporalTarget } from '../../config.ts';
import { workflowBundle } from '../helpers.ts';
import { MemoryWorld } from './memory-ports.ts';

export { MemoryWorld };

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

export async function harness(name: string, queue?: string): Promise<Harness> {
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
  const workers = new Map<string, { worker: Worker; running: Promise<void>; conn: NativeConnection }>();

  const startWorker = async (id: string) => {
    const conn = await NativeConnection.connect({ address: target.connection.address });
    const dead = () => world.isDead(id);
    const worker = await Worker.create({
      connection: conn,
      namespace: target.namespace,
      taskQueue,
      workflowBundle: bundle,
      activities: {
        // Admission (every run passes it) and schedules talk to Temporal itself.
        ...createControlActivities(new Client({ connection: conn, namespace: target.namespace })),
        ...createActivities(world.ports(id), {
          runLink: () => {
            const inner = contextRunLink();
            // Recorded like port calls, so a test can kill the worker right after the report is durable.
            return {
              reportViolation: async (v) => {
                if (dead()) return world.never();
                await inner.reportViolation(v);
                const key = `run:${Context.current().info.workflowExecution?.workflowId ?? ''}`;
                world.calls.push({ t: Date.now(), worker: id, op: 'reportViolation', key, effect: 'none' });
                await world.onCall?.({ worker: id, op: 'reportViolation:done', key });
                if (dead()) return world.never();
              },
              guardRecord: () => (dead() ? world.never() : inner.guardRecord()),
            };
          },
        }),
      },
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
    });
    workers.set(id, { worker, running: worker.run(), conn });
  };

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
      const w = workers.get(id);
      if (w && w.worker.getState() === 'RUNNING') w.worker.shutdown();
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
      for (const [id, w] of workers) if (!world.isDead(id) && w.worker.getState() === 'RUNNING') w.worker.shutdown();
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
