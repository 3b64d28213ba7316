// The one target-selection function. Pure: no I/O, no clock, no Math.random, so the same fleet and
// seed always give the same choice (the seed is recorded in the journal). It never selects a container
// labelled faultline.protected=true, nor any of the runner's own components (faultline.component).
import type { ContainerInfo } from '../faults/ports.ts';
import type { BlastRadius, Targets } from '../experiments/schema.ts';
import type { SelectedTarget } from '../experiments/journal.ts';
import { InvalidInput } from '../errors.ts';
import { mulberry32 } from '../judge/random.ts';
import { isProtected } from '../faults/groups.ts';
export { COMPONENT_LABEL, PROTECTED_LABEL, isProtected } from '../faults/groups.ts';

export interface Selection {
  /** Running, unprotected containers the selector matches: the fleet the blast radius is measured on. */
  matched: SelectedTarget[];
  selected: SelectedTarget[];
  /** Names the selector matched but that are protected or belong to Faultline itself. */
  protectedSkipped: string[];
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function describeSelector(t: Targets): string {
  const parts: string[] = [];
  if (t.hosts) parts.push(`hosts [${t.hosts.join(', ')}]`);
  if (t.names) parts.push(`names [${t.names.join(', ')}]`);
  if (t.namePattern !== undefined) parts.push(`namePattern /${t.namePattern}/`);
  if (t.labels)
    parts.push(
      `labels {${Object.entries(t.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}}`,
    );
  return parts.length ? parts.join(' and ') : 'any name';
}

function compilePattern(p: string): RegExp {
  try {
    return new RegExp(p);
  } catch (e) {
    throw new InvalidInput(`targets.namePattern: invalid regular expression /${p}/: ${(e as Error).message}`);
  }
}

/** Running, unprotected containers a selector matches, by name (the control-group mode's replicas). */
export function matchReplicas(
  containers: readonly ContainerInfo[],
  sel: Pick<Targets, 'names' | 'namePattern' | 'labels' | 'hosts'>,
): SelectedTarget[] {
  const re = sel.namePattern !== undefined ? compilePattern(sel.namePattern) : undefined;
  return containers
    .filter((c) => c.state === 'running' && !isProtected(c) && matches(c, sel, re))
    .map((c) => ({ id: c.id, name: c.name, ...(c.host !== undefined ? { host: c.host } : {}) }))
    .sort(byLabel);
}

function matches(
  c: ContainerInfo,
  t: Pick<Targets, 'names' | 'namePattern' | 'labels' | 'hosts'>,
  re: RegExp | undefined,
): boolean {
  if (t.hosts && (c.host === undefined || !t.hosts.includes(c.host))) return false;
  if (t.names && !t.names.includes(c.name)) return false;
  if (re && !re.test(c.name)) return false;
  if (t.labels) for (const [k, v] of Object.entries(t.labels)) if (c.labels[k] !== v) return false;
  return true;
}

/** How many containers the mode asks for out of a fleet of `fleet` (before the blast radius). */
function wanted(t: Targets, fleet: number): number {
  switch (t.mode) {
    case 'all':
      return fleet;
    case 'count':
      return Math.min(t.count ?? 1, fleet);
    case 'percent':
      return Math.min(fleet, Math.max(1, Math.ceil((fleet * (t.percent ?? 100)) / 100 - 1e-9)));
    case 'one':
    default:
      return Math.min(1, fleet);
  }
}

/**
 * Chooses the containers a container fault hits. Throws InvalidInput when nothing matches or when the
 * choice would exceed the blast radius; it never narrows a selection silently to fit.
 */
export function selectTargets(
  containers: ContainerInfo[],
  targets: Targets,
  blast: Pick<BlastRadius, 'maxTargets' | 'maxPercent'>,
  seed: number,
): Selection {
  const re = targets.namePattern !== undefined ? compilePattern(targets.namePattern) : undefined;
  // Across a fleet a name can repeat: host and name (then ID) order it, and host and name identify it.
  const byName = [...containers].sort((a, b) => byLabel(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const hits = byName.filter((c) => c.state === 'running' && matches(c, targets, re));
  const protectedSkipped = hits.filter(isProtected).map((c) => c.name);
  const fleet: SelectedTarget[] = hits
    .filter((c) => !isProtected(c))
    .map((c) => ({ id: c.id, name: c.name, ...(c.host !== undefined ? { host: c.host } : {}) }));

  if (fleet.length === 0) {
    const why = protectedSkipped.length
      ? ` (only protected or Faultline containers matched: ${protectedSkipped.join(', ')})`
      : '';
    throw new InvalidInput(`targets: no running container matches ${describeSelector(targets)}${why}`);
  }

  const n = wanted(targets, fleet.length);
  if (n > blast.maxTargets) {
    throw new InvalidInput(
      `blastRadius.maxTargets: selection of ${n} container${n === 1 ? '' : 's'} exceeds maxTargets ${blast.maxTargets}`,
    );
  }
  const pct = (n / fleet.length) * 100;
  if (pct > blast.maxPercent + 1e-9) {
    throw new InvalidInput(
      `blastRadius.maxPercent: selection of ${n} of ${fleet.length} matched containers (${round(pct)}%) exceeds maxPercent ${blast.maxPercent}`,
    );
  }

  const selected = shuffled(fleet, mulberry32(seed)).slice(0, n).sort(byLabel);
  return { matched: fleet, selected, protectedSkipped };
}

/** By name, then host: a single host's order is the name order it always was. */
function byLabel(a: { name: string; host?: string }, b: { name: string; host?: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const ha = a.host ?? '';
  const hb = b.host ?? '';
  return ha < hb ? -1 : ha > hb ? 1 : 0;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * The blast-radius problems visible without a fleet, for validation before anything runs;
 * returns the message or null. (Percent mode can only be checked against the fleet.)
 */
export function checkBlastRadiusStatically(
  targets: Targets,
  blast: Pick<BlastRadius, 'maxTargets' | 'maxPercent'>,
): string | null {
  switch (targets.mode) {
    case 'all':
      if (blast.maxPercent < 100)
        return `blastRadius.maxPercent: mode all selects 100% of the matched fleet, above maxPercent ${blast.maxPercent}`;
      if (targets.names && targets.names.length > blast.maxTargets) {
        return `blastRadius.maxTargets: mode all over ${targets.names.length} named containers exceeds maxTargets ${blast.maxTargets}`;
      }
      return null;
    case 'count':
      if (targets.count !== undefined && targets.count > blast.maxTargets) {
        return `blastRadius.maxTargets: count ${targets.count} exceeds maxTargets ${blast.maxTargets}`;
      }
      return null;
    case 'percent':
      if (targets.percent !== undefined && targets.percent > blast.maxPercent)
        return `blastRadius.maxPercent: percent ${targets.percent} exceeds maxPercent ${blast.maxPercent}`;
      return null;
    case 'one':
    default:
      return null;
  }
}
