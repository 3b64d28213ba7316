// The port behind the faults that act inside a container's kernel namespaces rather than on the container:
// packet filter rules and queueing disciplines in its network namespace, and stressors placed in its
// cgroups. activities/adapters/kernel.ts implements it with short-lived helper containers (an image built
// locally from the host's own iptables, tc and stress-ng) through the Docker API, so the agent and the
// warden (which only has the daemon's socket) revert the same way; test/support/memory-ports.ts models it.
// Fault kinds build the rules (pure); the port only carries them out, and never in a namespace other than
// the one it is told: every call names the namespace it expects and applies nothing when it differs.

import type { ResolverConfig } from './dns-answer.ts';

/** What a container's network namespace holds now, as the kernel lists it. */
export interface NetnsSnapshot {
  /**
   * The namespace's identity ("net:[4026532962] eth0@if43": its inode and its interfaces' host-side peers,
   * since the kernel reuses inode numbers): a restarted container has a new one.
   */
  netns: string;
  /** `iptables-save` of every table, without comment lines and with counters zeroed. */
  rules: string[];
  /** `tc qdisc show` of every interface, one qdisc a line ("qdisc noqueue 0: dev eth0 root refcnt 2"). */
  qdiscs: string[];
  /** Interfaces other than lo, with their hardware address (to find a network's interface). */
  links: { name: string; mac: string }[];
}

/**
 * A call on a namespace: `ok` with what it holds afterwards; `changed` when the container's namespace is no
 * longer the one expected (it restarted: the old one, and whatever was in it, is gone), and nothing was
 * done; `none` when the container has no namespace to enter (not running, or removed).
 */
export type NetnsResult =
  | { state: 'ok'; snapshot: NetnsSnapshot; /** whether the call changed anything */ changed?: boolean }
  | { state: 'changed'; netns: string }
  | { state: 'none'; why: string };

/** Chains Faultline owns in one table of a namespace, and the rules that send traffic into them. */
export interface OwnedChains {
  table: 'filter' | 'nat';
  /** Chain names (at most 28 characters, iptables' limit). */
  chains: string[];
  /** Rules in built-in chains that jump to ours, as `iptables -A` arguments: ["INPUT", "!", "-i", "lo", ...]. */
  hooks: string[][];
  /** Rules inside our chains, as `iptables -A` arguments (the chain first). */
  rules: string[][];
}

/** A tbf qdisc Faultline puts at the root of an interface, under a handle reserved for Faultline. */
export interface OwnedQdisc {
  dev: string;
  /** "fa17:" style major handle. */
  handle: string;
  /** `tc qdisc add` arguments after `root handle H`, e.g. ["tbf", "rate", "1mbit", "burst", "32kb", "latency", "50ms"]. */
  args: string[];
}

/** The container's own resource limits, and the host's, in the units the stress kinds are sized in. */
export interface ResourceLimits {
  /** CPU limit in cores (NanoCpus, or CFS quota / period); undefined without one. */
  cpus?: number;
  /** Memory limit in bytes; undefined without one. */
  memoryBytes?: number;
  /** The host's CPUs and memory: what a container without a limit can use at most. */
  hostCpus: number;
  hostMemoryBytes: number;
}

export interface StressorSpec {
  /** The stressor's own name (its helper container's), derived from the fault: start is idempotent by it. */
  name: string;
  /** stress-ng arguments, e.g. ["--cpu", "2", "--cpu-method", "matrixprod"]. */
  args: string[];
  /**
   * CPUs the stressor may use in all (stress.cpu): its workers run flat out in a cgroup of their own under the
   * target's whose CFS quota is this many CPUs, so under load they are held back by the scheduler, never by
   * stress-ng's wall-clock pacing (which leaves a CPU idle for time it never got).
   */
  cpus?: number;
  /** stress-ng ends by itself after this many seconds whatever else happens (a bound, not the fault's end). */
  timeoutSeconds: number;
}

/** Faultline's resolver for the dns.* kinds: a container of its own in the target's network namespace. */
export interface ResolverSpec {
  /** Its container's name, derived from the fault: start is idempotent by it. */
  name: string;
  config: ResolverConfig;
}

export interface ProcessInfo {
  pid: number;
  command: string;
}

/** A process as the container's own PID namespace lists it (/proc/<pid>/stat and cmdline, read from inside). */
export interface NsProcess {
  /** Its PID in the container (1: the container's main process). */
  pid: number;
  ppid: number;
  /** The kernel's state letter: R, S, D, T (stopped), t, Z... */
  state: string;
  /** Start time in clock ticks after boot: with the PID, the process's identity (PIDs are reused). */
  start: number;
  /** The kernel's name for it (comm, at most 15 characters). */
  name: string;
  /** Its command line, arguments separated by spaces ('' for a kernel thread or a zombie). */
  command: string;
}

/** A process to signal: sent only when the PID still carries that start time. */
export interface ProcessRef {
  pid: number;
  start: number;
}

/** A directory inside a container, as seen from inside its filesystem (its own mounts included). */
export interface DirUsage {
  /** Bytes free for an unprivileged writer on the directory's filesystem, and its size. */
  freeBytes: number;
  sizeBytes: number;
  /** The first component of the path that is a symbolic link (never followed: it could lead outside), if any. */
  link?: string;
  /** The path is not a directory there (or does not exist). */
  notDir?: boolean;
  /** The size of `file` in that directory, when asked and present. */
  fileBytes?: number;
}

export interface KernelPort {
  /** What the container's network namespace holds; `expect` (a namespace identity) refuses any other. */
  netns(containerId: string, expect?: string): Promise<NetnsResult>;
  /**
   * Puts the chains in place in the namespace `expect` (atomically, iptables-restore --noflush): chains of
   * those names that are there already (a retried inject) are removed first, so it is idempotent.
   */
  addChains(containerId: string, expect: string, owned: OwnedChains): Promise<NetnsResult>;
  /** Removes exactly those hooks and chains (each only if present); idempotent. */
  removeChains(containerId: string, expect: string, owned: OwnedChains): Promise<NetnsResult>;
  /** Adds the qdisc at the root of its interface, replacing only a qdisc of Faultline's own handle there. */
  addQdisc(containerId: string, expect: string, q: OwnedQdisc): Promise<NetnsResult>;
  /** Deletes the root qdisc of the interface only when it carries Faultline's handle; idempotent. */
  removeQdisc(containerId: string, expect: string, q: OwnedQdisc): Promise<NetnsResult>;
  /** A container's IPv4 addresses on its networks (a peer named by a fault); null when there is no such container. */
  addresses(idOrName: string): Promise<string[] | null>;
  /** The container's hardware address on a Docker network (its interface there); undefined when not on it. */
  macOn(containerId: string, network: string): Promise<string | undefined>;
  /** The container's CPU and memory limits; null when it no longer exists. */
  limits(containerId: string): Promise<ResourceLimits | null>;
  /** Whether a stressor can be started here (stress-ng is installed on the host). */
  stressAvailable(): Promise<boolean>;
  /** Starts stress-ng inside every cgroup of the container (it is accounted and limited as the container). */
  startStressor(containerId: string, s: StressorSpec): Promise<void>;
  /** Kills the stressor (every process of it) and removes it; idempotent. */
  stopStressor(name: string): Promise<void>;
  /** The nameserver addresses of the container's own /etc/resolv.conf; null when it is not running. */
  nameservers(containerId: string): Promise<string[] | null>;
  /**
   * Starts the resolver in the container's network namespace (a retried call finds it running) and waits until
   * it listens; `ready` false with its output when it could not (a port taken, the container gone).
   */
  startResolver(containerId: string, s: ResolverSpec): Promise<{ ready: boolean; log: string }>;
  /** Ends the resolver and removes its container; idempotent. */
  stopResolver(name: string): Promise<void>;
  /** Whether the resolver still runs. */
  resolverRunning(name: string): Promise<boolean>;
  /** Whether the stressor still runs. */
  stressorRunning(name: string): Promise<boolean>;
  /** The processes in the container's cgroup (what `docker top` lists); null when it is not running. */
  processes(containerId: string): Promise<ProcessInfo[] | null>;
  /** The processes of the container's own PID namespace, read from inside it; null when it is not running. */
  nsProcesses(containerId: string): Promise<NsProcess[] | null>;
  /**
   * Sends `signal` (a name without SIG, or a number) to each process that is still the one referred to (same
   * PID and start time), from inside the container's PID namespace; returns the PIDs signalled, null when the
   * container is not running.
   */
  signalProcesses(containerId: string, signal: string, procs: ProcessRef[]): Promise<number[] | null>;
  /** Free space at `dir` inside the container (an absolute, normalized path), and `file`'s size there; null when it is not running. */
  dirUsage(containerId: string, dir: string, file?: string): Promise<DirUsage | null>;
  /**
   * Creates `dir/file` of exactly `bytes` (allocated, not sparse) inside the container, `dir` checked to hold no
   * symbolic link first; idempotent. False when the container is not running.
   */
  fillFile(containerId: string, dir: string, file: string, bytes: number): Promise<boolean>;
  /** Removes `dir/file` inside the container; whether it was there (null: the container is not running). */
  removeFile(containerId: string, dir: string, file: string): Promise<boolean | null>;
}
