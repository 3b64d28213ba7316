// The verdict of a game day, decided in one place from its steps. Pure: no Temporal, no I/O, so it is
// tested with a table (test/unit/gameday-verdict.test.ts) and the workflow only records what happened.
// A failed step makes the game day `refuted` (or `aborted` when an operator aborted it) whatever its
// failure policy let it go on to do: `continue` and an approved `ask` decide whether the game day goes
// on, never whether it passed.
import type { GameDayEvent, StepRecord } from '../experiments/gameday-types.ts';
import type { Verdict } from '../experiments/journal.ts';

export interface GameDayOutcome {
  verdict: Verdict;
  reason: string;
  /** One line: the verdict first, then the counts; it never says other than the verdict. */
  summary: string;
}

/**
 * A step's own verdict: an experiment step `passed` only when every one of its experiments passed,
 * `refuted` when it failed (an experiment not passed, a deadline), `aborted` when the game day was aborted
 * during it; a gate `passed` once opened, `aborted` when the abort came while it waited. Notes, skipped
 * steps and steps not yet ended have none.
 */
export function stepVerdict(s: StepRecord): Verdict | undefined {
  switch (s.status) {
    case 'aborted':
      return 'aborted';
    case 'failed':
      return 'refuted';
    case 'passed':
      return s.kind === 'experiments' && s.children.some((c) => c.verdict !== 'passed') ? 'refuted' : 'passed';
    default:
      return undefined;
  }
}

const childText = (s: StepRecord) => s.children.map((c) => `${c.title}: ${c.verdict ?? 'running'}`).join(', ');

function failedText(s: StepRecord): string {
  const why = s.reason ?? childText(s);
  const f = s.onFailure;
  const policy = !f
    ? ''
    : f.wentOn
      ? `; on failure: ${f.policy}${f.by ? `, ${f.by} said go on` : ''}, so the game day went on`
      : `; on failure: ${f.policy}${f.policy === 'ask' ? ', no go-ahead' : ''}, so the game day stopped`;
  return `step ${s.name} failed (${why})${policy}`;
}

export function decideGameDay(g: {
  title: string;
  steps: StepRecord[];
  events: GameDayEvent[];
  abort?: { who: string; reason: string };
}): GameDayOutcome {
  const verdicts = g.steps.map((s) => stepVerdict(s));
  const failed = g.steps.filter((_, i) => verdicts[i] === 'refuted');
  const experiments = g.steps.filter((s) => s.kind === 'experiments');
  const ran = experiments.filter((s) => stepVerdict(s) !== undefined);
  const skipped = g.steps.filter((s) => s.status === 'skipped');
  const skippedText = skipped.length ? `; skipped: ${skipped.map((s) => s.name).join(', ')}` : '';
  let verdict: Verdict;
  let reason: string;
  if (g.abort) {
    verdict = 'aborted';
    reason = `aborted by ${g.abort.who}: ${g.abort.reason}`;
    if (failed.length) reason += `; before that, ${failed.map(failedText).join('; ')}`;
  } else if (failed.length) {
    verdict = 'refuted';
    reason = failed.map(failedText).join('; ');
  } else if (verdicts.includes('aborted')) {
    // A step aborted with no abort of the game day recorded: never a pass.
    verdict = 'aborted';
    reason = `aborted at step ${g.steps
      .filter((s) => s.status === 'aborted')
      .map((s) => s.name)
      .join(', ')}`;
  } else if (experiments.length && !ran.length) {
    verdict = 'not-started';
    reason = `no experiment ran${skippedText}`;
  } else {
    verdict = 'passed';
    reason = skipped.length ? `every step that ran passed${skippedText}` : 'every step passed';
  }
  const count = (v: Verdict) => verdicts.filter((x) => x === v).length;
  const names = failed.length ? ` (${failed.map((s) => s.name).join(', ')})` : '';
  const what = (w: GameDayEvent['what']) => g.events.filter((e) => e.what === w).length;
  const summary = `${g.title}: ${verdict} · ${count('passed')} passed, ${failed.length} failed${names}, ${skipped.length} skipped, ${count('aborted')} aborted · ${what('approve')} approvals, ${what('note')} notes`;
  return { verdict, reason, summary };
}
