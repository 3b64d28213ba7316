// Cross-field rules: small, named, each returns the violations it finds. Run after the schema.
import { GROUP_PLACEHOLDER, type Experiment, type FaultEntry, type Probe } from './schema.ts';
import { faultRoutes } from './routes.ts';
import { formatBound } from '../faults/common-schema.ts';
import { ACTIVITY_SLACK_MS, DEFAULT_PROBE_REQUESTS, PROBE_ACTIVITY_MS } from '../faults/limits.ts';
import { durationMs } from '../faults/duration.ts';
import { faultKind } from '../faults/registry.ts';
import { guardCadenceMs, ON_TIME_MS } from './coverage.ts';

import type { Rule as DocumentRule, Violation } from './document.ts';

export type { Violation };
export type Rule = DocumentRule<Experiment>;

/** A container fault that hits the targets' selection (not one choosing its own groups, as network.split does). */
const onTargets = (f: FaultEntry): boolean => {
  const k = faultKind(f.kind);
  return !!k?.needsContainer && !k.groups;
};

const containerFaultsNeedTargets: Rule = {
  name: 'container-faults-need-targets',
  check: (e) =>
    e.method.some(onTargets) && !e.targets
      ? [
          {
            path: ['targets'],
            message: `required: method uses ${e.method
              .filter(onTargets)
              .map((f) => f.kind)
              .join(', ')}, which needs target containers`,
          },
        ]
      : [],
};

/** Containers a fault's own groups are known to hold without the fleet: their name lists (at least 1 each). */
function groupCount(f: FaultEntry): number {
  const groups = faultKind(f.kind)?.groups?.(f) ?? [];
  return groups.reduce((n, g) => n + (g.selector.names?.length ?? 1), 0);
}

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

/** Names a pattern must not match all of: if it does, it selects every container there is. */
const ANY_NAMES = ['a', 'Z', '0', '-', 'api-1', 'faultline-proxy', 'db_2.prod', 'x'.repeat(64)];

const patternCompiles: Rule = {
  name: 'pattern-compiles-and-selects-something-specific',
  check: (e) => {
    const p = e.targets?.namePattern;
    if (p === undefined) return [];
    let re: RegExp;
    try {
      re = new RegExp(p);
    } catch (err) {
      return [
        { path: ['targets', 'namePattern'], message: `not a valid regular expression: ${(err as Error).message}` },
      ];
    }
    return ANY_NAMES.every((n) => re.test(n))
      ? [
          {
            path: ['targets', 'namePattern'],
            message: `/${p}/ matches every container name: give a pattern that selects something specific`,
          },
        ]
      : [];
  },
};

/** Containers the selector is known to pick without seeing the fleet (at least 1 when it picks any). */
function knownContainerCount(e: Experiment): number {
  const t = e.targets;
  const groups = Math.max(0, ...e.method.map(groupCount));
  if (!t || !e.method.some(onTargets)) return groups;
  if (t.mode === 'count') return Math.max(groups, t.count ?? 1);
  if (t.mode === 'all' && t.names) return Math.max(groups, t.names.length);
  return Math.max(groups, 1);
}

const blastRadiusAllows: Rule = {
  name: 'blast-radius-allows-selection',
  check: (e) => {
    const t = e.targets;
    const b = e.blastRadius;
    if (t?.mode === 'count' && t.count !== undefined && t.count > b.maxTargets)
      return [
        {
          path: ['targets', 'count'],
          message: `selects ${t.count} containers but blastRadius.maxTargets is ${b.maxTargets}`,
        },
      ];
    if (t?.mode === 'percent' && t.percent !== undefined && t.percent > b.maxPercent)
      return [
        {
          path: ['targets', 'percent'],
          message: `selects ${t.percent}% of the fleet but blastRadius.maxPercent is ${b.maxPercent}`,
        },
      ];
    if (t?.mode === 'all' && b.maxPercent < 100)
      return [
        {
          path: ['targets', 'mode'],
          message: `mode all hits 100% of the fleet but blastRadius.maxPercent is ${b.maxPercent}`,
        },
      ];
    if (t?.names && t.mode === 'all' && t.names.length > b.maxTargets)
      return [
        {
          path: ['targets', 'names'],
          message: `names ${t.names.length} containers with mode all but blastRadius.maxTargets is ${b.maxTargets}`,
        },
      ];
    // A fault's own groups: both sides of a partition count.
    for (const [i, f] of e.method.entries()) {
      const n = groupCount(f);
      if (n > b.maxTargets)
        return [
          {
            path: ['method', i, 'kind'],
            message: `${f.kind}'s groups hold at least ${n} containers (both sides count) but blastRadius.maxTargets is ${b.maxTargets}`,
          },
        ];
    }
    // Proxy routes count too: the fault that brings the total past maxTargets is named.
    const containers = knownContainerCount(e);
    const seen = new Set<string>();
    for (const [i, f] of e.method.entries()) {
      for (const r of faultRoutes(f)) seen.add(r);
      if (containers + seen.size > b.maxTargets)
        return [
          {
            path: ['method', i, 'proxy'],
            message: `the method touches ${seen.size} proxy route${seen.size === 1 ? '' : 's'} (${[...seen].slice(0, 5).join(', ')}${seen.size > 5 ? ', …' : ''})${containers ? ` and ${containers} container${containers === 1 ? '' : 's'}` : ''} but blastRadius.maxTargets is ${b.maxTargets}: every container and route counts`,
          },
        ];
    }
    return [];
  },
};

/**
 * The share of traffic (0..100) a proxy or HTTP fault touches (a progressive exposure: its largest step, with
 * the path of that step); undefined for container faults.
 */
export function trafficPercent(f: FaultEntry): { percent: number; field: string | (string | number)[] } | undefined {
  if (faultKind(f.kind)?.needsContainer) return undefined;
  const steps = f.exposure?.steps;
  if (steps?.length) {
    const i = steps.reduce((best, s, k) => (s.share > (steps[best]?.share ?? 0) ? k : best), 0);
    return { percent: steps[i]?.share ?? 0, field: ['exposure', 'steps', i] };
  }
  if ('percentage' in f && typeof f.percentage === 'number') return { percent: f.percentage, field: 'percentage' };
  if ('toxicity' in f && typeof f.toxicity === 'number') return { percent: f.toxicity * 100, field: 'toxicity' };
  return { percent: 100, field: 'kind' }; // a partition cuts every connection on the route
}

const trafficWithinBlastRadius: Rule = {
  name: 'traffic-within-blast-radius',
  check: (e) =>
    e.method.flatMap((f, i) => {
      const t = trafficPercent(f);
      const max = e.blastRadius.maxTrafficPercent;
      if (!t || t.percent <= max + 1e-9) return [];
      return [
        {
          path: ['method', i, ...[t.field].flat()],
          message: `${f.kind} touches ${+t.percent.toFixed(2)}% of the traffic on its routes${f.exposure ? ' at its largest step' : ''} but blastRadius.maxTrafficPercent is ${max}`,
        },
      ];
    }),
};

/**
 * Progressive exposure (faults/common-schema.ts exposureField): only a proxy or HTTP fault's share of traffic can
 * grow; one fault per method (a judge cannot tell two growing faults apart); the steps increase; every step
 * has a hold and the holds fit the fault's duration; each step lasts at least one judge tick, and there is a
 * judge to judge it; the steps replace the fault's own percentage or toxicity.
 */
const exposureForm: Rule = {
  name: 'exposure-grows-a-traffic-fault-in-judged-steps',
  check: (e) => {
    const out: Violation[] = [];
    let first: number | undefined;
    e.method.forEach((f, i) => {
      const x = f.exposure;
      if (!x) return;
      const at = (...p: (string | number)[]) => ['method', i, 'exposure', ...p];
      if (faultKind(f.kind)?.needsContainer) {
        out.push({
          path: at(),
          message: `${f.kind} acts on whole containers: exposure grows a share of traffic, so only proxy.* and http.* faults take it`,
        });
        return;
      }
      if (f.kind === 'proxy.partition' && f.mode === 'down') {
        out.push({ path: at(), message: 'mode down takes the whole route down: it has no share of traffic to grow' });
        return;
      }
      if (first !== undefined)
        out.push({
          path: at(),
          message: `method.${first} grows in steps already: one fault per method may (the judge could not tell which step of which fault failed)`,
        });
      first ??= i;
      const field = 'percentage' in f ? 'percentage' : 'toxicity' in f ? 'toxicity' : undefined;
      const own =
        field === 'percentage'
          ? (f as { percentage: number }).percentage
          : field === 'toxicity'
            ? (f as { toxicity: number }).toxicity
            : undefined;
      if (field && own !== (field === 'percentage' ? 100 : 1))
        out.push({
          path: ['method', i, field],
          message: `leave ${field} out: each step of exposure gives the share of traffic`,
        });
      x.steps.forEach((s, k) => {
        const prev = x.steps[k - 1];
        if (prev && !(s.share > prev.share))
          out.push({
            path: at('steps', k),
            message: `${s.share}% does not grow from the step before (${prev.share}%): steps must increase`,
          });
        if (!s.hold && !x.hold)
          out.push({ path: at('steps', k), message: 'no hold: give exposure.hold, or a hold for this step' });
      });
      const total = durationMs(f.duration);
      const holds = x.steps.map((s) => durationMs(s.hold ?? x.hold ?? '0ms'));
      const sum = holds.reduce((a, b) => a + b, 0);
      if (holds.every((h) => h > 0) && sum > total)
        out.push({
          path: ['method', i, 'duration'],
          message: `the steps hold ${formatBound(sum)} together, longer than the fault's duration ${f.duration}: make duration at least ${formatBound(sum)} (the last step lasts the rest of it)`,
        });
      const judge = e.judge;
      if (!judge)
        out.push({
          path: at(),
          message: "each step is judged by the judge's e-process before the next begins: add a judge section",
        });
      else {
        const tick = durationMs(judge.interval);
        holds.forEach((h, k) => {
          if (h > 0 && h < tick)
            out.push({
              path: at('steps', k),
              message: `held ${formatBound(h)}, shorter than one judge tick (judge.interval ${judge.interval}): the step would never be judged`,
            });
        });
      }
    });
    return out;
  },
};

/** The fault window: the longest fault duration. */
function windowMs(e: Experiment): number {
  return Math.max(...e.method.map((f) => durationMs(f.duration)));
}

/** The longest one sample of a probe can take: every request timing out (http), or its window (prometheus). */
export function probeWorstMs(p: Probe): number {
  if (p.type === 'prometheus') return durationMs(p.window);
  const timeout = durationMs(p.timeout);
  if (p.duration !== undefined) return durationMs(p.duration) + timeout;
  return Math.ceil((p.requests ?? DEFAULT_PROBE_REQUESTS) / p.concurrency) * timeout;
}

const guardFitsWindow: Rule = {
  name: 'guard-interval-fits-window',
  check: (e) => {
    if (!e.guard) return [];
    return durationMs(e.guard.interval) > windowMs(e)
      ? [
          {
            path: ['guard', 'interval'],
            message: `interval ${e.guard.interval} is longer than the fault window (${formatBound(windowMs(e))}); the guard would never sample`,
          },
        ]
      : [];
  },
};

const guardCanTrip: Rule = {
  name: 'guard-can-trip-inside-window',
  check: (e) => {
    if (!e.guard) return [];
    const need = e.guard.failuresToAbort * durationMs(e.guard.interval);
    const w = windowMs(e);
    return need > w
      ? [
          {
            path: ['guard', 'failuresToAbort'],
            message: `${e.guard.failuresToAbort} failing samples ${e.guard.interval} apart take ${formatBound(need)}, longer than the fault window (${formatBound(w)}): the guard could never abort; lower failuresToAbort or the interval`,
          },
        ]
      : [];
  },
};

const guardProbeFitsWindow: Rule = {
  name: 'guard-probe-fits-window',
  check: (e) => {
    if (!e.guard) return [];
    const w = windowMs(e);
    return e.guard.probes.flatMap((p, i) => {
      const one = p.type === 'http' ? durationMs(p.timeout) : durationMs(p.window);
      const field = p.type === 'http' ? 'timeout' : 'window';
      if (one > w)
        return [
          {
            path: ['guard', 'probes', i, field],
            message: `a guard sample may wait ${formatBound(one)}, longer than the fault window (${formatBound(w)}): it could not see the fault in time`,
          },
        ];
      const worst = probeWorstMs(p);
      if (worst > w + ACTIVITY_SLACK_MS)
        return [
          {
            path: ['guard', 'probes', i],
            message: `one guard sample may take ${formatBound(worst)} (every request timing out), more than the guard step's budget of the window plus ${formatBound(ACTIVITY_SLACK_MS)}: lower requests or timeout`,
          },
        ];
      return [];
    });
  },
};

const maxGapAboveCadence: Rule = {
  name: 'guard-max-gap-above-cadence',
  check: (e) => {
    if (!e.guard?.maxGap) return [];
    const cadence = guardCadenceMs(e.guard);
    const need = cadence + ON_TIME_MS;
    return durationMs(e.guard.maxGap) < need
      ? [
          {
            path: ['guard', 'maxGap'],
            message: `maxGap ${e.guard.maxGap} is shorter than one guard cadence (${formatBound(cadence)}) plus ${ON_TIME_MS}ms: every gap between samples on schedule would break it; give at least ${formatBound(need)}`,
          },
        ]
      : [];
  },
};

const probesFitActivity: Rule = {
  name: 'probes-fit-their-activity',
  check: (e) => {
    let total = 0;
    for (const [i, p] of e.hypothesis.probes.entries()) {
      total += probeWorstMs(p);
      if (total > PROBE_ACTIVITY_MS)
        return [
          {
            path: ['hypothesis', 'probes', i],
            message: `the hypothesis probes may take up to ${formatBound(total)} together (every request timing out), more than the ${formatBound(PROBE_ACTIVITY_MS)} the steady-state step has: lower requests or timeout, or raise concurrency`,
          },
        ];
    }
    return [];
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
      out.push(...sloForm(m, ['judge', 'metrics', i], !!j.controlGroup));
      // A fall is judged only against its baseline: a cap on the rate would be silently unused.
      if (m.direction === 'decrease' && m.maxRate !== undefined)
        out.push({
          path: ['judge', 'metrics', i, 'maxRate'],
          message:
            'maxRate caps a rise of the bad-event rate; with direction: decrease it is never used (leave it out, or judge direction: either)',
        });
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

/** A judged SLO: its objective is the null, so nothing else may set one; maxBurnRate only with an SLO. */
function sloForm(
  m: NonNullable<Experiment['judge']>['metrics'][number],
  at: (string | number)[],
  controlGroup: boolean,
): Violation[] {
  if (!m.slo)
    return m.maxBurnRate === undefined
      ? []
      : [{ path: [...at, 'maxBurnRate'], message: 'maxBurnRate applies to a metric read from an SLO file (slo:)' }];
  const out: Violation[] = [];
  if (m.maxRate !== undefined)
    out.push({
      path: [...at, 'maxRate'],
      message: `the SLO's objective sets the null rate (1 - ${m.slo.objective}); leave maxRate out (maxBurnRate allows a faster burn)`,
    });
  if (m.direction !== 'increase')
    out.push({
      path: [...at, 'direction'],
      message: 'an SLO is judged on a rise of its error rate: direction increase (the default)',
    });
  if (controlGroup)
    out.push({
      path: [...at, 'slo'],
      message:
        "a judged SLO's null is its objective, a control group's is the control's rate: judge it without controlGroup",
    });
  const p0 = (m.maxBurnRate ?? 1) * (1 - m.slo.objective);
  if (m.maxBurnRate !== undefined && p0 >= 1)
    out.push({
      path: [...at, 'maxBurnRate'],
      message: `${m.maxBurnRate} x the allowed error rate ${+(1 - m.slo.objective).toPrecision(6)} is 100% or more: nothing could burn faster`,
    });
  return out;
}

/** Control-group mode: every judged expression names its group through $GROUP, and only then. */
const controlGroupPlaceholder: Rule = {
  name: 'control-group-placeholder',
  check: (e) => {
    const j = e.judge;
    if (!j) return [];
    const on = !!j.controlGroup;
    return j.metrics.flatMap((m, i) =>
      (['total', 'bad', 'good'] as const).flatMap((k): Violation[] => {
        const expr = m.events[k];
        if (expr === undefined || expr.includes(GROUP_PLACEHOLDER) === on) return [];
        return [
          {
            path: ['judge', 'metrics', i, 'events', k],
            message: on
              ? `must hold ${GROUP_PLACEHOLDER} (judge.controlGroup is set): it is replaced by each group's container names, e.g. sum(x_total{instance=~"${GROUP_PLACEHOLDER}"})`
              : `${GROUP_PLACEHOLDER} is only filled in with judge.controlGroup`,
          },
        ];
      }),
    );
  },
};

/** Control-group mode needs the replicas to split, and a control group that can be non-empty. */
const controlGroupReplicas: Rule = {
  name: 'control-group-replicas',
  check: (e) => {
    const c = e.judge?.controlGroup;
    if (!c) return [];
    const r = c.replicas;
    if (r && !r.names && r.namePattern === undefined && !r.labels)
      return [
        { path: ['judge', 'controlGroup', 'replicas'], message: 'give at least one of names, namePattern or labels' },
      ];
    if (!r && !e.targets)
      return [
        {
          path: ['judge', 'controlGroup'],
          message:
            "no selector for the service's replicas: give judge.controlGroup.replicas (or targets), so the faulted replicas can be told from the control group",
        },
      ];
    const sel = r ?? e.targets;
    if (sel?.names?.length === 1)
      return [
        {
          path: r ? ['judge', 'controlGroup', 'replicas', 'names'] : ['targets', 'names'],
          message: `selects one replica (${sel.names[0]}): nothing is left for the control group; select the service's replicas${r ? '' : ' with judge.controlGroup.replicas'}`,
        },
      ];
    if (!r && e.targets?.mode === 'all')
      return [
        {
          path: ['targets', 'mode'],
          message: 'mode all faults every matched replica: the control group would be empty',
        },
      ];
    return [];
  },
};

export const rules: Rule[] = [
  controlGroupPlaceholder,
  controlGroupReplicas,
  prometheusProbeForm,
  judgeForm,
  containerFaultsNeedTargets,
  selectorPresent,
  modeNeedsValue,
  patternCompiles,
  blastRadiusAllows,
  guardFitsWindow,
  uniqueProbeNames,
  requestsOrDuration,
  trafficWithinBlastRadius,
  exposureForm,
  guardCanTrip,
  guardProbeFitsWindow,
  maxGapAboveCadence,
  probesFitActivity,
];
