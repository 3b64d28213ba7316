// The control-group test (ChAP): the experiment group against the control group over the SAME ticks, an
// anytime-valid two-sample e-process. Pure and workflow-safe.
//
// Null: at every tick the experiment's bad-event rate is at most k times the control's (k = allowedIncrease).
// Given a tick's bad events s = xE + xC, and the groups' events nE and nC, each bad event came from the
// experiment with probability pi = nE pE / (nE pE + nC pC) (exact for Poisson counts), which the null bounds
// by pi0 = k nE / (k nE + nC), whatever the rates themselves are. So per tick, xE | s ~ Bin(s, <= pi0), and
//
//   E_t = sum_j w_j prod_{ticks} (pi_j/pi0)^xE ((1-pi_j)/(1-pi0))^xC,   pi_j: the ratio k * r_j, r_j in {1.5..10}
//
// is a mixture of test supermartingales: by Ville, P(ever E_t >= 1/alpha) <= alpha, looking at every tick.
// Why this and not "p0 = the control's running upper bound x k": conditioning on each tick's bad events
// cancels what both groups share (a slow shared dependency, load, time of day) tick by tick, so a change
// that hits both groups alike is not blamed on the fault; a running bound over the control lags such a
// change and needs a second error budget for the bound. For Bernoulli (not Poisson) counts the conditional
// law is Fisher's noncentral hypergeometric, tighter than the binomial (Hoeffding's convex order), which
// keeps the test conservative at k = 1 and close to alpha above it; the calibration test checks this by
// simulating Bernoulli counts.
import { DEFAULT_MULTIPLIERS, logSumExp } from './eprocess.ts';

export interface GroupCounts {
  n: number;
  x: number;
}

export interface TwoSampleState {
  /** Allowed ratio of the experiment's rate to the control's (allowedIncrease). */
  k: number;
  multipliers: number[];
  /** log of each component's product so far (the components differ per tick, so no closed form). */
  logComponents: number[];
  logE: number;
  maxLogE: number;
  experiment: GroupCounts;
  control: GroupCounts;
}

export function startTwoSample(k: number, multipliers: readonly number[] = DEFAULT_MULTIPLIERS): TwoSampleState {
  if (!(k >= 1)) throw new RangeError(`allowed ratio k must be >= 1, got ${k}`);
  return {
    k,
    multipliers: [...multipliers],
    logComponents: multipliers.map(() => 0),
    logE: 0,
    maxLogE: 0,
    experiment: { n: 0, x: 0 },
    control: { n: 0, x: 0 },
  };
}

/** Share of a tick's bad events the experiment group carries when its rate is `ratio` times the control's. */
export const share = (ratio: number, nE: number, nC: number) => (ratio * nE) / (ratio * nE + nC);

/** Folds one tick of both groups in (events and watched events each). Mutates and returns the state. */
export function updateTwoSample(s: TwoSampleState, exp: GroupCounts, ctl: GroupCounts): TwoSampleState {
  for (const g of [exp, ctl])
    if (g.n < 0 || g.x < 0 || g.x > g.n) throw new RangeError(`bad tick: ${g.x} of ${g.n} (need 0 <= x <= n)`);
  s.experiment = { n: s.experiment.n + exp.n, x: s.experiment.x + exp.x };
  s.control = { n: s.control.n + ctl.n, x: s.control.x + ctl.x };
  // A tick without bad events, or with one group silent, says nothing about the ratio.
  if (exp.x + ctl.x === 0 || exp.n === 0 || ctl.n === 0) return s;
  const pi0 = share(s.k, exp.n, ctl.n);
  s.logComponents = s.logComponents.map((c, j) => {
    const pi = share(s.k * (s.multipliers[j] as number), exp.n, ctl.n);
    return c + exp.x * (Math.log(pi) - Math.log(pi0)) + ctl.x * (Math.log1p(-pi) - Math.log1p(-pi0));
  });
  const w = Math.log(1 / s.multipliers.length);
  s.logE = logSumExp(s.logComponents.map((c) => c + w));
  s.maxLogE = Math.max(s.maxLogE, s.logE);
  return s;
}

/** Observed ratio of the experiment's rate to the control's (Infinity when the control had none). */
export function observedRatio(s: Pick<TwoSampleState, 'experiment' | 'control'>): number {
  const re = s.experiment.n ? s.experiment.x / s.experiment.n : 0;
  const rc = s.control.n ? s.control.x / s.control.n : 0;
  if (rc === 0) return re === 0 ? 1 : Number.POSITIVE_INFINITY;
  return re / rc;
}
