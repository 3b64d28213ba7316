// The client library: everything the CLI does with Temporal, as typed functions without argv or
// printing. The CLI and the tests use only this.
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Experiment } from '../experiments/schema.ts';
import type { GuardProgress, Journal, Verdict } from '../experiments/journal.ts';
import { GAME_DAY_TYPE } from '../definitions/gameday.ts';
import { abortExperimentUpdate, journalQuery, WORKFLOW_TYPE, type RunInput } from '../definitions/experiment.ts';
import { DEFAULT_TASK_QUEUE, temporalTarget, workflowUrl, type TemporalTarget } from '../config.ts';
import {
  GAME_DAY_KEY,
  EXPERIMENT_KEY,
  FAULT_KINDS_KEY,
  SEARCH_ATTRIBUTES,
  STUCK_KEY,
  VERDICT_KEY,
} from '../workflows/search-attributes.ts';
import { InfrastructureError, InvalidInput } from '../errors.ts';

export interface FaultlineClient {
  client: Client;
  connection: Connection;
  target: TemporalTarget;
  searchAttributes: boolean;
  close(): Promise<void>;
}

export async function connectClient(target: TemporalTarget = temporalTarget()): Promise<FaultlineClient> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...target.connection, connectTimeout: '5s' });
  } catch (e) {
    throw new InfrastructureError(
      `cannot reach Temporal at ${target.address}: ${(e as Error).message}${target.embedded ? ' (start it with `faultline dev`)' : ''}`,
    );
  }
  const client = new Client({ connection, namespace: target.namespace });
  const searchAttributes = await ensureSearchAttributes(connection, target);
  return { client, connection, target, searchAttributes, close: () => connection.close() };
}

/** true when Faultline's search attributes exist; registers them when missing and allowed to. */
async function ensureSearchAttributes(connection: Connection, target: TemporalTarget): Promise<boolean> {
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace: target.namespace });
    const have = new Set(Object.keys(res.customAttributes ?? {}));
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((n) => !have.has(n));
    if (!missing.length) return true;
    const T = proto.temporal.api.enums.v1.IndexedValueType;
    await connection.operatorService.addSearchAttributes({
      namespace: target.namespace,
      searchAttributes: Object.fromEntries(
        missing.map((n) => [
          n,
          SEARCH_ATTRIBUTES[n] === 'KeywordList' ? T.INDEXED_VALUE_TYPE_KEYWORD_LIST : T.INDEXED_VALUE_TYPE_KEYWORD,
        ]),
      ),
    });
    return true;
  } catch {
    return false; // e.g. Temporal Cloud without operator rights: run without search attributes
  }
}

export function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'experiment'
  );
}

export interface Started {
  workflowId: string;
  runId: string;
  url?: string;
}

export async function startExperiment(
  fc: FaultlineClient,
  experiment: Experiment,
  opts: { file?: string; taskQueue?: string; workflowId?: string; who?: string } = {},
): Promise<Started> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const workflowId = opts.workflowId ?? `${slug(experiment.title)}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
  const input: RunInput = { experiment, file: opts.file, submittedBy: opts.who, searchAttributes: fc.searchAttributes };
  const handle = await fc.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowId,
    args: [input],
    staticSummary: experiment.hypothesis.statement,
    staticDetails: `**${experiment.title}**${experiment.owner ? ` · owner ${experiment.owner}` : ''}${opts.file ? ` · ${opts.file}` : ''}\n\n${experiment.description ?? ''}`,
    ...(fc.searchAttributes
      ? {
          typedSearchAttributes: [
            { key: EXPERIMENT_KEY, value: experiment.title },
            { key: FAULT_KINDS_KEY, value: [...new Set(experiment.method.map((f) => f.kind))] },
          ],
        }
      : {}),
  });
  return {
    workflowId,
    runId: handle.firstExecutionRunId,
    url: workflowUrl(fc.target, workflowId, handle.firstExecutionRunId),
  };
}

export function workflowUrlFor(fc: FaultlineClient, id: string): string | undefined {
  return workflowUrl(fc.target, id);
}

function handleOf(fc: FaultlineClient, id: string): WorkflowHandle {
  return fc.client.workflow.getHandle(id);
}

export interface Status {
  workflowId: string;
  runId: string;
  status: string; // RUNNING, COMPLETED, FAILED, ...
  /** The task queue the run's worker polls. */
  taskQueue?: string;
  journal?: Journal;
  guard?: GuardProgress;
  url?: string;
}

/** How long a query of a running workflow may take: with no worker polling, Temporal waits ~30 s for one. */
export const QUERY_TIMEOUT_MS = 5_000;

/** A promise that settles as p does, or with undefined after ms (a query no worker answers). */
export function settleWithin<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<undefined>((r) => {
      t = setTimeout(() => r(undefined), ms);
      t.unref();
    }),
  ]);
}

/**
 * The live journal (query, at most QUERY_TIMEOUT_MS; `query: false` skips it) or the final one (result),
 * plus the guard's last heartbeat.
 */
export async function getStatus(fc: FaultlineClient, id: string, opts: { query?: boolean } = {}): Promise<Status> {
  const h = handleOf(fc, id);
  let desc;
  try {
    desc = await h.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new InvalidInput(`no experiment run with ID ${id}`);
    throw e;
  }
  const status = desc.status.name;
  let journal: Journal | undefined;
  if (status === 'COMPLETED') journal = (await h.result()) as Journal;
  else if (opts.query !== false)
    journal = await settleWithin(
      h.query(journalQuery).catch(() => undefined), // no worker yet
      QUERY_TIMEOUT_MS,
    );
  let guard: GuardProgress | undefined;
  const pending = desc.raw.pendingActivities ?? [];
  for (const a of pending) {
    if (a.activityType?.name !== 'observe' || !a.heartbeatDetails?.payloads?.length) continue;
    const g = fc.client.options.loadedDataConverter.payloadConverter.fromPayload(
      a.heartbeatDetails.payloads[0] as never,
    ) as GuardProgress;
    // Across a fleet, hosts' holders heartbeat too: the guard is the one that samples.
    if (!guard || g.coverage || g.samples) guard = g;
  }
  return {
    workflowId: id,
    runId: desc.runId,
    status,
    taskQueue: desc.taskQueue,
    journal,
    guard,
    url: workflowUrl(fc.target, id, desc.runId),
  };
}

export async function waitForResult(fc: FaultlineClient, id: string): Promise<Journal> {
  return (await handleOf(fc, id).result()) as Journal;
}

/** The kill switch: returns once every fault of the run is reverted. */
export async function abortExperiment(
  fc: FaultlineClient,
  id: string,
  reason: string,
  who?: string,
  emergency = false,
): Promise<Journal> {
  if (!reason.trim()) throw new InvalidInput('abort needs --reason');
  try {
    return await handleOf(fc, id).executeUpdate(abortExperimentUpdate, { args: [{ reason, who, emergency }] });
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new InvalidInput(`no running experiment with ID ${id}`);
    throw e;
  }
}

/**
 * Workers that polled the run's task queue (workflow or activity side) within the last 75 s (a live
 * worker's long poll is renewed at least every minute): 0 means nothing answers an abort or reverts a
 * fault until a worker starts.
 */
export async function workersFor(fc: FaultlineClient, id: string): Promise<{ taskQueue: string; pollers: number }> {
  const d = await handleOf(fc, id).describe();
  return { taskQueue: d.taskQueue, pollers: await recentPollers(fc, d.taskQueue) };
}

/** Workers that polled this task queue (workflow or activity side) within the last 75 s. */
export async function recentPollers(fc: FaultlineClient, taskQueue: string, kinds = ['workflow', 'activity']) {
  let pollers = 0;
  const T = proto.temporal.api.enums.v1.TaskQueueType;
  const types = { workflow: T.TASK_QUEUE_TYPE_WORKFLOW, activity: T.TASK_QUEUE_TYPE_ACTIVITY };
  for (const k of kinds) {
    const r = await fc.client.workflowService.describeTaskQueue({
      namespace: fc.target.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: types[k as keyof typeof types],
    });
    const recent = Date.now() - 75_000;
    pollers += (r.pollers ?? []).filter((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000 >= recent).length;
  }
  return pollers;
}

/**
 * How long work of the run has waited with no worker taking it: its next workflow task, or an activity
 * retried after its worker stopped heartbeating (0 when nothing waits).
 */
export async function waitingForWorkerMs(fc: FaultlineClient, id: string): Promise<number> {
  const d = await handleOf(fc, id).describe();
  const E = proto.temporal.api.enums.v1;
  const ms = (t?: { seconds?: unknown } | null) => (t ? Date.now() - Number(t.seconds ?? 0) * 1000 : 0);
  let waited = 0;
  const t = d.raw.pendingWorkflowTask;
  if (t?.state === E.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED)
    waited = ms(t.originalScheduledTime ?? t.scheduledTime);
  for (const a of d.raw.pendingActivities ?? []) {
    if (a.state === E.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED && (a.attempt ?? 1) > 1)
      waited = Math.max(waited, ms(a.lastAttemptCompleteTime));
  }
  return waited;
}

export async function runningExperiments(fc: FaultlineClient): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of fc.client.workflow.list({
    query: `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
  }))
    ids.push(w.workflowId);
  return ids;
}

/** Every running experiment's journal (a query each, bounded by timeoutMs); undefined where none answered. */
export async function runningJournals(
  fc: FaultlineClient,
  timeoutMs = 5_000,
): Promise<{ workflowId: string; journal?: Journal }[]> {
  const ids = await runningExperiments(fc);
  return Promise.all(
    ids.map(async (workflowId) => {
      const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref());
      const q = handleOf(fc, workflowId)
        .query(journalQuery)
        // no worker answers the query (none runs, or it is busy): the row says so by having no journal
        .catch(() => undefined);
      return { workflowId, journal: await Promise.race([q, timeout]) };
    }),
  );
}

/** How long revert --all and lever pull wait, by default, for each run to revert. */
export const REVERT_ALL_TIMEOUT_MS = 10 * 60_000;

/**
 * The emergency stop: abort every running experiment at once; returns each one's outcome. A run that has
 * not reverted within timeoutMs (no worker takes its abort) is reported not ok, naming its task queue.
 */
export async function revertAll(
  fc: FaultlineClient,
  reason: string,
  who?: string,
  alsoIds: string[] = [], // runs known to be running that visibility may not list yet
  timeoutMs = REVERT_ALL_TIMEOUT_MS,
): Promise<{ workflowId: string; ok: boolean; verdict?: Verdict; error?: string }[]> {
  const ids = [...new Set([...alsoIds, ...(await runningExperiments(fc))])];
  return Promise.all(
    ids.map(async (workflowId) => {
      try {
        const ac = new AbortController();
        const abort = fc.client.withAbortSignal(ac.signal, () => abortExperiment(fc, workflowId, reason, who, true));
        const j = await settleWithin(abort, timeoutMs);
        if (!j) {
          ac.abort();
          // abandoned on purpose (timed out above); its rejection on the abort signal is expected
          abort.catch(() => undefined);
          const w = await workersFor(fc, workflowId).catch(() => undefined);
          return {
            workflowId,
            ok: false,
            error: `not reverted within ${Math.round(timeoutMs / 1000)} s${w ? (w.pollers ? '' : `: no worker polls task queue ${w.taskQueue} (faultline worker --task-queue ${w.taskQueue})`) : ''}; its abort was sent`,
          };
        }
        const allReverted = j.faults.every(
          (f) => f.status === 'reverted' || f.status === 'not-applied' || f.status === 'planned',
        );
        return { workflowId, ok: allReverted, verdict: j.verdict };
      } catch (e) {
        // A run that ended meanwhile has reverted everything it injected: nothing left to stop.
        const ended = await handleOf(fc, workflowId)
          .describe()
          .then((d) => d.status.name !== 'RUNNING')
          // cannot describe it: treated as still running, so the error below is reported
          .catch(() => false);
        return ended ? { workflowId, ok: true } : { workflowId, ok: false, error: (e as Error).message };
      }
    }),
  );
}

export interface HistoryRow {
  kind: 'experiment' | 'game day';
  /** The game day this row belongs to (itself, for a game day). */
  gameDay?: string;
  workflowId: string;
  runId: string;
  experiment?: string;
  verdict?: string;
  status: string;
  start: string;
  durationMs?: number;
  url?: string;
  /** A revert of this run keeps failing (FaultlineStuck). */
  stuck?: boolean;
}

/** Past and running experiments from Temporal visibility; no second database. */
export async function history(fc: FaultlineClient, limit = 20): Promise<HistoryRow[]> {
  const rows: HistoryRow[] = [];
  for await (const w of fc.client.workflow.list({
    query: `WorkflowType IN ('${WORKFLOW_TYPE}', '${GAME_DAY_TYPE}')`,
    pageSize: Math.min(limit, 100),
  })) {
    const sa = w.typedSearchAttributes;
    rows.push({
      kind: w.type === GAME_DAY_TYPE ? 'game day' : 'experiment',
      gameDay: sa.get(GAME_DAY_KEY),
      workflowId: w.workflowId,
      runId: w.runId,
      experiment: sa.get(EXPERIMENT_KEY),
      verdict: sa.get(VERDICT_KEY),
      stuck: sa.get(STUCK_KEY) === 'true' || undefined,
      status: w.status.name,
      start: w.startTime.toISOString(),
      durationMs: w.closeTime ? w.closeTime.getTime() - w.startTime.getTime() : undefined,
      url: workflowUrl(fc.target, w.workflowId, w.runId),
    });
    if (rows.length >= limit) break;
  }
  return rows;
}
