// Shared pieces of the container fault kinds: the handle and "bring it back to how it was".
import type { Ports } from './ports.ts';
import type { FaultTarget } from './types.ts';
import { FaultTargetGone } from '../errors.ts';

export interface ContainerHandle extends Record<string, unknown> {
  containerId: string;
  containerName: string;
  /** State before the fault, so revert restores exactly that. */
  wasState: string;
}

export async function containerOf(ports: Ports, t: FaultTarget): Promise<ContainerHandle> {
  if (!t.container) throw new FaultTargetGone('this fault needs a container target');
  const info = await ports.containers.inspect(t.container.id);
  if (!info) throw new FaultTargetGone(`container ${t.container.name} no longer exists`);
  return { containerId: info.id, containerName: info.name, wasState: info.state };
}

/** Idempotent: a container that runs already, or that was not running before the fault, is left alone. */
export async function ensureRunning(ports: Ports, h: ContainerHandle): Promise<void> {
  if (h.wasState !== 'running') return;
  const now = await ports.containers.inspect(h.containerId);
  if (!now) return; // removed by someone else: nothing left to revert
  if (now.state === 'paused') await ports.containers.unpause(h.containerId);
  else if (now.state !== 'running' && now.state !== 'restarting') await ports.containers.start(h.containerId);
}
