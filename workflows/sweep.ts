// The orphan sweep as Temporal work: the open runs are read once, then one sweep activity per Docker host
// runs on that host's own task queue (next to its daemon and its warden's ledger) and one on the fault
// proxy, all at once. A host whose agent does not pick its sweep up in time is reported unreachable, never
// waited for. Run by `faultline sweep` and by a schedule (`faultline sweep --every`, via scheduledRun).
//
//   read open runs ─▶ list hosts ─▶ ┬─ each host: no agent ─────────────────────────▶ unreachable
//                                   │             sweep on its queue ──ok──▶ found (orphans, spared)
//                                   │                                 └─not picked up / failed─▶ unreachable
//                                   └─ the proxy: sweep ──ok──▶ found   └─failed─▶ unreachable
//                                 all settled ─▶ report (closed)
import { ActivityFailure, proxyActivities, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { SweepActivities } from '../activities/sweep.ts';
import type { SweepActivityOptions, SweepInput, SweepReport } from '../definitions/sweep.ts';
import type { Orphan, Spared, SweepFound } from '../warden/sweep.ts';
import { errorText } from './reverts.ts';

const HOST_WAIT_MS = 10_000;

const here = proxyActivities<SweepActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 3 } });

export async function sweepFleet(input: SweepInput): Promise<SweepReport> {
  // The sweep's start, before any run is read: a lease granted later belongs to a run this sweep may not
  // have seen, and is never swept (warden/sweep-decision.ts). Only the activities' arguments carry it, so
  // the command sequence is the one of histories recorded before.
  const info = workflowInfo();
  const opts: SweepActivityOptions = { startedAt: info.startTime.toISOString(), fleetQueue: info.taskQueue };
  const open = await here.sweepOpenRuns();
  const hosts = input.hosts ?? (await here.sweepHosts());
  const wait = input.hostWaitMs ?? HOST_WAIT_MS;
  const unreachable: SweepReport['unreachable'] = [];
  const perHost = hosts.map(async (h): Promise<SweepFound> => {
    if (h.agents === 0) {
      unreachable.push({
        host: h.host,
        reason: `no agent polls task queue ${h.taskQueue}${h.lastSeen ? ` (last seen ${h.lastSeen})` : ' (never seen)'}`,
      });
      return { orphans: [], spared: [] };
    }
    const on = proxyActivities<SweepActivities>({
      taskQueue: h.taskQueue,
      scheduleToStartTimeout: wait, // not retried: nobody polls that queue
      startToCloseTimeout: '2m',
      retry: { maximumAttempts: 3 },
    });
    try {
      const r: SweepFound | Orphan[] = await on.sweepHost.executeWithOptions(
        { summary: `sweep ${h.host}${input.fix ? ' --fix' : ''}` },
        [open, input.fix, opts],
      );
      return Array.isArray(r) ? { orphans: r, spared: [] } : r; // an array: recorded before `spared`
    } catch (e) {
      const c = e instanceof ActivityFailure ? e.cause : undefined;
      unreachable.push({
        host: h.host,
        reason:
          c instanceof TimeoutFailure && c.timeoutType === TimeoutType.SCHEDULE_TO_START
            ? `no agent took its sweep on task queue ${h.taskQueue} within ${wait / 1000} s`
            : errorText(e),
      });
      return { orphans: [], spared: [] };
    }
  });
  const proxy = here.sweepProxy
    .executeWithOptions({ summary: 'sweep the fault proxy' }, [open, input.fix, opts])
    .catch((e: unknown) => {
      unreachable.push({ host: 'fault proxy', reason: errorText(e) });
      return { proxy: undefined, orphans: [] as Orphan[], spared: [] as Spared[] };
    });
  const [found, p] = await Promise.all([Promise.all(perHost), proxy]);
  return {
    fix: input.fix,
    orphans: [...found.flatMap((f) => f.orphans), ...p.orphans],
    spared: [...found.flatMap((f) => f.spared), ...(p.spared ?? [])],
    startedAt: opts.startedAt,
    hosts,
    unreachable,
    proxy: p.proxy,
    openRuns: open.ids,
    unreadable: open.unreadable,
  };
}
