// What the judge reads of an experiment's `judge:` section, declared here so that the judge (pure statistics)
// depends on nothing above it. experiments/schema.ts parses the section and checks that what it parses fits
// these types (JudgeFits there), so the two cannot drift apart.

/** Which change of the bad-event rate fails. */
export type Direction = 'increase' | 'decrease' | 'either';

export interface JudgedMetricConfig {
  name: string;
  direction: Direction;
  /** How far the rate may move from the baseline's bound, on the odds scale. */
  allowedIncrease: number;
  /** A fixed null bad-event rate (no baseline), else a cap (increase only). */
  maxRate?: number;
  /** An expression with no series reads as 0. */
  absentMeansZero: boolean;
  /** The largest share of ticks with no data: 0 to 1, or a percentage such as '10%' (see shareOf). */
  maxNoData: number | string;
  criticalIncrease?: number;
  /** Fewest events in a tick for criticalIncrease. */
  minEvents: number;
  group?: string;
  critical: boolean;
  /** Read from an SLO file: the null rate is maxBurnRate x (1 - objective), the baseline only a check. */
  slo?: SloTarget;
  /** With slo: the burn rate the experiment may reach (default 1). */
  maxBurnRate?: number;
}

/** An SLO a judged metric was read from (experiments/slo.ts reads OpenSLO and Sloth files). */
export interface SloTarget {
  /** The SLO file, as the experiment names it. */
  file: string;
  format: 'openslo' | 'sloth';
  /** The SLO's name in its file. */
  name: string;
  /** 0 < objective < 1 (99.9 % is 0.999). */
  objective: number;
  /** The SLO's window as its file writes it, and in ms. */
  window: string;
  windowMs: number;
}

export interface JudgeConfig {
  /** Chance of ever aborting a healthy run, over all metrics. */
  alpha: number;
  metrics: JudgedMetricConfig[];
  /** Set: control-group mode (the faulted replicas judged against untouched ones). */
  controlGroup?: object;
  /** Group weights; default equal. */
  groups?: Record<string, number>;
  /** Score thresholds of the final verdict. */
  thresholds: { pass: number; marginal: number };
}
