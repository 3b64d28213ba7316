// Error budgets, pure: an SLO's objective as the null rate of a judged metric, and what an experiment's
// errors burned of the budget the objective allows over the SLO's window (Google SRE workbook, "Alerting on
// SLOs": the burn rate is the error rate over the allowed one; a burn rate of 1 spends the whole budget in
// exactly the window).

/** The error rate an objective allows: 1 - objective (a 99.9 % objective allows 0.1 % errors). */
export const allowedErrorRate = (objective: number): number => 1 - objective;

/**
 * The null rate of a judged SLO metric: the allowed error rate times the burn rate the experiment may reach
 * (1: the hypothesis is that the service stays within its objective while the faults are active).
 */
export function sloNullRate(objective: number, maxBurnRate = 1): number {
  return maxBurnRate * allowedErrorRate(objective);
}

/** Errors over events against the allowed rate; 0 with no event (nothing was spent). */
export function burnRate(errors: number, events: number, objective: number): number {
  return events > 0 ? errors / events / allowedErrorRate(objective) : 0;
}

/**
 * The share of the window's error budget that `errors` of `events` over `judgedMs` spent: the budget over the
 * window is the allowed rate times the events the window holds at this traffic (events x windowMs / judgedMs),
 * so the share is the burn rate times judgedMs / windowMs, whatever the traffic.
 */
export function budgetBurned(
  errors: number,
  events: number,
  objective: number,
  judgedMs: number,
  windowMs: number,
): number {
  if (!(judgedMs > 0) || !(windowMs > 0)) return 0;
  return (burnRate(errors, events, objective) * judgedMs) / windowMs;
}

/** What a judged SLO metric spent, for the journal and the report. */
export interface SloBudget {
  /** The SLO's name in its file, the file (as the experiment names it), its format. */
  name: string;
  file: string;
  format: string;
  objective: number;
  /** The SLO's window as its file writes it ("28d"), and in ms. */
  window: string;
  windowMs: number;
  /** The error rate the objective allows (1 - objective), and the burn rate the experiment may reach. */
  allowedRate: number;
  maxBurnRate: number;
  /** Events and errors judged, over judgedMs (from the judge's first reading to its last). */
  events: number;
  errors: number;
  judgedMs: number;
  burnRate: number;
  /** The anytime-valid upper bound of the burn rate (the judge's upper bound of the error rate, over the allowed one). */
  burnRateUpper: number;
  /** The share of the window's budget the experiment spent (0.001: a thousandth of the budget). */
  budgetBurned: number;
}

/** The budget report of one judged SLO metric. `upperRate` is the judge's anytime upper bound of its error rate. */
export function sloBudget(
  slo: { name: string; file: string; format: string; objective: number; window: string; windowMs: number },
  maxBurnRate: number,
  counts: { events: number; errors: number; judgedMs: number; upperRate: number },
): SloBudget {
  const allowed = allowedErrorRate(slo.objective);
  return {
    name: slo.name,
    file: slo.file,
    format: slo.format,
    objective: slo.objective,
    window: slo.window,
    windowMs: slo.windowMs,
    allowedRate: allowed,
    maxBurnRate,
    events: counts.events,
    errors: counts.errors,
    judgedMs: counts.judgedMs,
    burnRate: burnRate(counts.errors, counts.events, slo.objective),
    burnRateUpper: counts.upperRate / allowed,
    budgetBurned: budgetBurned(counts.errors, counts.events, slo.objective, counts.judgedMs, slo.windowMs),
  };
}

/** "0.012% of its 30d budget", "1.5x": how the budget reads in messages. */
export function budgetText(b: Pick<SloBudget, 'burnRate' | 'budgetBurned' | 'window' | 'maxBurnRate'>): string {
  const share = b.budgetBurned * 100;
  const pct = share === 0 ? '0%' : `${share.toPrecision(2)}%`;
  return `burn rate ${b.burnRate.toFixed(2)}x (allowed ${b.maxBurnRate}x), ${pct} of its ${b.window} error budget burned`;
}
