// `faultline sweep [--fix] [--json] [--task-queue Q]`: what Faultline left applied that no open run holds
// (warden/sweep.ts). When a worker polls the task queue, the sweep runs as the sweepFleet workflow (one sweep
// activity per Docker host, on that host's own task queue, plus the fault proxy); when none does (the case
// where orphans are likeliest: the runners are gone), it runs in this process for the local host and the
// known proxy. Never hangs: a host whose agent does not take its sweep is reported unreachable.
// `--every D` instead creates a Temporal Schedule (listed by `faultline schedule list`) that runs the sweep.
// Exit 0 when nothing is orphaned (or every orphan was fixed), 1 when orphans remain, 3 when a fix failed
// or a host could not be swept.
import { WorkflowFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import { connectClient, recentPollers, type FaultlineClient } from '../client.ts';
import { warnIfNoWorker } from '../workers.ts';
import { sweepLocalHost } from '../../activities/sweep.ts';
import { SWEEP_TYPE, type SweepInput, type SweepReport } from '../../definitions/sweep.ts';
import { scheduleSchema } from '../../experiments/schedule.ts';
import { createSchedule } from '../schedules.ts';
import { DEFAULT_TASK_QUEUE } from '../../config.ts';
import { InfrastructureError, InvalidInput } from '../../errors.ts';
import type { Io } from '../io.ts';

export interface SweepOptions {
  fix?: boolean;
  json?: boolean;
  taskQueue?: string;
  /** Create a schedule that sweeps at this interval instead of sweeping now. */
  every?: string;
  scheduleId?: string;
}

export const SWEEP_SCHEDULE_ID = 'faultline-sweep';
/** A sweep workflow nobody has picked up after this long is given up (the worker that polled is gone). */
const PICKUP_MS = 5_000;
/** The longest a sweep workflow may take; it should take seconds. */
const SWEEP_MAX_MS = 180_000;

export type SweepOutcome = SweepReport & { mode: 'workflow' | 'in-process'; workflowId?: string };

export async function sweepCommand(opts: SweepOptions, io: Io): Promise<number> {
  const startedAt = new Date().toISOString(); // before any run is read: nothing granted later is swept
  const schedule = opts.every !== undefined ? sweepSchedule(opts) : undefined; // validated before connecting
  const fc = await connectClient();
  try {
    const tq = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
    if (schedule) {
      const id = await createSchedule(
        fc,
        { schedule, file: 'faultline sweep' },
        { taskQueue: tq, target: { childType: SWEEP_TYPE, childArgs: [{ fix: !!opts.fix }], title: sweepTitle(opts) } },
      );
      io.out(
        opts.json
          ? JSON.stringify({ scheduleId: id, every: opts.every, fix: !!opts.fix })
          : `created schedule ${id}: ${sweepTitle(opts)} every ${opts.every} (faultline schedule list | trigger ${id} | delete ${id})`,
      );
      await warnIfNoWorker(fc, tq, 'the scheduled sweeps will wait', io);
      return 0;
    }
    const out = (await recentPollers(fc, tq, ['workflow'])) > 0 ? await sweepByWorkflow(fc, tq, !!opts.fix) : undefined;
    const report = out ?? (await sweepInProcess(fc, !!opts.fix, tq, startedAt));
    print(report, opts, io);
    if (report.orphans.some((o) => o.error) || report.unreachable.length) return 3;
    return report.orphans.some((o) => !o.fixed) ? 1 : 0;
  } finally {
    await fc.close();
  }
}

const sweepTitle = (o: SweepOptions) => `faultline sweep${o.fix ? ' --fix' : ''}`;

function sweepSchedule(o: SweepOptions) {
  const r = scheduleSchema.safeParse({
    kind: 'Schedule',
    id: o.scheduleId ?? SWEEP_SCHEDULE_ID,
    every: o.every,
    pauseOn: [],
    description: `${sweepTitle(o)} every ${o.every}`,
  });
  if (r.success) return r.data;
  const p = r.error.issues[0];
  const field = p?.path[0] === 'id' ? '--schedule-id' : '--every';
  throw new InvalidInput(`sweep ${field}: ${p?.message ?? 'invalid'}`);
}

/** Runs sweepFleet on the task queue; undefined when no worker picks it up after all (then it is terminated). */
async function sweepByWorkflow(fc: FaultlineClient, tq: string, fix: boolean): Promise<SweepOutcome | undefined> {
  const workflowId = `faultline-sweep-${new Date().toISOString().replace(/[-:.]/g, '')}-${Math.random().toString(36).slice(2, 6)}`;
  const h = await fc.client.workflow.start(SWEEP_TYPE, {
    taskQueue: tq,
    workflowId,
    args: [{ fix } satisfies SweepInput],
    workflowExecutionTimeout: SWEEP_MAX_MS,
    staticSummary: `faultline sweep${fix ? ' --fix' : ''}`,
  });
  const started = Date.now();
  let done = false;
  const result = h.result().finally(() => {
    done = true;
  }) as Promise<SweepReport>;
  // awaited below through `done`; this only keeps a rejection from being unhandled meanwhile
  result.catch(() => undefined);
  while (!done) {
    await new Promise((r) => setTimeout(r, 200));
    if (done || Date.now() - started < PICKUP_MS) continue;
    const d = await h.describe();
    const T = proto.temporal.api.enums.v1.PendingWorkflowTaskState;
    const untaken = d.raw.pendingWorkflowTask?.state === T.PENDING_WORKFLOW_TASK_STATE_SCHEDULED;
    if (d.status.name === 'RUNNING' && d.historyLength <= 2 && untaken) {
      // Only "started" and "task scheduled": the worker that polled a moment ago is gone.
      // it may have completed or been taken meanwhile: either way the CLI sweeps (idempotent)
      await h.terminate('no worker took the sweep; swept in the CLI process instead').catch(() => undefined);
      return undefined;
    }
    break;
  }
  try {
    return { ...(await result), mode: 'workflow', workflowId };
  } catch (e) {
    const why = e instanceof WorkflowFailedError ? (e.cause?.message ?? e.message) : (e as Error).message;
    throw new InfrastructureError(`the sweep workflow ${workflowId} did not finish: ${why}`);
  }
}

/**
 * No worker: the local host's ledger and daemon and the known proxy, from this process
 * (activities/sweep.ts sweepLocalHost); every other registered host is reported unreachable.
 */
async function sweepInProcess(fc: FaultlineClient, fix: boolean, tq: string, startedAt: string): Promise<SweepOutcome> {
  const { proxyInventory } = await import('../../worker/proxy-port.ts'); // the worker's own lookup, loaded lazily
  const r = await sweepLocalHost(fc.client, { taskQueue: tq, startedAt, fix, proxy: proxyInventory() });
  return { mode: 'in-process', ...r };
}

function print(r: SweepOutcome, opts: SweepOptions, io: Io): void {
  if (opts.json) {
    io.out(JSON.stringify(r, null, 2));
    return;
  }
  io.err(
    r.mode === 'workflow'
      ? `swept ${r.hosts.map((h) => h.host).join(', ')}${r.proxy ? ` and ${r.proxy}` : ''} (workflow ${r.workflowId})`
      : `no worker polls the task queue: swept the local host ${r.hosts[0]?.host ?? ''}${r.proxy ? ` and ${r.proxy}` : ''} from this process`,
  );
  if (r.unreadable.length)
    io.err(
      `warning: ${r.unreadable.length} open run(s) did not answer (no worker?): their toxics cannot be judged: ${r.unreadable.join(', ')}`,
    );
  for (const u of r.unreachable) io.out(`UNREACHABLE ${u.host}: ${u.reason}`);
  if (!r.orphans.length) io.out(`no orphans (${r.openRuns.length} open run(s))`);
  for (const s of r.spared ?? [])
    io.out(
      `KEPT    ${s.host}  ${s.type} ${s.what} on ${s.target}${s.workflowId ? ` (run ${s.workflowId})` : ''}: ${s.reason}`,
    );
  for (const o of r.orphans) {
    const state = o.fixed ? 'FIXED' : o.error ? `FIX FAILED: ${o.error}` : o.applied ? 'ORPHAN' : 'STALE';
    io.out(
      `${state.padEnd(7)} ${o.host}  ${o.type} ${o.what} on ${o.target}${o.workflowId ? `  (left by ${o.workflowId})` : ''}`,
    );
  }
}
