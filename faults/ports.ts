// Narrow ports that fault kinds depend on. Only adapters (activities/adapters/*) implement them with
// dockerode or an HTTP client; fault kinds, the schema and the CLI's validator never load those.
import type { KernelPort } from './kernel-ports.ts';

export interface ContainerInfo {
  id: string;
  name: string; // without the leading "/"
  labels: Record<string, string>;
  state: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  /** network name -> aliases on that network (container's own aliases, not the short id) */
  networks: Record<string, string[]>;
  /** When the main process started (inspect only): a kill or restart shows as a new start time. */
  startedAt?: string;
  /** The fleet host the container lives on (set by the run when it unions the hosts' lists). */
  host?: string;
}

export interface ContainerPort {
  /** The daemon's own identity (`docker info` ID and name): an agent registers its host with it. */
  daemon?(): Promise<{ id: string; name: string }>;
  /** Every container (running or not) on the daemon. */
  list(): Promise<ContainerInfo[]>;
  /** null when the container no longer exists. */
  inspect(idOrName: string): Promise<ContainerInfo | null>;
  kill(id: string, signal: string): Promise<void>;
  stop(id: string, graceSeconds: number): Promise<void>;
  start(id: string): Promise<void>;
  restart(id: string, graceSeconds: number): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  disconnect(network: string, id: string): Promise<void>;
  connect(network: string, id: string, aliases: string[]): Promise<void>;
  /**
   * The daemon's own event log for one container from `since` (ISO) until now, oldest first: its container
   * events (pause, unpause, die, start...), or with `network` that network's connect and disconnect events
   * for it. Times to the millisecond (Docker's timeNano). Optional: a port without it has no record.
   */
  events?(id: string, since: string, network?: string): Promise<ContainerEvent[]>;
}

/** One entry of a daemon's event log. */
export interface ContainerEvent {
  action: string;
  /** ISO time, to the millisecond. */
  at: string;
}

/** A toxic as Toxiproxy's API describes it, plus Faultline's additive lease field. */
export interface ToxicSpec {
  name: string;
  type: string;
  stream: 'upstream' | 'downstream';
  toxicity: number;
  attributes: Record<string, unknown>;
}

export interface ProxyPort {
  /** Names of the routes (Toxiproxy proxies) the fault proxy has, so planning can refuse a typo. */
  listProxies(): Promise<string[]>;
  /** Adds the toxic, or replaces one of the same name; leaseMs makes the proxy drop it by itself. */
  addToxic(proxy: string, toxic: ToxicSpec, leaseMs: number): Promise<void>;
  /**
   * Updates a toxic that is there (its toxicity and attributes) and gives it a new lease; false, and nothing
   * added, when it is gone. A progressive exposure's step.
   */
  updateToxic(
    proxy: string,
    toxicName: string,
    change: { toxicity?: number; attributes?: Record<string, unknown> },
    leaseMs: number,
  ): Promise<boolean>;
  /** Idempotent: a toxic that is already gone is success. */
  removeToxic(proxy: string, toxicName: string): Promise<void>;
  /** Pushes the lease forward; false when the toxic is gone. */
  renewToxic(proxy: string, toxicName: string, leaseMs: number): Promise<boolean>;
  /** Idempotent enable/disable of a whole proxy (Toxiproxy's "enabled"), with a lease on disabling. */
  setEnabled(proxy: string, enabled: boolean, leaseMs?: number): Promise<void>;
  /** What is on a proxy now, so a fault can check its effect and its revert; null when there is no such proxy. */
  inspectProxy(proxy: string): Promise<ProxyState | null>;
  /** Pushes the lease of a disabled proxy forward; false (and nothing changed) when it is enabled or gone. */
  renewDisabled(proxy: string, leaseMs: number): Promise<boolean>;
  /**
   * When a toxic that is no longer on the proxy was removed, and why (a removal through the API, or its lease
   * lapsing in the proxy); null when the proxy does not remember it (never there, or the proxy restarted).
   * Optional: Toxiproxy itself keeps no such record.
   */
  removedToxic?(proxy: string, toxicName: string): Promise<{ at: string; by: 'api' | 'lease' } | null>;
}

export interface ProxyState {
  enabled: boolean;
  /** Names of the toxics on the proxy. */
  toxics: string[];
  /** Where the route leads (host:port), when the proxy says. */
  upstream?: string;
}

/**
 * A container fault's lease, as the warden beside the daemon keeps it: what to revert (the kind and the
 * handle) and for how long the fault may live without a renewal. Plain JSON.
 */
export interface Lease {
  id: string;
  kind: string;
  handle: Record<string, unknown>;
  leaseMs: number;
  grantedAt: string;
  /** The run that holds it, so the sweeper can tell an orphan from a fault under guard. */
  workflowId?: string;
  runId?: string;
}

/** What the warden did with a lease that lapsed. */
export interface LapsedLease {
  lease: Lease;
  lapsedAt: string;
  revertedAt?: string;
  /** false when its revert found the fault undone already (someone else undid it); absent in older records. */
  changed?: boolean;
  error?: string;
}

/**
 * The warden's ledger, seen from the runner. One owner per lifetime: `renew` only pushes an existing
 * lease forward and never re-creates one, so a renewal racing a revert (or the warden's claim) cannot
 * resurrect a fault; `release` is the first step of every revert.
 */
export interface LeasePort {
  /** Throws WardenUnavailable when no warden watches the ledger (checked before anything is injected). */
  ready(): Promise<void>;
  /**
   * Records the lease before the side effect; refuses when no warden watches the ledger. `holdMs` (longer
   * than the lease) holds it that long before it can first lapse: the inject phase, while sibling injects
   * (a stop's grace period) run and nothing renews yet.
   */
  grant(lease: Lease, holdMs?: number): Promise<void>;
  /** false when the lease is gone: released by a revert, or lapsed and taken by the warden. */
  renew(id: string): Promise<boolean>;
  /** Idempotent. */
  release(id: string): Promise<void>;
  /**
   * What the warden did with a lease it took because it lapsed (nobody renewed it in time), so the run's
   * journal can say so; undefined when the run itself released it.
   */
  lapsed(id: string): Promise<LapsedLease | undefined>;
}

export interface Ports {
  containers: ContainerPort;
  proxy: ProxyPort;
  /** Leases for container faults; without it (in-memory ports, tests) container faults carry none. */
  leases?: LeasePort;
  /** Namespaces and cgroups of containers (network.loss, network.bandwidth, stress.*); see ./kernel-ports.ts. */
  kernel?: KernelPort;
}
