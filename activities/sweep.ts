// The sweep as activities, so the sweepFleet workflow (workflows/sweep.ts) can fan it out: the open runs
// (asked of Temporal once), one host's ledger and daemon (run on that host's own task queue, next to its
// warden), the fault proxy. The judging itself is warden/sweep.ts; these only gather and carry it.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ContainerPort } from '../faults/ports.ts';
import type { KernelPort } from '../faults/kernel-ports.ts';
import { listHosts } from './hosts.ts';
import { admissionWorkflowId } from './control.ts';
import { admissionStateQuery } from '../definitions/admission.ts';
import { journalQuery, WORKFLOW_TYPE } from '../definitions/experiment.ts';
import type { SweepActivityOptions, SweepHostRef, SweepReport } from '../definitions/sweep.ts';
import { WARDEN_DIR } from '../config.ts';
import { localHost } from './local-host.ts';
import {
  heldBy,
  sweepHost,
  sweepProxy,
  type OpenRuns,
  type Orphan,
  type OwnerState,
  type ProxyInventory,
  type Spared,
  type SweepClock,
  type SweepFound,
} from '../warden/sweep.ts';

/** OpenRuns as plain JSON (it travels through workflow history). */
export interface OpenRunsWire {
  ids: string[];
  toxics: string[];
  unreadable: string[];
  /** Runs holding admission (run -> admitted at); absent in histories from before the field. */
  admitted?: Record<string, string>;
  /** When the list was read (ISO); absent in histories from before the field. */
  readAt?: string;
}

export const toOpenRuns = (w: OpenRunsWire): OpenRuns => ({
  ids: new Set(w.ids),
  toxics: new Set(w.toxics),
  unreadable: w.unreadable,
  admitted: new Map(Object.entries(w.admitted ?? {})),
  readAt: w.readAt,
});

const within = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);

/**
 * The runs holding admission on a task queue, read from its admission workflow (a query: it does not lag
 * like visibility). Empty when that workflow does not exist or does not answer within timeoutMs.
 */
export async function admittedRuns(
  client: Client,
  taskQueue: string,
  timeoutMs = 5_000,
): Promise<Record<string, string>> {
  const q = client.workflow
    .getHandle(admissionWorkflowId(taskQueue))
    .query(admissionStateQuery)
    .catch(() => undefined);
  const s = await within(q, timeoutMs);
  return Object.fromEntries((s?.holds ?? []).map((h) => [h.workflowId, h.since]));
}

/**
 * Every running experiment (visibility) and every run holding admission on the task queue (which does not
 * lag), with the toxics their journals hold; a run whose query times out is unreadable. `readAt` is when
 * the reading began.
 */
export async function openRuns(
  client: Client,
  opts: { taskQueue?: string; timeoutMs?: number } = {},
): Promise<OpenRunsWire> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const readAt = new Date().toISOString();
  const admitted = opts.taskQueue ? await admittedRuns(client, opts.taskQueue, timeoutMs) : {};
  const ids: string[] = [];
  for await (const w of client.workflow.list({
    query: `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
  }))
    ids.push(w.workflowId);
  const out: OpenRunsWire = { ids, toxics: [], unreadable: [], admitted, readAt };
  await Promise.all(
    [...new Set([...ids, ...Object.keys(admitted)])].map(async (id) => {
      const q = client.workflow
        .getHandle(id)
        .query(journalQuery)
        .catch(() => undefined);
      const j = await within(q, timeoutMs);
      if (!j) out.unreadable.push(id);
      else out.toxics.push(...heldBy(j.faults).toxics);
    }),
  );
  return out;
}

/** The run as Temporal's describe says now (not visibility, which lags); bounded by timeoutMs. */
export async function describeRun(client: Client, workflowId: string, timeoutMs = 5_000): Promise<OwnerState> {
  const d = client.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      (x): OwnerState =>
        x.status.name === 'RUNNING' ? { state: 'running' } : { state: 'closed', status: x.status.name },
      (e: unknown): OwnerState =>
        e instanceof WorkflowNotFoundError ? { state: 'not-found' } : { state: 'unknown', error: (e as Error).message },
    );
  return (await within(d, timeoutMs)) ?? { state: 'unknown', error: `no answer within ${timeoutMs / 1000} s` };
}

/** How the sweep activities judge: the sweep's start, and the live checks on this worker's client. */
export function sweepClock(client: Client, startedAt: string | undefined, taskQueue: string): SweepClock {
  return {
    startedAt: startedAt ?? new Date().toISOString(),
    describe: (id) => describeRun(client, id),
    runs: async () => toOpenRuns(await openRuns(client, { taskQueue })),
  };
}

export interface SweepDeps {
  client: Client;
  /** This worker's Docker host: its name, daemon and warden ledger. */
  host: () => Promise<string>;
  containers: ContainerPort;
  /** The host's kernel port (the kinds acting inside a container's namespaces); absent: those are not looked at. */
  kernel?: KernelPort;
  ledgerDir: string;
  /** The known fault proxy, looked up per call; undefined when none is configured. */
  proxy: () => ProxyInventory | undefined;
}

export function createSweepActivities(d: SweepDeps) {
  return {
    /** The open runs and the holders of admission of this worker's (fleet) task queue. */
    sweepOpenRuns: () => openRuns(d.client, { taskQueue: Context.current().info.taskQueue }),

    /** Every registered host of this worker's fleet; with none registered, this worker's own host. */
    async sweepHosts(): Promise<SweepHostRef[]> {
      const fleet = Context.current().info.taskQueue;
      const hosts = await listHosts(d.client, fleet);
      if (!hosts.length) return [{ host: await d.host(), taskQueue: fleet }];
      return hosts.map((h) => ({ host: h.host, taskQueue: h.taskQueue, agents: h.agents, lastSeen: h.lastSeen }));
    },

    /**
     * Runs on the host's own task queue: its ledger and daemon are local. Each lease no open run holds is
     * judged against the sweep's start and its owner, described right before anything is reverted.
     */
    async sweepHost(open: OpenRunsWire, fix: boolean, opts: SweepActivityOptions = {}): Promise<SweepFound> {
      const host = await d.host();
      const fleet = opts.fleetQueue ?? Context.current().info.taskQueue;
      return sweepHost(
        { host, ledgerDir: d.ledgerDir, containers: d.containers, ...(d.kernel ? { kernel: d.kernel } : {}) },
        toOpenRuns(open),
        fix,
        sweepClock(d.client, opts.startedAt, fleet),
      );
    },

    /** The known proxy's faultline-* toxics, judged against the runs read after they were listed. */
    async sweepProxy(
      open: OpenRunsWire,
      fix: boolean,
      opts: SweepActivityOptions = {},
    ): Promise<{ proxy?: string; orphans: Orphan[]; spared?: Spared[] }> {
      const p = d.proxy();
      if (!p) return { orphans: [], spared: [] };
      const fleet = opts.fleetQueue ?? Context.current().info.taskQueue;
      const r = await sweepProxy(p, toOpenRuns(open), fix, sweepClock(d.client, opts.startedAt, fleet));
      return { proxy: p.name, ...r };
    },
  };
}

export type SweepActivities = ReturnType<typeof createSweepActivities>;

/**
 * No worker polls the task queue (`faultline sweep` in its own process): the local host's ledger and
 * daemon and the known proxy, swept from this process. Every other registered host of the fleet is
 * reported unreachable (this process reaches only the local daemon).
 */
export async function sweepLocalHost(
  client: Client,
  o: { taskQueue: string; startedAt: string; fix: boolean; proxy?: ProxyInventory },
): Promise<SweepReport> {
  const { taskQueue: tq, startedAt, fix } = o;
  const wire = await openRuns(client, { taskQueue: tq });
  const open = toOpenRuns(wire);
  const clock = sweepClock(client, startedAt, tq);
  const local = localHost();
  const registered = await listHosts(client, tq);
  // a daemon that does not answer: no host is "mine", the sweep names every host unreachable
  const daemonId = registered.length ? (await local.containers.daemon?.().catch(() => undefined))?.id : undefined;
  const mine = registered.find((h) => h.daemonId === daemonId);
  const host = mine?.host ?? (await local.name());
  const { orphans, spared } = await sweepHost(
    { host, ledgerDir: mine?.wardenDir ?? WARDEN_DIR, containers: local.containers, kernel: local.kernel },
    open,
    fix,
    clock,
  );
  const unreachable = registered
    .filter((h) => h !== mine)
    .map((h) => ({
      host: h.host,
      reason: `not swept: no worker polls task queue ${tq}, and this process reaches only the local daemon`,
    }));
  if (o.proxy) {
    const r = await sweepProxy(o.proxy, open, fix, clock);
    orphans.push(...r.orphans);
    spared.push(...r.spared);
  }
  return {
    fix,
    startedAt,
    orphans,
    spared,
    hosts: [{ host, taskQueue: tq }],
    unreachable,
    proxy: o.proxy?.name,
    openRuns: wire.ids,
    unreadable: wire.unreadable,
  };
}
