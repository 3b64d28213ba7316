// Planning, pure: the experiment, the containers on the daemon and the routes on the fault proxy in,
// the fault records out. No I/O, no clock, no Math.random (the seed is recorded in history), so the
// planFaults activity is a thin call over the ports and property tests can run it on in-memory data.
// A route that does not exist or a blast radius the choice would exceed is InvalidInput: the run is
// `not-started` and nothing is injected.
import type { ContainerInfo } from '../faults/ports.ts';
import { faultKind } from '../faults/registry.ts';
import type { Experiment } from '../experiments/schema.ts';
import { faultRoutes, routesOf } from '../experiments/routes.ts';
import { plannedSteps, specAtShare, stepsText } from '../experiments/exposure.ts';
import type { SelectedTarget } from '../experiments/journal.ts';
import { InvalidInput, UnknownFaultKind } from '../errors.ts';
import { describeGroup, groupMembers } from '../faults/groups.ts';
import { matchReplicas, selectTargets, type Selection } from './targets.ts';

export { faultRoutes, routesOf };

/** Control-group mode: the service's replicas split into the faulted ones and the untouched ones. */
export interface Groups {
  experiment: string[];
  control: string[];
  /** The control replicas as containers (admission holds them read-only); absent in plans from before. */
  controlTargets?: SelectedTarget[];
}

export interface FaultPlan {
  selection?: Selection;
  groups?: Groups;
  /** Distinct fault proxy routes the method touches (proxy.* and http.* faults). */
  routes?: string[];
  faults: { faultIndex: number; kind: string; target?: SelectedTarget; summary: string }[];
}

/** Whether a fault hits the containers the experiment's targets select (a kind with groups of its own does not). */
export function needsContainers(e: Pick<Experiment, 'method'>): boolean {
  return e.method.some((f) => {
    const k = faultKind(f.kind);
    return !!k?.needsContainer && !k.groups;
  });
}

/** Whether a fault chooses containers by selectors of its own (network.split's groups). */
export function hasGroups(e: Pick<Experiment, 'method'>): boolean {
  return e.method.some((f) => !!faultKind(f.kind)?.groups);
}

/**
 * Whether planning reads the daemon's containers: to select targets, to match a fault's own groups, or to
 * split the control group's replicas.
 */
export function needsFleet(e: Pick<Experiment, 'method' | 'targets' | 'judge'>): boolean {
  return (needsContainers(e) && !!e.targets) || hasGroups(e) || !!e.judge?.controlGroup;
}

/**
 * The members of each fault's own groups (network.split's from and to), per method index: every running,
 * unprotected container each selector matches. InvalidInput (nothing injected) names the fault's field when a
 * group matches nothing, when a container is in both groups, or when the groups span more than one host.
 */
export function planGroupMembers(
  e: Pick<Experiment, 'method'>,
  containers: readonly ContainerInfo[],
): Map<number, SelectedTarget[]> {
  const out = new Map<number, SelectedTarget[]>();
  e.method.forEach((spec, i) => {
    const groups = faultKind(spec.kind)?.groups?.(spec);
    if (!groups) return;
    const seen = new Map<string, string>();
    const members: SelectedTarget[] = [];
    for (const g of groups) {
      const hit = groupMembers(containers, g.selector);
      if (!hit.length)
        throw new InvalidInput(
          `method.${i}.${g.field}: no running container matches ${describeGroup(g.selector)}, so the group is empty`,
        );
      for (const c of hit) {
        const key = `${c.host ?? ''}/${c.id}`;
        const first = seen.get(key);
        if (first !== undefined)
          throw new InvalidInput(
            `method.${i}.${g.field}: ${c.name} is in group ${first} too: the two groups must not overlap`,
          );
        seen.set(key, g.field);
        members.push({ id: c.id, name: c.name, ...(c.host !== undefined ? { host: c.host } : {}) });
      }
    }
    const hosts = [...new Set(members.map((m) => m.host ?? ''))];
    if (hosts.length > 1)
      throw new InvalidInput(
        `method.${i}: the groups span the hosts ${hosts.join(', ')}; ${spec.kind} acts within one host's networks: choose both groups on one host`,
      );
    out.set(i, members);
  });
  return out;
}

/** Control-group mode with proxy or HTTP faults: their routes' upstreams name the replicas they hit. */
export function needsUpstreams(e: Pick<Experiment, 'method' | 'judge'>): boolean {
  return !!e.judge?.controlGroup && routesOf(e).length > 0;
}

/**
 * Control-group mode: the replicas (judge.controlGroup.replicas, else the targets selector) that a fault
 * hits are the experiment group (a container fault's selected targets; a proxy or HTTP fault's route
 * leads to the replica named by its upstream host), the other replicas the control group. Throws
 * InvalidInput (so nothing is injected) when no fault hits a replica or when no replica is left over.
 */
export function planGroups(
  e: Experiment,
  containers: readonly ContainerInfo[],
  selected: readonly SelectedTarget[],
  routeUpstreams: Readonly<Record<string, string>>,
): Groups {
  const cg = e.judge?.controlGroup;
  const sel = cg?.replicas ?? e.targets;
  if (!cg || !sel) throw new InvalidInput('judge.controlGroup: no selector for the replicas');
  const matched = matchReplicas(containers, sel);
  const replicas = matched.map((c) => c.name);
  const where = cg.replicas ? 'judge.controlGroup.replicas' : 'targets';
  if (!replicas.length) throw new InvalidInput(`${where}: no running replica matches, so there is no group to judge`);
  const hit = new Set(selected.map((t) => t.name));
  for (const r of routesOf(e)) {
    const host = (routeUpstreams[r] ?? '').replace(/:\d+$/, '');
    if (host) hit.add(host);
  }
  const experiment = replicas.filter((n) => hit.has(n));
  const control = replicas.filter((n) => !hit.has(n));
  if (!experiment.length)
    throw new InvalidInput(
      `judge.controlGroup: no fault hits one of the replicas ${replicas.join(', ')} (${where}), so there is no experiment group`,
    );
  if (!control.length)
    throw new InvalidInput(
      `judge.controlGroup: every matched replica (${replicas.join(', ')}) is faulted, so the control group is empty: select fewer targets or more replicas (${where})`,
    );
  const controlTargets = matched
    .filter((c) => !hit.has(c.name))
    .map((c) => ({ id: c.id, name: c.name, ...(c.host ? { host: c.host } : {}) }));
  return { experiment, control, controlTargets };
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
  routeUpstreams: Readonly<Record<string, string>> = {},
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
  const grouped = planGroupMembers(e, containers);
  // Every container counts once, whether the targets selected it or a fault's group holds it (both sides
  // of a partition count).
  const hitContainers = new Set(
    [...(selection?.selected ?? []), ...[...grouped.values()].flat()].map((c) => `${c.host ?? ''}/${c.id}`),
  ).size;
  const hit = hitContainers + used.length;
  if (hit > e.blastRadius.maxTargets) {
    throw new InvalidInput(
      `blastRadius.maxTargets: ${hitContainers} container(s) and ${used.length} proxy route(s) make ${hit} targets, above maxTargets ${e.blastRadius.maxTargets}`,
    );
  }
  const faults: FaultPlan['faults'] = [];
  e.method.forEach((spec, faultIndex) => {
    const k = faultKind(spec.kind);
    if (!k) throw new UnknownFaultKind(`unknown fault kind ${spec.kind}`);
    const targets = k.needsContainer ? (grouped.get(faultIndex) ?? selection?.selected ?? []) : [undefined];
    for (const target of targets)
      faults.push({
        faultIndex,
        kind: spec.kind,
        target,
        summary: exposedSummary(
          spec,
          k.describe(
            spec.exposure ? specAtShare(spec, spec.exposure.steps[0]?.share ?? 0) : spec,
            target ? { container: target } : {},
          ),
        ),
      });
  });
  const groups = e.judge?.controlGroup
    ? planGroups(e, containers, selection?.selected ?? [], routeUpstreams)
    : undefined;
  return { selection, ...(groups ? { groups } : {}), ...(used.length ? { routes: used } : {}), faults };
}

/** A progressive exposure's summary says it starts at its first step and how it grows. */
function exposedSummary(spec: Experiment['method'][number], text: string): string {
  return spec.exposure ? `${text}, exposed in steps ${stepsText(plannedSteps(spec))}` : text;
}
