// Planning, pure: the experiment, the containers on the daemon and the routes on the fault proxy in,
// the fault records out. No I/O, no clock, no Math.random (the seed is recorded in history), so the
// planFaults activity is a thin call over the ports and property tests can run it on in-memory data.
// A route that does not exist or a blast radius the choice would exceed is InvalidInput: the run is
// `not-started` and nothing is injected.
import type { ContainerInfo } from '../faults/ports.ts';
import { faultKind } from '../faults/registry.ts';
import type { Experiment } from '../experiments/schema.ts';
import { faultRoutes, routesOf } from '../experiments/routes.ts';
import type { SelectedTarget } from '../experiments/journal.ts';
import { InvalidInput, UnknownFaultKind } from '../errors.ts';
import { selectTargets, type Selection } from './targets.ts';

export { faultRoutes, routesOf };

export interface FaultPlan {
  selection?: Selection;
  /** Distinct fault proxy routes the method touches (proxy.* and http.* faults). */
  routes?: string[];
  faults: { faultIndex: number; kind: string; target?: SelectedTarget; summary: string }[];
}

export function needsContainers(e: Pick<Experiment, 'method'>): boolean {
  return e.method.some((f) => faultKind(f.kind)?.needsContainer);
}

/**
 * containers: the daemon's list (only read when a fault needs containers); routes: the proxy's route
 * names (only read when a fault names routes). Throws InvalidInput when a route is missing, when nothing
 * matches the selector, or when containers plus routes exceed the blast radius.
 */
export function planFaults(
  e: Experiment,
  containers: readonly ContainerInfo[],
  routes: readonly string[],
  seed: number,
): FaultPlan {
  const used = routesOf(e);
  if (used.length) {
    const known = new Set(routes);
    const missing: string[] = [];
    e.method.forEach((f, i) => {
      for (const r of faultRoutes(f)) if (!known.has(r)) missing.push(`method.${i}.proxy: no fault proxy route "${r}"`);
    });
    if (missing.length) {
      const have = [...routes].sort();
      throw new InvalidInput(
        `${missing.join('; ')} (the proxy has ${have.length ? have.slice(0, 20).join(', ') + (have.length > 20 ? ', …' : '') : 'no routes'})`,
      );
    }
  }
  const selection =
    needsContainers(e) && e.targets ? selectTargets([...containers], e.targets, e.blastRadius, seed) : undefined;
  const hit = (selection?.selected.length ?? 0) + used.length;
  if (hit > e.blastRadius.maxTargets) {
    throw new InvalidInput(
      `blastRadius.maxTargets: ${selection?.selected.length ?? 0} container(s) and ${used.length} proxy route(s) make ${hit} targets, above maxTargets ${e.blastRadius.maxTargets}`,
    );
  }
  const faults: FaultPlan['faults'] = [];
  e.method.forEach((spec, faultIndex) => {
    const k = faultKind(spec.kind);
    if (!k) throw new UnknownFaultKind(`unknown fault kind ${spec.kind}`);
    const targets = k.needsContainer ? (selection?.selected ?? []) : [undefined];
    for (const target of targets)
      faults.push({
        faultIndex,
        kind: spec.kind,
        target,
        summary: k.describe(spec, target ? { container: target } : {}),
      });
  });
  return { selection, ...(used.length ? { routes: used } : {}), faults };
}
