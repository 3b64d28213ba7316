// What a worker's death did to each run's guard, read from Temporal and the journals: which attempt of the
// guard activity ended the window and on which worker (its history), and, for a guard that moved, the
// handover: from the kill to the first moment the survivor's guard saw the system (the end of the run's
// longest unwatched gap, experiments/coverage.ts). Shared by test/guard-handover.test.ts and bench/workers.ts.
import type { WorkflowHandle } from '@temporalio/client';
import type { Journal } from '../../experiments/journal.ts';

export interface GuardAttempt {
  /** The attempt that ended the guard activity (1: never retried). */
  attempt: number;
  /** The worker that ran that attempt (the SDK's identity: pid@host). */
  identity: string;
  /** Why the attempt before it failed (a heartbeat timeout when its worker died). */
  lastFailure?: string;
}

/** The guard activity (`observe` on the run's own task queue) of each run: its last attempt. */
export async function guardAttempts(handles: WorkflowHandle[], batch = 25): Promise<GuardAttempt[]> {
  const out: GuardAttempt[] = [];
  for (let k = 0; k < handles.length; k += batch)
    out.push(
      ...(await Promise.all(
        handles.slice(k, k + batch).map(async (h) => {
          const events = (await h.fetchHistory()).events ?? [];
          const queue = events[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name;
          const guard = events.find(
            (e) =>
              e.activityTaskScheduledEventAttributes?.activityType?.name === 'observe' &&
              e.activityTaskScheduledEventAttributes.taskQueue?.name === queue,
          );
          const started = events.find(
            (e) =>
              guard && String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(guard.eventId),
          )?.activityTaskStartedEventAttributes;
          return {
            attempt: started?.attempt ?? 0,
            identity: started?.identity ?? '',
            ...(started?.lastFailure?.message ? { lastFailure: started.lastFailure.message } : {}),
          };
        }),
      )),
    );
  return out;
}

/** Nearest rank: the smallest value with at least p % of the values at or below it. */
export const pct = (xs: number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] as number;
};
const dist = (xs: number[]) => ({
  n: xs.length,
  p50: pct(xs, 50),
  p95: pct(xs, 95),
  max: xs.length ? Math.max(...xs) : NaN,
});

/**
 * Per run: its longest gap, and for a guard that moved (a later attempt) whose longest gap spans the kill,
 * the handover (kill to the survivor's first look) and how stale its last look before the kill was.
 */
export function handoverFigures(journals: Journal[], attempts: GuardAttempt[], killedAt: number) {
  const runs = journals.map((j, i) => {
    const c = j.guardSamples.coverage;
    const g = c?.longestGap;
    const moved = (attempts[i]?.attempt ?? 0) > 1;
    const spans = !!g && Date.parse(g.from) <= killedAt && killedAt < Date.parse(g.to);
    return {
      verdict: j.verdict ?? 'none',
      moved,
      maxGapMs: c?.maxGapMs ?? NaN,
      gapMs: g?.ms ?? NaN,
      ...(moved && spans
        ? { handoverMs: Date.parse(g.to) - killedAt, lastLookBeforeKillMs: killedAt - Date.parse(g.from) }
        : {}),
    };
  });
  const verdicts: Record<string, number> = {};
  for (const r of runs) verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
  const moved = runs.filter((r) => r.moved);
  const handover = moved.flatMap((r) => (r.handoverMs === undefined ? [] : [r.handoverMs]));
  return {
    runs,
    moved: moved.length,
    summary: {
      runs: runs.length,
      moved: moved.length,
      verdicts,
      handoverMs: dist(handover),
      lastLookBeforeKillMs: dist(
        moved.flatMap((r) => (r.lastLookBeforeKillMs === undefined ? [] : [r.lastLookBeforeKillMs])),
      ),
      longestGapMs: {
        moved: dist(moved.map((r) => r.gapMs)),
        stayed: dist(runs.filter((r) => !r.moved).map((r) => r.gapMs)),
      },
    },
  };
}
