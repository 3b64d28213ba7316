// The one list of fault kinds. A new fault is one file plus one line here; the experiment schema's
// discriminated union is built from this list.
import type { AnyFaultKind } from './types.ts';
import { containerKill } from './container-kill.ts';
import { containerStop } from './container-stop.ts';
import { containerRestart } from './container-restart.ts';
import { containerPause } from './container-pause.ts';
import { networkPartition } from './network-partition.ts';
import { networkLoss } from './network-loss.ts';
import { networkSplit } from './network-split.ts';
import { networkBandwidth } from './network-bandwidth.ts';
import { stressCpu } from './stress-cpu.ts';
import { stressMemory } from './stress-memory.ts';
import { stressIo } from './stress-io.ts';
import { processKill } from './process-kill.ts';
import { processStop } from './process-stop.ts';
import { diskFill } from './disk-fill.ts';
import { dnsError } from './dns-error.ts';
import { dnsSpoof } from './dns-spoof.ts';
import { proxyLatency } from './proxy-latency.ts';
import { proxyPartition } from './proxy-partition.ts';
import { proxyBandwidth } from './proxy-bandwidth.ts';
import { proxyReset } from './proxy-reset.ts';
import { httpDelay } from './http-delay.ts';
import { httpAbort } from './http-abort.ts';

export const faultKinds = [
  containerKill,
  containerStop,
  containerRestart,
  containerPause,
  networkPartition,
  networkLoss,
  networkSplit,
  networkBandwidth,
  stressCpu,
  stressMemory,
  stressIo,
  processKill,
  processStop,
  diskFill,
  dnsError,
  dnsSpoof,
  proxyLatency,
  proxyPartition,
  proxyBandwidth,
  proxyReset,
  httpDelay,
  httpAbort,
] as const satisfies readonly AnyFaultKind[];

/** Each kind's spec schema, in registry order, as a tuple (not an array) so the experiment schema's
 * discriminated union keeps every kind's own type. */
export const faultSpecs = specsOf(faultKinds);

function specsOf<const T extends readonly AnyFaultKind[]>(kinds: T): { [I in keyof T]: T[I]['spec'] } {
  // Array.prototype.map cannot express a tuple-to-tuple mapping; the mapped type states it.
  return kinds.map((k) => k.spec) as { [I in keyof T]: T[I]['spec'] };
}

const byName = new Map<string, AnyFaultKind>(faultKinds.map((k) => [k.name, k]));

export function faultKind(name: string): AnyFaultKind | undefined {
  return byName.get(name);
}
