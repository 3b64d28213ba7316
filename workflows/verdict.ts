// The verdict of a run, decided in one place from what the run established. Pure: no Temporal, no I/O,
// so it is tested with a table (test/verdict.test.ts) and the workflow only gathers the facts.
import type { AbortRecord, FailureRecord, GuardCoverage, ProbeSample, Verdict } from '../experiments/journal.ts';
import { coverageShortfall } from '../experiments/coverage.ts';
import type { Scorecard } from '../judge/classify.ts';
import type { NoDataFinding } from '../judge/guard.ts';

export interface VerdictFacts {
  /** The hypothesis statement, for the `passed` reason. */
  statement: string;
  recoveryTimeout: string;
  /** Probe samples of the steady state before the experiment that did not hold (a finding). */
  notHeldBefore?: ProbeSample[];
  abort?: AbortRecord;
  /** Something the tool could not do: an activity that failed for good. */
  failure?: FailureRecord;
  /** Whether any fault may have been applied (an inject was attempted). */
  anyApplied: boolean;
  /** The steady state after the experiment; absent when it was not checked. */
  after?: { ok: boolean; samples: ProbeSample[] };
  /** The judged guard's score of the window, when the experiment has a judge. */
  judged?: Scorecard;
  /** The judged metrics the window says too little about (judge report's inconclusive): no data is never a pass. */
  judgeNoData?: NoDataFinding[];
  /** How much of each fault window the guard watched (runs with a guard; closed against the windows' ends). */
  coverage?: GuardCoverage;
}

const who = (a: AbortRecord): string =>
  a.by === 'guard'
    ? 'the guard'
    : a.by === 'emergency-stop'
      ? 'an emergency stop'
      : a.by === 'cancel'
        ? 'a cancellation'
        : 'an operator';

const violations = (samples: ProbeSample[]): string =>
  samples
    .filter((s) => !s.ok)
    .map((s) => `${s.probe}: ${s.violations.join('; ')}`)
    .join(' | ');

const share = (r: number) => `${+(r * 100).toFixed(1)}%`;

const noDataText = (n: NoDataFinding): string =>
  n.ticks > 0 && n.noDataTicks / n.ticks > n.maxNoData
    ? `judged metric ${n.metric} had no data for ${share(n.noDataTicks / n.ticks)} of its ticks (${n.noDataTicks} of ${n.ticks}), more than maxNoData ${share(n.maxNoData)}`
    : n.ticks > 0
      ? `judged metric ${n.metric} counted no event in the window (${n.ticks} ticks)`
      : `judged metric ${n.metric} was never read (no judge tick)`;

export function decideVerdict(f: VerdictFacts): { verdict: Verdict; reason: string } {
  if (f.notHeldBefore?.length) {
    return {
      verdict: 'not-started',
      reason: `steady-state-before: the steady state did not hold, nothing was injected: ${violations(f.notHeldBefore)}`,
    };
  }
  // An abort outranks a failure that came after it (its own cancellation causes such failures).
  const abortFirst = f.abort && (!f.failure || Date.parse(f.failure.at) >= Date.parse(f.abort.at));
  if (f.abort && abortFirst) {
    const a = f.abort;
    const undone = f.anyApplied ? 'every fault was reverted' : 'nothing was injected';
    const after = !f.after
      ? ''
      : f.after.ok
        ? '; the steady state recovered'
        : `; the steady state did NOT recover: ${violations(f.after.samples)}`;
    return {
      verdict: 'aborted',
      reason: `${who(a)} aborted the experiment${a.phase ? ` during ${a.phase}` : ''}: ${a.reason}; ${undone}${after}`,
    };
  }
  if (f.failure) {
    const { phase, cause } = f.failure;
    return f.anyApplied
      ? { verdict: 'failed', reason: `${phase}: ${cause}; everything injected was reverted` }
      : { verdict: 'not-started', reason: `${phase}: ${cause}; nothing was injected` };
  }
  if (!f.after) return { verdict: 'failed', reason: 'steady-state-after: the steady state was not checked' };
  if (!f.after.ok) {
    return {
      verdict: 'refuted',
      reason: `steady-state-after: the steady state did not recover within ${f.recoveryTimeout}: ${violations(f.after.samples)}`,
    };
  }
  const card = f.judged;
  const groups = (c: Scorecard) =>
    c.groups.map((g) => `${g.name} ${g.score === null ? 'no data' : Math.round(g.score)}`).join(', ');
  if (card?.result === 'fail')
    return {
      verdict: 'refuted',
      reason: `observing: the judge scored the window ${card.score} (fail${card.criticalFailed.length ? `, critical metric ${card.criticalFailed.join(', ')} failed` : ''}; ${groups(card)})`,
    };
  if (f.judgeNoData?.length)
    return {
      verdict: 'inconclusive',
      reason: `observing: the judge cannot tell whether the steady state held: ${f.judgeNoData.map(noDataText).join('; ')}`,
    };
  // A window nobody watched is not a healthy one: never passed (aborted when the guard reverted for it, above).
  const short = f.coverage && coverageShortfall(f.coverage);
  if (short)
    return {
      verdict: 'inconclusive',
      reason: `observing: the fault window was not watched as scheduled: ${short}; the steady state held after, but nothing can be concluded about the window`,
    };
  const c = f.coverage;
  const watched = c
    ? `; the guard took ${c.taken} of ${c.due} samples due and watched at least ${+(c.share * 100).toFixed(1)}% of every fault window`
    : '';
  const note = card ? `; the judge scored the window ${card.score} (${card.result}; ${groups(card)})` : '';
  return { verdict: 'passed', reason: `the steady state held: ${f.statement}${note}${watched}` };
}
