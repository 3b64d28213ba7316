// The sweep workflow's contract, defined once: its type, input and report, and what it tells each sweep
// activity, imported alike by the workflow (workflows/sweep.ts), the sweep activities (activities/sweep.ts)
// and the client (cli/commands/sweep.ts).
import type { Orphan, Spared } from '../warden/sweep.ts';

export const SWEEP_TYPE = 'sweepFleet';

export interface SweepInput {
  fix: boolean;
  /** How long a host's agent may take to pick its sweep up before the host is reported unreachable. */
  hostWaitMs?: number;
  /** Sweep these hosts instead of every known one. */
  hosts?: SweepHostRef[];
}

export interface SweepReport {
  fix: boolean;
  orphans: Orphan[];
  /** What no open run named but was kept: granted after the sweep began, or its run is alive (with why). */
  spared?: Spared[];
  /** When the sweep began: nothing granted later is swept. */
  startedAt?: string;
  /** Every host visited, with the task queue its agent polls. */
  hosts: SweepHostRef[];
  /** Hosts (and the proxy) that could not be swept, and why. */
  unreachable: { host: string; reason: string }[];
  proxy?: string;
  openRuns: string[];
  unreadable: string[];
}

/** One host the fleet sweep visits, and the task queue its agent polls. */
export interface SweepHostRef {
  host: string;
  taskQueue: string;
  /** Agents polling that queue now, per the registry (0: reported unreachable without waiting). */
  agents?: number;
  lastSeen?: string;
}

/** What the sweep workflow tells each sweep activity (absent in histories from before it). */
export interface SweepActivityOptions {
  /** When the sweep began (the sweep workflow's start): nothing granted later is swept. */
  startedAt?: string;
  /** The fleet's task queue, whose admission workflow names the runs holding admission. */
  fleetQueue?: string;
}
