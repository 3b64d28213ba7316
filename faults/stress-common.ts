// Shared by stress.cpu and stress.memory: a stressor (Debian's stress-ng) started inside the target's own
// cgroups, so the container's limits bound it and its usage is the container's; named after the run and
// the fault, started idempotently, ended by its revert (and by the warden when its lease lapses), and bounded
// by a timeout of its own whatever happens. Sized against the container's own limits at prepare. A container
// restarted during the fault keeps its cgroup (Docker reuses the path) and Docker ends only the processes of
// its own PID namespace: the stressor, in a namespace of its own, stays in the restarted container's cgroup
// until the revert ends it.
import type { FaultTarget } from './types.ts';
import type { Ports } from './ports.ts';
import type { KernelPort, ProcessInfo } from './kernel-ports.ts';
import { containerOf } from './container-common.ts';
import { faultNonce, shortHash } from './netfilter.ts';
import { durationMs } from './duration.ts';
import { FaultNotInEffect, FaultTargetGone, InvalidInput, RevertIncomplete } from '../errors.ts';

export interface StressHandle extends Record<string, unknown> {
  containerId: string;
  containerName: string;
  startedAt?: string;
  /** The stressor's name (its helper container): faultline-stress-<run>-<fault>. */
  stressor: string;
  args: string[];
  /** stress.cpu: the CPU quota of the stressor's own cgroup (absent in handles recorded before it: --cpu-load). */
  cpus?: number;
  timeoutSeconds: number;
  /** stress-ng processes in the container at prepare (normally none): what the revert must leave. */
  stressBefore: number;
}

/** After this long past its fault's own end a stressor ends by itself, even if nothing reverts it. */
export const STRESSOR_SLACK_S = 120;

export function kernelFor(ports: Ports, kind: string): KernelPort {
  if (!ports.kernel)
    throw new InvalidInput(
      `${kind} runs in the container's cgroups: it runs on the host's agent, whose ports have none here`,
    );
  return ports.kernel;
}

export const isStressor = (p: ProcessInfo) => /(^|\/)stress-ng(\s|-|$)/.test(p.command);

/** The container, its stress-ng processes now, and a name for the stressor. */
export async function prepareStress(
  ports: Ports,
  kind: string,
  t: FaultTarget,
  args: string[],
  duration: string,
  cpus?: number,
): Promise<StressHandle> {
  const c = await containerOf(ports, t);
  if (!(await kernelFor(ports, kind).stressAvailable()))
    throw new InvalidInput(
      `${kind}: stress-ng is not installed on this host, so Faultline's tools image has none: install Debian's stress-ng (scripts/setup.sh); nothing injected`,
    );
  const procs = await kernelFor(ports, kind).processes(c.containerId);
  if (!procs) throw new FaultTargetGone(`${kind}: ${c.containerName} is not running`);
  return {
    containerId: c.containerId,
    containerName: c.containerName,
    ...(c.startedAt ? { startedAt: c.startedAt } : {}),
    stressor: `faultline-stress-${shortHash(t.run ?? 'no-run')}-${faultNonce()}`,
    args,
    ...(cpus !== undefined ? { cpus } : {}),
    timeoutSeconds: Math.ceil(durationMs(duration) / 1000) + STRESSOR_SLACK_S,
    stressBefore: procs.filter(isStressor).length,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the stressor (a retried inject finds it running) and waits until it and its workers are the container's. */
export async function injectStress(ports: Ports, kind: string, h: StressHandle, waitMs = 10_000): Promise<void> {
  const k = kernelFor(ports, kind);
  await k.startStressor(h.containerId, {
    name: h.stressor,
    args: h.args,
    ...(h.cpus !== undefined ? { cpus: h.cpus } : {}),
    timeoutSeconds: h.timeoutSeconds,
  });
  for (const until = Date.now() + waitMs; ; await sleep(100)) {
    const procs = await k.processes(h.containerId);
    if (!procs) throw new FaultTargetGone(`${kind}: ${h.containerName} is not running`);
    // stress-ng itself and at least one worker (it forks them right after it starts).
    const mine = procs.filter(isStressor).length - h.stressBefore;
    if (mine >= 2) return;
    if (!(await k.stressorRunning(h.stressor)))
      throw new FaultNotInEffect(
        `${kind} on ${h.containerName} has no effect: its stressor ${h.stressor} is not running`,
      );
    if (Date.now() >= until)
      throw new FaultNotInEffect(
        `${kind} on ${h.containerName} has no effect: its stressor runs but none of its processes is in the container's cgroup`,
      );
  }
}

/** Ends the stressor (idempotent) and checks no stress-ng process is left in the container but those there before. */
export async function revertStress(
  ports: Ports,
  kind: string,
  h: StressHandle,
  waitMs = 5_000,
): Promise<{ changed: boolean; note?: string }> {
  const k = kernelFor(ports, kind);
  const running = await k.stressorRunning(h.stressor);
  await k.stopStressor(h.stressor);
  const now = await ports.containers.inspect(h.containerId);
  const restarted = !!(h.startedAt && now?.startedAt && now.startedAt !== h.startedAt);
  const note =
    !running && !now
      ? `${kind} on ${h.containerName}: the container was removed; its stressor ended with it`
      : !running && restarted
        ? `${kind} on ${h.containerName}: the container restarted (started ${now?.startedAt}); its stressor had ended already and nothing was started again`
        : undefined;
  for (const until = Date.now() + waitMs; ; await sleep(100)) {
    const procs = now ? await k.processes(h.containerId) : null;
    const left = procs ? procs.filter(isStressor).length - h.stressBefore : 0;
    if (left <= 0) return { changed: running, ...(note ? { note } : {}) };
    if (Date.now() >= until)
      throw new RevertIncomplete(
        `${kind} on ${h.containerName} not reverted: ${left} stress-ng processes are still in the container (${h.stressBefore} before the fault)`,
      );
  }
}
