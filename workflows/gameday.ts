// The game-day workflow: a parent with one child workflow per experiment (the UI shows them under it),
// steps in order, parallel groups, gates that wait for an approver, notes, a failure policy per step, and
// an abort that returns only once every running child has reverted. Deterministic only.
//
// Its messages only record (workflows/gameday-state.ts: an approval names the step it approves, and opens
// only that step while it waits); this main loop reads the state and decides, in one place: it opens a
// gate, cancels a step's experiments (deadline, skip, abort), stops or goes on. The verdict is computed
// over the steps at the end (workflows/gameday-verdict.ts): a failed step is never a pass.
import {
  allHandlersFinished,
  ApplicationFailure,
  ChildWorkflowCancellationType,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { GameDayInput, GameDayJournal, GameDayStep, StepRecord } from '../experiments/gameday-types.ts';
import type { Journal } from '../experiments/journal.ts';
import { durationMs } from '../faults/duration.ts';
import { WORKFLOW_TYPE, type RunInput } from '../definitions/experiment.ts';
import {
  abortGameDayUpdate,
  addNoteUpdate,
  approveGateUpdate,
  gameDayQuery,
  skipStepUpdate,
} from './gameday-definitions.ts';
import {
  abortProblem,
  approvalProblem,
  approvalRefusal,
  approvedBy,
  newGameDayState,
  noteProblem,
  recordAbort,
  recordApproval,
  recordNote,
  recordSkip,
  skipProblem,
} from './gameday-state.ts';
import { decideGameDay, stepVerdict } from './gameday-verdict.ts';
import { EXPERIMENT_KEY, FAULT_KINDS_KEY, GAME_DAY_KEY, VERDICT_KEY } from './search-attributes.ts';

export async function runGameDay(input: GameDayInput): Promise<GameDayJournal> {
  const info = workflowInfo();
  const now = () => new Date().toISOString();
  const st = newGameDayState(input, info.workflowId, now());
  const j = st.j;
  let running = 0; // child workflows not yet closed
  // Game days started before this marker (no marker in their history) keep the old command order: their
  // skip and abort handlers and their deadline timer cancel the running step themselves. Every game day
  // started since leaves that decision to the main loop alone.
  const legacy = !patched('gameday-decisions-in-main-loop');
  let stepScope: CancellationScope | undefined; // the running step's experiments (legacy handlers cancel it)

  const details = () =>
    setCurrentDetails(
      `**Game day:** ${input.title} · owner ${input.owner}\n\n${j.steps.map((s) => `- ${s.name}: ${s.verdict ?? s.status}`).join('\n')}`,
    );
  if (input.searchAttributes)
    upsertSearchAttributes([
      { key: GAME_DAY_KEY, value: info.workflowId },
      { key: EXPERIMENT_KEY, value: input.title },
    ]);

  // The main loop blocks only in block(): what it waits for, while it waits. It has settled when it waits
  // for something not yet true (or has finished): every message and child result so far has taken effect.
  let waitsFor: (() => boolean) | undefined;
  let finished = false;
  const block = async (ready: () => boolean) => {
    if (legacy) return condition(ready); // the old code's awaits, one for one
    waitsFor = ready;
    try {
      await condition(ready);
    } finally {
      waitsFor = undefined;
    }
  };
  /**
   * Resolves once the main loop has settled after everything this workflow task brought: first the
   * microtasks of the task run (a child's result reaching the loop), then the loop must be blocked on
   * something not yet true. Issues no command.
   */
  const settled = () => {
    let drained = false;
    void Promise.resolve().then(() => {
      drained = true;
    });
    return condition(() => drained && (finished || (waitsFor !== undefined && !waitsFor())));
  };

  // The handlers: validate, record, return. None of them issues a command.
  const refuse = (problem: string | undefined) => {
    if (problem) throw new Error(problem);
  };
  setHandler(gameDayQuery, () => j);
  setHandler(
    approveGateUpdate,
    async (a) => {
      if (!legacy) {
        await settled();
        const problem = approvalProblem(st, a);
        if (problem) throw ApplicationFailure.create({ type: 'ApprovalRefused', message: problem, nonRetryable: true });
      }
      recordApproval(st, a, now());
      return j;
    },
    { validator: (a) => refuse(legacy ? approvalProblem(st, a) : approvalRefusal(st, a)) },
  );
  setHandler(
    addNoteUpdate,
    (a) => {
      recordNote(st, a, now());
      return j;
    },
    { validator: (a) => refuse(noteProblem(a)) },
  );
  setHandler(
    skipStepUpdate,
    async (a) => {
      if (!legacy) {
        await settled(); // a step that ended in this very task is not skipped after the fact
        const problem = skipProblem(st, a);
        if (problem) throw ApplicationFailure.create({ type: 'SkipRefused', message: problem, nonRetryable: true });
      }
      recordSkip(st, a, now());
      if (legacy && st.current === a.step) stepScope?.cancel();
      return j;
    },
    { validator: (a) => refuse(skipProblem(st, a)) },
  );
  setHandler(
    abortGameDayUpdate,
    async (a) => {
      const first = !st.abort;
      recordAbort(st, a, now());
      if (legacy && first) stepScope?.cancel();
      await condition(() => running === 0); // the main loop cancels; every running child reverts and closes
      return j;
    },
    { validator: (a) => refuse(abortProblem(a)) },
  );

  const skipped = (name: string) => st.skips.includes(name);

  /** Waits at `rec` until an approval names it, a skip, or an abort; true when approved. */
  const waitForApproval = async (rec: StepRecord) => {
    rec.status = 'waiting';
    j.waitingAt = rec.name;
    details();
    await block(() => !!approvedBy(st, rec.name) || !!st.abort || skipped(rec.name));
    j.waitingAt = undefined;
    return !!approvedBy(st, rec.name) && !st.abort && !skipped(rec.name);
  };

  const runChild = async (rec: StepRecord, exp: { experiment: RunInput['experiment']; file: string }, i: number) => {
    const workflowId = `${info.workflowId}-${rec.name}${i ? `-${i + 1}` : ''}`;
    const child = { workflowId, title: exp.experiment.title } as StepRecord['children'][number];
    rec.children.push(child);
    running++;
    try {
      const run: RunInput = {
        experiment: exp.experiment,
        file: exp.file,
        submittedBy: `game day ${info.workflowId}`,
        searchAttributes: input.searchAttributes,
      };
      const r = (await executeChild(WORKFLOW_TYPE, {
        workflowId,
        args: [run],
        // Never TERMINATE: a closing parent cancels its children, and a cancelled experiment reverts.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        staticSummary: `${exp.experiment.title} (game day ${input.title}, step ${rec.name})`,
        ...(input.searchAttributes
          ? {
              typedSearchAttributes: [
                { key: EXPERIMENT_KEY, value: exp.experiment.title },
                { key: FAULT_KINDS_KEY, value: [...new Set(exp.experiment.method.map((f) => f.kind))] },
                { key: GAME_DAY_KEY, value: info.workflowId },
              ],
            }
          : {}),
      })) as Journal;
      child.verdict = r.verdict;
      child.reason = r.reason;
    } catch (err) {
      child.verdict = 'aborted';
      child.reason = isCancellation(err) ? 'cancelled by the game day' : String(err);
    } finally {
      running--;
    }
  };

  async function runExperiments(step: Extract<GameDayStep, { kind: 'experiments' }>, rec: StepRecord) {
    const scope = new CancellationScope();
    stepScope = scope;
    let timedOut = false;
    // The deadline timer lives in its own scope, cancelled once the children are done, so it can never
    // fire into a later step. It only records; the loop below cancels the step.
    const timer = new CancellationScope();
    if (step.deadline)
      timer
        .run(() => sleep(durationMs(step.deadline as string)))
        .then(
          () => {
            timedOut = true;
            if (legacy) scope.cancel();
          },
          () => undefined,
        );
    const children = scope
      .run(() => Promise.all(step.experiments.map((e, i) => runChild(rec, e, i))))
      .catch((err: unknown) => {
        if (!isCancellation(err)) throw err;
      });
    if (legacy) await children;
    else {
      let done = false;
      const ended = children.finally(() => {
        done = true;
      });
      // The one place a step's experiments are stopped: its deadline, a skip of it, an abort.
      await block(() => done || timedOut || !!st.abort || skipped(step.name));
      if (!done) scope.cancel();
      await block(() => done);
      await ended;
    }
    timer.cancel();
    await block(() => running === 0);
    stepScope = undefined;
    const bad = rec.children.filter((c) => c.verdict !== 'passed');
    if (st.abort) {
      rec.status = 'aborted';
      rec.reason = `aborted by ${st.abort.who}: ${st.abort.reason}`;
    } else if (skipped(step.name)) {
      rec.status = 'skipped';
      rec.reason = 'skipped while running; its experiments were aborted and reverted';
    } else if (timedOut) {
      rec.status = 'failed';
      rec.reason = `deadline ${step.deadline} passed; its experiments were aborted and reverted`;
    } else if (bad.length) {
      rec.status = 'failed';
      rec.reason = bad.map((c) => `${c.title}: ${c.verdict}`).join(', ');
    } else rec.status = 'passed';
  }

  for (const [idx, step] of input.steps.entries()) {
    const rec = j.steps[idx] as StepRecord;
    st.current = step.name;
    if (st.abort || skipped(step.name)) {
      rec.status = 'skipped';
      continue;
    }
    rec.startedAt = now();
    rec.status = 'running';
    details();
    if (step.kind === 'note') {
      j.events.push({ at: now(), who: input.owner, what: 'note', step: step.name, text: step.text });
      rec.status = 'done';
    } else if (step.kind === 'gate') {
      rec.status = (await waitForApproval(rec)) ? 'passed' : st.abort ? 'aborted' : 'skipped';
    } else {
      await runExperiments(step, rec);
      if ((rec.status as string) === 'failed') {
        // The policy decides whether the game day goes on, never whether it passed.
        let go = step.onFailure === 'continue';
        if (step.onFailure === 'ask') {
          go = await waitForApproval(rec); // an approver says go on; an abort or a skip says stop
          rec.status = 'failed';
        }
        go &&= !st.abort;
        rec.onFailure = {
          policy: step.onFailure,
          wentOn: go,
          ...(step.onFailure === 'ask' && go ? { by: approvedBy(st, rec.name) } : {}),
        };
        if (!go) {
          rec.verdict = stepVerdict(rec);
          rec.finishedAt = now();
          break;
        }
      }
    }
    rec.verdict = stepVerdict(rec);
    rec.finishedAt = now();
  }
  for (const s of j.steps) if (s.status === 'pending') s.status = 'skipped';

  if (!legacy) {
    finished = true;
    await condition(allHandlersFinished); // an approval that came too late is refused, not left unanswered
  }
  const outcome = decideGameDay({ title: input.title, steps: j.steps, events: j.events, abort: st.abort });
  j.verdict = outcome.verdict;
  j.reason = outcome.reason;
  j.summary = outcome.summary;
  j.finishedAt = now();
  st.current = undefined;
  details();
  if (input.searchAttributes) upsertSearchAttributes([{ key: VERDICT_KEY, value: j.verdict }]);
  return j;
}
