// The container fault kinds' one implementation: the handle (the state before the experiment), bringing
// the container back to that state, and checking it, so every revert is observed and not assumed. What sets
// one kind apart (its Docker call, when the call is still due, the effect it waits for) is a row given to
// containerKind by the kind's own file.
import type { z } from 'zod';
import type { ContainerInfo, Ports } from './ports.ts';
import type { FaultKind, FaultSpecSchema, FaultTarget, Undone } from './types.ts';
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

/** A container kind's row: everything else (prepare, revert and its check, undoneAt) is shared. */
export interface ContainerKindRow<Spec extends FaultSpecSchema> {
  name: z.output<Spec>['kind'];
  spec: Spec;
  /** The verb in messages ("pause on api-2 has no effect ..."). */
  verb: string;
  describe(spec: z.output<Spec>, target: FaultTarget): string;
  /** The container as found at inject still needs the Docker call (false: a retried inject found it done). */
  due(now: ContainerInfo, h: ContainerHandle): boolean;
  act(ports: Ports, spec: z.output<Spec>, h: ContainerHandle): Promise<void>;
  /** The effect the inject waits for, if it can be observed (a caught signal's cannot). */
  effect?(
    spec: z.output<Spec>,
    h: ContainerHandle,
  ): { holds: (now: ContainerInfo) => boolean; wanted: string; waitMs?: number } | undefined;
}

/** A container fault kind from its row. */
export function containerKind<Spec extends FaultSpecSchema>(
  row: ContainerKindRow<Spec>,
): FaultKind<Spec, ContainerHandle> {
  return {
    name: row.name,
    spec: row.spec,
    needsContainer: true,
    describe: row.describe,
    prepare: async (ports, _s, t) => containerOf(ports, t),
    inject: async (ports, s, h) => {
      const now = await ports.containers.inspect(h.containerId);
      if (now && row.due(now, h)) await row.act(ports, s, h);
      const e = row.effect?.(s, h);
      if (e) await expectEffect(ports, h, row.verb, e.holds, e.wanted, e.waitMs);
    },
    revert: async (ports, h) => {
      const changed = await restoreState(ports, h);
      await expectRestored(ports, h, row.verb);
      return { changed };
    },
    undoneAt: containerUndoneAt,
  };
}

/**
 * Due for a kind that ends the main process (stop, kill, restart): it is up (running or paused) and still the
 * process from before the fault. Down already, or a new process since prepare: a retried inject, done.
 */
export const upAsBefore = (now: ContainerInfo, h: ContainerHandle): boolean =>
  (now.state === 'running' || now.state === 'paused') && !processEnded(h)(now);
