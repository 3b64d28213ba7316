// The fleet's host registry, over a Temporal Client (the CLI's `hosts`, the control activity `listHosts`,
// the agents' registration): a host is registered while its presence workflow (workflows/host.ts) runs;
// "agents" and "last seen" come from the pollers of the host's task queue.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import {
  HOST_WORKFLOW_TYPE,
  hostTaskQueue,
  hostWorkflowId,
  type HostEntry,
  type HostRecord,
} from '../experiments/hosts.ts';
import { HostConflict, InvalidInput } from '../errors.ts';

/** A poller seen within this long is polling now: a live worker renews its long poll at least every minute. */
export const POLLER_FRESH_MS = 75_000;

/** The agents polling a task queue now, and the newest poll seen (workflow and activity pollers). */
export async function queuePollers(client: Client, taskQueue: string): Promise<{ agents: number; lastSeen?: string }> {
  const T = proto.temporal.api.enums.v1.TaskQueueType;
  const fresh = new Set<string>();
  let newest = 0;
  for (const taskQueueType of [T.TASK_QUEUE_TYPE_WORKFLOW, T.TASK_QUEUE_TYPE_ACTIVITY]) {
    const r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType,
    });
    for (const p of r.pollers ?? []) {
      const t = Number(p.lastAccessTime?.seconds ?? 0) * 1000 + Math.floor((p.lastAccessTime?.nanos ?? 0) / 1e6);
      newest = Math.max(newest, t);
      if (t >= Date.now() - POLLER_FRESH_MS) fresh.add(p.identity ?? '');
    }
  }
  return { agents: fresh.size, lastSeen: newest ? new Date(newest).toISOString() : undefined };
}

/**
 * The registered hosts of a fleet (its main task queue), by name: the running presence workflows (from
 * visibility, so a host registered a moment ago may take a second to show) with their agents now.
 */
export async function listHosts(client: Client, fleetQueue: string): Promise<HostEntry[]> {
  const prefix = hostWorkflowId(fleetQueue, '');
  const records: HostRecord[] = [];
  const query = `WorkflowType = '${HOST_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  for await (const w of client.workflow.list({ query })) {
    if (!w.workflowId.startsWith(prefix)) continue;
    const m = (w.memo ?? {}) as Partial<HostRecord>;
    if (typeof m.host !== 'string' || typeof m.daemonId !== 'string') continue;
    records.push(m as HostRecord);
  }
  const out = await Promise.all(
    records.map(async (r) => {
      const taskQueue = hostTaskQueue(fleetQueue, r.host);
      return { ...r, taskQueue, ...(await queuePollers(client, taskQueue)) };
    }),
  );
  return out.sort((a, b) => a.host.localeCompare(b.host));
}

/**
 * Registers a host (starts its presence workflow, or finds it). Refuses with HostConflict when the name is
 * registered for another daemon; the same daemon is another agent of the host (a standby), which is fine.
 */
export async function registerHost(client: Client, rec: HostRecord): Promise<{ standby: boolean }> {
  const workflowId = hostWorkflowId(rec.fleetQueue, rec.host);
  try {
    await client.workflow.start(HOST_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: hostTaskQueue(rec.fleetQueue, rec.host),
      args: [rec],
      memo: { ...rec },
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `Faultline host ${rec.host} (daemon ${rec.daemonName}, ${rec.dockerHost}) in fleet ${rec.fleetQueue}`,
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
  }
  const have = await registered(client, rec.fleetQueue, rec.host);
  checkSameDaemon(rec, have);
  // Runs read the registry from visibility, which shows a new registration a moment later: wait for it
  // (bounded), so a run started right after its worker (`run --worker`, quickstart) sees the host.
  const query = `WorkflowId = '${workflowId}' AND ExecutionStatus = 'Running'`;
  for (const end = Date.now() + 5_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const seen = await client.workflow
      .count(query)
      .then((c) => c.count > 0)
      .catch(() => true); // a server without count: do not wait
    if (seen) break;
  }
  return { standby: have?.registeredAt !== rec.registeredAt };
}

/** The registration of a host, while its presence workflow runs. */
export async function registered(client: Client, fleetQueue: string, host: string): Promise<HostRecord | undefined> {
  try {
    const d = await client.workflow.getHandle(hostWorkflowId(fleetQueue, host)).describe();
    return d.status.name === 'RUNNING' ? (d.memo as unknown as HostRecord) : undefined;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** HostConflict when the host name is registered for another daemon. */
export function checkSameDaemon(rec: Pick<HostRecord, 'host' | 'daemonId' | 'dockerHost'>, have?: HostRecord): void {
  if (have && have.daemonId !== rec.daemonId)
    throw new HostConflict(
      `host name "${rec.host}" is already registered for another Docker daemon (${have.daemonId} at ${have.dockerHost}); this agent's daemon is ${rec.daemonId} at ${rec.dockerHost}: choose another --host, or retire the old one with \`faultline hosts forget ${rec.host}\``,
    );
}

/**
 * Retires a host: its presence workflow is terminated (no agent needed, so a dead host can be retired); an
 * agent still running for it keeps polling an unlisted queue until it restarts and registers again.
 */
export async function forgetHost(client: Client, fleetQueue: string, host: string, who?: string): Promise<void> {
  try {
    await client.workflow
      .getHandle(hostWorkflowId(fleetQueue, host))
      .terminate(`host forgotten${who ? ` by ${who}` : ''} (faultline hosts forget)`);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError)
      throw new InvalidInput(`no registered host "${host}" in fleet ${fleetQueue}`);
    throw e;
  }
}
