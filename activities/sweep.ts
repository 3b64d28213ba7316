// The sweep as activities, so the sweepFleet workflow (workflows/sweep.ts) can fan it out: the open runs
// (asked of Temporal once), one host's ledger and daemon (run on that host's own task queue, next to its
// warden), the fault proxy. The judging itself is warden/sweep.ts; these only gather and carry it.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ContainerPort } from '../faults/ports.ts';
import { listHosts } from './hosts.ts';
import { heldBy, sweepHost, sweepProxy, type OpenRuns, type Orphan, type ProxyInventory } from '../warden/sweep.ts';

// The experiment workflow's type and journal query, as workflows/definitions.ts names them (activities never
// import workflows/; test/unit/admission-names.test.ts keeps them in step).
export const EXPERIMENT_WORKFLOW_TYPE = 'runExperiment';
export const JOURNAL_QUERY = 'journal';

/** OpenRuns as plain JSON (it travels through workflow history). */
export interface OpenRunsWire {
  ids: string[];
  toxics: string[];
  unreadable: string[];
}

export const toOpenRuns = (w: OpenRunsWire): OpenRuns => ({
  ids: new Set(w.ids),
  toxics: new Set(w.toxics),
  unreadable: w.unreadable,
});

/** Every running experiment and the toxics its journal holds; a run whose query times out is unreadable. */
export async function openRuns(client: Client, timeoutMs = 5_000): Promise<OpenRunsWire> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({
    query: `WorkflowType = '${EXPERIMENT_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
  }))
    ids.push(w.workflowId);
  const out: OpenRunsWire = { ids, toxics: [], unreadable: [] };
  await Promise.all(
    ids.map(async (id) => {
      const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref());
      const q = client.workflow
        .getHandle(id)
        .query<{ faults: { handle?: Record<string, unknown> }[] }>(JOURNAL_QUERY)
        .catch(() => undefined);
      const j = await Promise.race([q, timeout]);
      if (!j) out.unreadable.push(id);
      else out.toxics.push(...heldBy(j.faults).toxics);
    }),
  );
  return out;
}

/** One host the fleet sweep visits, and the task queue its agent polls. */
export interface SweepHostRef {
  host: string;
  taskQueue: string;
  /** Agents polling that queue now, per the registry (0: reported unreachable without waiting). */
  agents?: number;
  lastSeen?: string;
}

export interface SweepDeps {
  client: Client;
  /** This worker's Docker host: its name, daemon and warden ledger. */
  host: () => Promise<string>;
  containers: ContainerPort;
  ledgerDir: string;
  /** The known fault proxy, looked up per call; undefined when none is configured. */
  proxy: () => ProxyInventory | undefined;
}

export function createSweepActivities(d: SweepDeps) {
  return {
    sweepOpenRuns: () => openRuns(d.client),

    /** Every registered host of this worker's fleet; with none registered, this worker's own host. */
    async sweepHosts(): Promise<SweepHostRef[]> {
      const fleet = Context.current().info.taskQueue;
      const hosts = await listHosts(d.client, fleet);
      if (!hosts.length) return [{ host: await d.host(), taskQueue: fleet }];
      return hosts.map((h) => ({ host: h.host, taskQueue: h.taskQueue, agents: h.agents, lastSeen: h.lastSeen }));
    },

    /** Runs on the host's own task queue: its ledger and daemon are local. */
    async sweepHost(open: OpenRunsWire, fix: boolean): Promise<Orphan[]> {
      const host = await d.host();
      return sweepHost({ host, ledgerDir: d.ledgerDir, containers: d.containers }, toOpenRuns(open), fix);
    },

    async sweepProxy(open: OpenRunsWire, fix: boolean): Promise<{ proxy?: string; orphans: Orphan[] }> {
      const p = d.proxy();
      return p ? { proxy: p.name, orphans: await sweepProxy(p, toOpenRuns(open), fix) } : { orphans: [] };
    },
  };
}

export type SweepActivities = ReturnType<typeof createSweepActivities>;
