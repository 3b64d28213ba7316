// Shared pieces of the container fault kinds: the handle (the state before the experiment), bringing
// the container back to that state, and checking it, so every revert is observed and not assumed.
import type { ContainerInfo, Ports } from './ports.ts';
import type { FaultTarget, Undone } from './types.ts';
import { FaultNotInEffect, FaultTargetGone, RevertIncomplete } from '../errors.ts';

export interface ContainerHandle extends Record<string, unknown> {
  containerId: string;
  containerName: string;
  /** State before the fault, so revert restores exactly that. */
  wasState: string;
  /** Start time of the main process before the fault: a kill or restart shows as a new one. */
  startedAt?: string;
}

export async function containerOf(ports: Ports, t: FaultTarget): Promise<ContainerHandle> {
  if (!t.container) throw new FaultTargetGone('this fault needs a container target');
  const info = await ports.containers.inspect(t.container.id);
  if (!info) throw new FaultTargetGone(`container ${t.container.name} no longer exists`);
  return {
    containerId: info.id,
    containerName: info.name,
    wasState: info.state,
    ...(info.startedAt ? { startedAt: info.startedAt } : {}),
  };
}

/** A container Docker is restarting by its restart policy counts as running. */
const settled = (s: string) => (s === 'restarting' ? 'running' : s);

/**
 * Brings a container back to its state before the fault: a container that ran runs again (unpaused or
 * started); one that was paused is paused again. Idempotent; true when it changed anything (false: it
 * found the container as it was already). Containers that were down are left alone.
 */
export async function restoreState(ports: Ports, h: ContainerHandle): Promise<boolean> {
  const was = settled(h.wasState);
  if (was !== 'running' && was !== 'paused') return false;
  let now = await ports.containers.inspect(h.containerId);
  if (!now) return false; // removed by someone else: nothing left to revert
  let changed = false;
  if (now.state === 'paused' && was === 'running') {
    await ports.containers.unpause(h.containerId);
    changed = true;
  }
  if (now.state !== 'running' && now.state !== 'paused' && now.state !== 'restarting') {
    await ports.containers.start(h.containerId);
    changed = true;
    now = await ports.containers.inspect(h.containerId);
  }
  if (now?.state === 'running' && was === 'paused') {
    await ports.containers.pause(h.containerId);
    changed = true;
  }
  return changed;
}

/** The daemon's actions that undo a container fault (the container runs again), and those that apply one. */
const UNDO = ['unpause', 'start'];
const APPLY = ['pause', 'die', 'kill', 'stop'];

/**
 * When a container fault was undone, from the daemon's event log: the first unpause or start after the
 * first pause, kill, stop or die since `since`. undefined when the port keeps no log or it shows none.
 */
export async function containerUndoneAt(ports: Ports, h: ContainerHandle, since: string): Promise<Undone | undefined> {
  const log = await ports.containers.events?.(h.containerId, since);
  if (!log) return undefined;
  const applied = log.findIndex((e) => APPLY.includes(e.action));
  const at = log.slice(applied + 1).find((e) => UNDO.includes(e.action))?.at;
  return at ? { at } : undefined;
}

/** After a revert: the container is observed in its state from before the experiment, or the revert fails. */
export async function expectRestored(ports: Ports, h: ContainerHandle, fault: string): Promise<void> {
  const now = await ports.containers.inspect(h.containerId);
  if (!now) return; // removed by someone else: nothing left that could differ
  if (settled(now.state) !== settled(h.wasState))
    throw new RevertIncomplete(
      `${fault} on ${h.containerName} not reverted: the container is ${now.state}, it was ${h.wasState} before the experiment`,
    );
}

/** After an inject: the wanted effect is observed, or the inject fails (and is retried). */
export async function expectEffect(
  ports: Ports,
  h: ContainerHandle,
  fault: string,
  effect: (now: ContainerInfo) => boolean,
  wanted: string,
  waitMs = 0,
): Promise<void> {
  const until = Date.now() + waitMs;
  for (;;) {
    const now = await ports.containers.inspect(h.containerId);
    if (!now) throw new FaultTargetGone(`container ${h.containerName} no longer exists`);
    if (effect(now)) return;
    if (Date.now() >= until)
      throw new FaultNotInEffect(
        `${fault} on ${h.containerName} has no effect: the container is ${now.state}, expected ${wanted}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The main process is not the one from before the fault: it ended, or Docker started a new one. */
export const processEnded = (h: ContainerHandle) => (now: ContainerInfo) =>
  (now.state !== 'running' && now.state !== 'paused') ||
  (!!h.startedAt && !!now.startedAt && now.startedAt !== h.startedAt);
