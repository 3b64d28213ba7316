// The one list of fault kinds. A new fault is one file plus one line here; the experiment schema's
// discriminated union is built from this list.
import type { AnyFaultKind } from './types.ts';
import { containerKill } from './container-kill.ts';
import { containerStop } from './container-stop.ts';
import { containerRestart } from './container-restart.ts';
import { containerPause } from './container-pause.ts';
import { networkPartition } from './network-partition.ts';

export const faultKinds = [
  containerKill,
  containerStop,
  containerRestart,
  containerPause,
  networkPartition,
] as const satisfies readonly AnyFaultKind[];

const byName = new Map<string, AnyFaultKind>(faultKinds.map((k) => [k.name, k]));

export function faultKind(name: string): AnyFaultKind | undefined {
  return byName.get(name);
}
