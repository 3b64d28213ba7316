// The fleet's names, pure (workflow-safe): every Docker host has an agent polling its own task queue,
// derived from the fleet's task queue so two fleets (or two test runs) never share one, and a presence
// workflow whose ID names the host. A container's identity across the fleet is its host plus its name.

/** The presence workflow's type (workflows/host.ts). */
export const HOST_WORKFLOW_TYPE = 'hostPresence';

/** The task queue of one host's agents. */
export function hostTaskQueue(fleetQueue: string, host: string): string {
  return `${fleetQueue}@${host}`;
}

/** The presence workflow of one host of a fleet. */
export function hostWorkflowId(fleetQueue: string, host: string): string {
  return `faultline-host:${fleetQueue}:${host}`;
}

/** What a host's presence workflow carries (its input and memo). */
export interface HostRecord {
  host: string;
  fleetQueue: string;
  /** `docker info` ID: two daemons never share it, so a reused host name is caught. */
  daemonId: string;
  daemonName: string;
  /** How the agent reaches the daemon (unix socket or DOCKER_HOST). */
  dockerHost: string;
  /** The warden's lease ledger of this host, on that host; absent when no warden could start. */
  wardenDir?: string;
  registeredAt: string;
}

/** A host as the registry lists it: the record plus who is polling its queue now. */
export interface HostEntry extends HostRecord {
  taskQueue: string;
  /** Agents that polled the host's queue recently (0: nobody would run its container activities). */
  agents: number;
  /** The newest poll of any agent, ISO; absent when none ever polled. */
  lastSeen?: string;
}

/** What an agent reports with its containers, so a run can tell a reused host name. */
export interface DaemonIdentity {
  id: string;
  name: string;
}

export const HOST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** null when the name can be a host name (it goes into task queue and workflow IDs), else why not. */
export function hostNameProblem(name: string): string | null {
  return HOST_NAME_RE.test(name)
    ? null
    : `host name "${name}": letters, digits, ".", "_" and "-" only, starting with a letter or digit, at most 100`;
}

/** A container's key across the fleet (admission, journal): host and ID, or the ID alone off the fleet. */
export function containerKey(t: { id: string; host?: string }): string {
  return t.host ? `${t.host}/${t.id}` : t.id;
}

/** How a target is shown: host/name, or the name alone. */
export function containerLabel(t: { name: string; host?: string }): string {
  return t.host ? `${t.host}/${t.name}` : t.name;
}
