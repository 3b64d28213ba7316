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
        p.type === 'http' && p.requests !== undefined && p.duration !== undefined
          ? [{ path: [section, 'probes', i, 'duration'], message: 'give requests or duration, not both' }]
          : [],
      ),
    ),
};

/** Both the probe's events and the judge's metrics: exactly one of bad and good. */
function eventsForm(ev: { bad?: string; good?: string }, path: (string | number)[]): Violation[] {
  if (ev.bad !== undefined && ev.good !== undefined)
    return [{ path: [...path, 'good'], message: 'give bad or good, not both' }];
  if (ev.bad === undefined && ev.good === undefined)
    return [{ path, message: 'give bad (bad-event counter) or good (good-event counter) next to total' }];
  return [];
}

const prometheusProbeForm: Rule = {
  name: 'prometheus-probe-form',
  check: (e) =>
    (
      [
        ['hypothesis', e.hypothesis.probes],
        ['guard', e.guard?.probes ?? []],
      ] as const
    ).flatMap(([section, probes]) =>
      probes.flatMap((p, i): Violation[] => {
        if (p.type !== 'prometheus') return [];
        const at = [section, 'probes', i];
        if (p.events && p.query !== undefined)
          return [{ path: [...at, 'query'], message: 'give events or query, not both' }];
        if (!p.events && p.query === undefined)
          return [{ path: at, message: 'give events (total and bad or good counters) or query (a gauge)' }];
        if (p.events) {
          const extra = (['min', 'max'] as const).find((k) => p[k] !== undefined);
          if (extra)
            return [{ path: [...at, extra], message: `${extra} is for the query form; events use maxBadRate` }];
          return eventsForm(p.events, [...at, 'events']);
        }
        if (p.maxBadRate !== undefined)
          return [
            { path: [...at, 'maxBadRate'], message: 'maxBadRate is for the events form; query uses min and max' },
          ];
        if (p.min !== undefined && p.max !== undefined && p.min > p.max)
          return [{ path: [...at, 'min'], message: `min ${p.min} is above max ${p.max}` }];
        return [];
      }),
    ),
};

const judgeForm: Rule = {
  name: 'judge-form',
  check: (e) => {
    const j = e.judge;
    if (!j) return [];
    const out: Violation[] = [];
    const seen = new Set<string>();
    j.metrics.forEach((m, i) => {
      out.push(...eventsForm(m.events, ['judge', 'metrics', i, 'events']));
      if (seen.has(m.name))
        out.push({ path: ['judge', 'metrics', i, 'name'], message: `duplicate metric "${m.name}"` });
      seen.add(m.name);
    });
    if (j.thresholds.marginal > j.thresholds.pass)
      out.push({ path: ['judge', 'thresholds', 'marginal'], message: 'marginal must not be above pass' });
    const window = Math.max(...e.method.map((f) => durationMs(f.duration)));
    const iv = durationMs(j.interval);
    if (iv < 100) out.push({ path: ['judge', 'interval'], message: 'must be at least 100ms' });
    else if (iv > window)
      out.push({
        path: ['judge', 'interval'],
        message: `interval ${j.interval} is longer than the fault window; the judge would never tick`,
      });
    return out;
  },
};

export const rules: Rule[] = [
  prometheusProbeForm,
  judgeForm,
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
