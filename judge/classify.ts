// The final verdict of a judged window, in Kayenta's vocabulary: each metric is classified pass, high,
// low or nodata; metrics belong to groups with weights; the score is the weighted share of passing
// metrics (nodata removed, as Kayenta does by default) and is compared with pass and marginal thresholds.
// A critical metric that fails sets the score to 0. Pure.

export type Direction = 'increase' | 'decrease' | 'either';
export type Classification = 'pass' | 'high' | 'low' | 'nodata';

export interface ClassifyInput {
  direction: Direction;
  /** Evidence that the metric went up beyond what is allowed (e.g. the e-process crossed its threshold). */
  high: boolean;
  /** Evidence that it went down beyond what is allowed. */
  low: boolean;
  /** No data in the window. */
  noData: boolean;
}

export function classify(m: ClassifyInput): Classification {
  if (m.noData) return 'nodata';
  if (m.high && m.direction !== 'decrease') return 'high';
  if (m.low && m.direction !== 'increase') return 'low';
  return 'pass';
}

export interface ScoredMetric {
  name: string;
  group: string;
  critical: boolean;
  classification: Classification;
}

export interface ScoreThresholds {
  pass: number;
  marginal: number;
}

export const DEFAULT_THRESHOLDS: ScoreThresholds = { pass: 95, marginal: 75 };

export interface Scorecard {
  score: number;
  result: 'pass' | 'marginal' | 'fail' | 'nodata';
  groups: { name: string; weight: number; score: number | null; metrics: number }[];
  criticalFailed: string[];
}

/** Weighted score over groups; groups without a weight share what the weighted ones leave over equally. */
export function score(
  metrics: ScoredMetric[],
  weights: Record<string, number> = {},
  thresholds: ScoreThresholds = DEFAULT_THRESHOLDS,
): Scorecard {
  const names = [...new Set(metrics.map((m) => m.group))];
  const fixed = names.filter((g) => weights[g] !== undefined).reduce((s, g) => s + (weights[g] ?? 0), 0);
  const free = names.filter((g) => weights[g] === undefined);
  const share = free.length ? Math.max(0, 100 - fixed) / free.length : 0;
  const groups = names.map((name) => {
    const ms = metrics.filter((m) => m.group === name && m.classification !== 'nodata');
    const passed = ms.filter((m) => m.classification === 'pass').length;
    return {
      name,
      weight: weights[name] ?? share,
      score: ms.length ? (100 * passed) / ms.length : null,
      metrics: ms.length,
    };
  });
  const criticalFailed = metrics
    .filter((m) => m.critical && (m.classification === 'high' || m.classification === 'low'))
    .map((m) => m.name);
  const counted = groups.filter((g) => g.score !== null && g.weight > 0);
  const total = counted.reduce((s, g) => s + g.weight, 0);
  if (!counted.length || total === 0) return { score: 0, result: 'nodata', groups, criticalFailed };
  let value = counted.reduce((s, g) => s + g.weight * (g.score ?? 0), 0) / total;
  if (criticalFailed.length) value = 0;
  value = Math.round(value * 100) / 100;
  const result = value >= thresholds.pass ? 'pass' : value >= thresholds.marginal ? 'marginal' : 'fail';
  return { score: value, result, groups, criticalFailed };
}
