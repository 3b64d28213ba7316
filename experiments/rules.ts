// Cross-field rules: small, named, each returns the violations it finds. Run after the schema.
import type { Experiment } from './schema.ts';
import { durationMs } from '../faults/duration.ts';
import { faultKind } from '../faults/registry.ts';

export interface Violation {
  path: (string | number)[];
  message: string;
}
export interface Rule {
  name: string;
  check(e: Experiment): Violation[];
}

const containerFaultsNeedTargets: Rule = {
  name: 'container-faults-need-targets',
  check: (e) =>
    e.method.some((f) => faultKind(f.kind)?.needsContainer) && !e.targets
      ? [
          {
            path: ['targets'],
            message: `required: method uses ${e.method
              .filter((f) => faultKind(f.kind)?.needsContainer)
              .map((f) => f.kind)
              .join(', ')}, which needs target containers`,
          },
        ]
      : [],
};

const selectorPresent: Rule = {
  name: 'selector-present',
  check: (e) => {
    const t = e.targets;
    if (!t || t.names || t.namePattern || t.labels) return [];
    return [{ path: ['targets'], message: 'give at least one of names, namePattern or labels' }];
  },
};

const modeNeedsValue: Rule = {
  name: 'mode-needs-value',
  check: (e) => {
    const t = e.targets;
    if (!t) return [];
    if (t.mode === 'count' && t.count === undefined)
      return [{ path: ['targets', 'mode'], message: 'mode count needs targets.count' }];
    if (t.mode === 'percent' && t.percent === undefined)
      return [{ path: ['targets', 'mode'], message: 'mode percent needs targets.percent' }];
    if (t.mode !== 'count' && t.count !== undefined)
      return [{ path: ['targets', 'count'], message: `count is only used with mode: count (mode is ${t.mode})` }];
    if (t.mode !== 'percent' && t.percent !== undefined)
      return [{ path: ['targets', 'percent'], message: `percent is only used with mode: percent (mode is ${t.mode})` }];
    return [];
  },
};

const patternCompiles: Rule = {
  name: 'pattern-compiles',
  check: (e) => {
    const p = e.targets?.namePattern;
    if (p === undefined) return [];
    try {
      new RegExp(p);
      return [];
    } catch (err) {
      return [
        { path: ['targets', 'namePattern'], message: `not a valid regular expression: ${(err as Error).message}` },
      ];
    }
  },
};

const blastRadiusAllows: Rule = {
  name: 'blast-radius-allows-selection',
  check: (e) => {
    const t = e.targets;
    const b = e.blastRadius;
    if (!t) return [];
    if (t.mode === 'count' && t.count !== undefined && t.count > b.maxTargets)
      return [
        {
          path: ['targets', 'count'],
          message: `selects ${t.count} containers but blastRadius.maxTargets is ${b.maxTargets}`,
        },
      ];
    if (t.mode === 'percent' && t.percent !== undefined && t.percent > b.maxPercent)
      return [
        {
          path: ['targets', 'percent'],
          message: `selects ${t.percent}% of the fleet but blastRadius.maxPercent is ${b.maxPercent}`,
        },
      ];
    if (t.mode === 'all' && b.maxPercent < 100)
      return [
        {
          path: ['targets', 'mode'],
          message: `mode all hits 100% of the fleet but blastRadius.maxPercent is ${b.maxPercent}`,
        },
      ];
    if (t.names && t.mode === 'all' && t.names.length > b.maxTargets)
      return [
        {
          path: ['targets', 'names'],
          message: `names ${t.names.length} containers with mode all but blastRadius.maxTargets is ${b.maxTargets}`,
        },
      ];
    return [];
  },
};

const positiveDurations: Rule = {
  name: 'positive-durations',
  check: (e) =>
    e.method.flatMap((f, i) =>
      durationMs(f.duration) <= 0 ? [{ path: ['method', i, 'duration'], message: 'must be greater than zero' }] : [],
    ),
};

const guardFitsWindow: Rule = {
  name: 'guard-interval-fits-window',
  check: (e) => {
    if (!e.guard) return [];
    const window = Math.max(...e.method.map((f) => durationMs(f.duration)));
    const iv = durationMs(e.guard.interval);
    if (iv < 50) return [{ path: ['guard', 'interval'], message: 'must be at least 50ms' }];
    return iv > window
      ? [
          {
            path: ['guard', 'interval'],
            message: `interval ${e.guard.interval} is longer than the fault window; the guard would never sample`,
          },
        ]
      : [];
  },
};

const uniqueProbeNames: Rule = {
  name: 'unique-probe-names',
  check: (e) => {
    const out: Violation[] = [];
    for (const [section, probes] of [
      ['hypothesis', e.hypothesis.probes],
      ['guard', e.guard?.probes ?? []],
    ] as const) {
      const seen = new Set<string>();
      probes.forEach((p, i) => {
        if (seen.has(p.name))
          out.push({ path: [section, 'probes', i, 'name'], message: `duplicate probe name "${p.name}"` });
        seen.add(p.name);
      });
    }
    return out;
  },
};

const requestsOrDuration: Rule = {
  name: 'requests-or-duration',
  check: (e) =>
    (
      [
        ['hypothesis', e.hypothesis.probes],
        ['guard', e.guard?.probes ?? []],
      ] as const
    ).flatMap(([section, probes]) =>
      probes.flatMap((p, i) =>
        p.requests !== undefined && p.duration !== undefined
          ? [{ path: [section, 'probes', i, 'duration'], message: 'give requests or duration, not both' }]
          : [],
      ),
    ),
};

export const rules: Rule[] = [
  containerFaultsNeedTargets,
  selectorPresent,
  modeNeedsValue,
  patternCompiles,
  blastRadiusAllows,
  positiveDurations,
  guardFitsWindow,
  uniqueProbeNames,
  requestsOrDuration,
];
