// Commands that need a worker say so at once when none polls the task queue, and every wait has a bound.
// Temporal itself never says "nobody is there": an update, a query or a result with no worker polling just
// waits (`policy apply` waited 12 minutes). So a command that needs a worker asks the task queue for its
// pollers first (describeTaskQueue, as `abort` does) and stops with one line naming the queue and how to
// start a worker (exit 3, like every "cannot reach" error); and every wait goes through `within`, which
// gives up after its bound (a --timeout, or the documented default) with a line saying what goes on.
import { durationMs, formatMs } from '../faults/duration.ts';
import { PROBE_ACTIVITY_MS } from '../faults/limits.ts';
import type { Experiment } from '../experiments/schema.ts';
import { DEFAULT_TASK_QUEUE } from '../config.ts';
import { InfrastructureError, InvalidInput } from '../errors.ts';
import { recentPollers, REVERT_ALL_TIMEOUT_MS, type FaultlineClient } from './client.ts';
import type { Io } from './io.ts';

/** No worker polls the task queue a command needs. Exit 3. */
export class WorkerUnavailable extends InfrastructureError {
  override name = 'WorkerUnavailable';
}

/** A bounded wait ran out; what it waited for may still happen (a durable update, a run). Exit 3. */
export class WaitTimedOut extends InfrastructureError {
  override name = 'WaitTimedOut';
}

/** How long an update or a query of a live worker may take before the command gives up. */
export const ANSWER_TIMEOUT_MS = 30_000;
/** How long abort, revert --all and lever pull wait for every fault to be reverted. */
export const REVERT_TIMEOUT_MS = REVERT_ALL_TIMEOUT_MS;
/** A long wait says it is still waiting this often. */
export const PROGRESS_EVERY_MS = 15_000;

/** How to start a worker on this task queue, as a command line. */
export function startWorkerHint(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE
    ? '`faultline worker` (or `faultline dev`)'
    : `\`faultline worker --task-queue ${taskQueue}\``;
}

export function noWorkerMessage(taskQueue: string, what: string): string {
  return `no worker polls task queue ${taskQueue}: ${what} needs one; start one with ${startWorkerHint(taskQueue)}`;
}

/** Whether a worker polled the task queue's workflow side in the last 75 s (describeTaskQueue). */
export async function hasWorker(fc: FaultlineClient, taskQueue: string): Promise<boolean> {
  return (await recentPollers(fc, taskQueue, ['workflow'])) > 0;
}

/** Throws WorkerUnavailable (one line, exit 3) when no worker polls the task queue; call before anything. */
export async function requireWorker(fc: FaultlineClient, taskQueue: string | undefined, what: string): Promise<void> {
  const tq = taskQueue ?? DEFAULT_TASK_QUEUE;
  if (!(await hasWorker(fc, tq))) throw new WorkerUnavailable(noWorkerMessage(tq, what));
}

/** For commands that succeed without a worker (a run waits for one): one line on stderr; false when none. */
export async function warnIfNoWorker(
  fc: FaultlineClient,
  taskQueue: string | undefined,
  what: string,
  io: Io,
): Promise<boolean> {
  const tq = taskQueue ?? DEFAULT_TASK_QUEUE;
  if (await hasWorker(fc, tq)) return true;
  io.err(`warning: no worker polls task queue ${tq}: ${what} until one starts (${startWorkerHint(tq)})`);
  return false;
}

/** A `--timeout` value in milliseconds (250ms, 30s, 5m, 1h), or the default; a bad one exits 2 naming the flag. */
export function timeoutOption(text: string | undefined, defaultMs: number): number {
  if (text === undefined) return defaultMs;
  let ms: number;
  try {
    ms = durationMs(text);
  } catch {
    throw new InvalidInput(`--timeout: "${text}" is not a duration (e.g. 30s, 5m, 1h)`);
  }
  if (ms <= 0) throw new InvalidInput('--timeout: must be more than 0');
  return ms;
}

export interface WaitOptions {
  /** What is waited for, for messages: "the policy update", "the revert of RUN". */
  what: string;
  timeoutMs: number;
  /** Where "still waiting" lines go; without it the wait is silent. */
  io?: Io;
  progressMs?: number;
  /** Said when the bound runs out, after "no answer within T": what goes on, and what to run next. */
  after?: string;
}

/**
 * Runs fn (Temporal calls) with a bound: its RPCs are cancelled and WaitTimedOut is thrown after timeoutMs,
 * and a long wait says every progressMs that it is still waiting.
 */
export async function within<T>(fc: FaultlineClient, o: WaitOptions, fn: () => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const every = o.progressMs ?? PROGRESS_EVERY_MS;
  const progress =
    o.io && every < o.timeoutMs
      ? setInterval(
          () =>
            o.io?.err(
              `still waiting for ${o.what} (${formatMs(Date.now() - started)} of at most ${formatMs(o.timeoutMs)})`,
            ),
          every,
        )
      : undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Settled first: the cancelled calls then reject too, and that must not be what the caller sees.
      reject(new WaitTimedOut(`${o.what}: no answer within ${formatMs(o.timeoutMs)}${o.after ? `; ${o.after}` : ''}`));
      ac.abort();
    }, o.timeoutMs);
  });
  try {
    return await Promise.race([fc.client.withAbortSignal(ac.signal, fn), expired]);
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
  }
}

/**
 * The default bound of `run --wait`: the longest the run itself should take (its admission wait, the
 * steady state before, its baseline, the longest fault, the recovery check) plus 10 minutes for reverts
 * and retries. A run past it goes on; the command stops waiting, says so and exits 3.
 */
export function runSpanMs(e: Experiment): number {
  const d = (t: string | undefined) => (t ? durationMs(t) : 0);
  const longest = Math.max(0, ...e.method.map((f) => d(f.duration)));
  const baseline = d(e.judge?.baseline?.window);
  return (
    d(e.admission?.wait) + 2 * PROBE_ACTIVITY_MS + baseline + longest + d(e.afterCheck?.recoveryTimeout) + 10 * 60_000
  );
}
