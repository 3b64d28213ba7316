// The fault proxy routes an experiment touches, pure: validation counts them against the blast radius and
// planning checks that each exists.
import type { Experiment, FaultEntry } from './schema.ts';

/** Proxy routes a fault entry names (its `proxy` field), in order, without repeats. */
export function faultRoutes(f: FaultEntry): string[] {
  const p = 'proxy' in f ? f.proxy : undefined;
  const list =
    typeof p === 'string' ? [p] : Array.isArray(p) ? p.filter((x): x is string => typeof x === 'string') : [];
  return [...new Set(list)];
}

/** Every distinct proxy route of the method, in first-use order. */
export function routesOf(e: Pick<Experiment, 'method'>): string[] {
  return [...new Set(e.method.flatMap(faultRoutes))];
}
