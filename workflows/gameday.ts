// The game-day workflow: a parent with one child workflow per experiment (the UI shows them under it),
// steps in order, parallel groups, gates that wait for an approver, notes, a failure policy per step, and
// an abort that returns only once every running child has reverted. Deterministic only.
//
// Each step's status (StepRecord.status), one step at a time, in the order of the file:
//
//   pending ──an abort, or a skip of it, recorded before it starts──────────────────────▶ skipped
//      │ started
//      ├─ note ─────── running ──────────────────────────────────────────────────────▶ done
//      ├─ gate ─────── running ─▶ waiting ──approve──▶ passed
//      │                            ├──skip─────▶ skipped
//      │                            └──abort────▶ aborted
//      └─ experiments ─ running ──every child passed──▶ passed
//                          ├──skip──▶ skipped  ┐ its children cancelled (each reverts) and closed
//                          ├──abort─▶ aborted  ┘
//                          └──a child not passed, or its deadline──▶ failed ──onFailure──┬─ continue: next step
//                                                                                        ├─ stop: the game day stops
//                                                                                        └─ ask: waiting ──approve──▶ next step
//                                                                                                   └─ skip, abort: stops
// The game day: steps ──the last step, a stop, or an abort (every later step skipped)──▶ settling (its
// message handlers finish) ──▶ verdict (workflows/gameday-verdict.ts, a failed step is never a pass) ──▶ closed.
//
// Its messages only record (one handler per message below, over workflows/gameday-state.ts: an approval
// names the step it approves, and opens only that step while it waits); the main loop (`runSteps`, one
// runner per step kind) reads the state and decides, in one place: it opens a gate, cancels a step's
// experiments (deadline, skip, abort), stops or goes on.
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
  type ChildWorkflowOptions,
} from '@temporalio/workflow';
import type {
  GameDayInput,
  GameDayJournal,
  GameDayStep,
  StepRecord,
  StepStatus,
} from '../experiments/gameday-types.ts';
import type { Journal } from '../experiments/journal.ts';
import { durationMs } from '../faults/duration.ts';
import { WORKFLOW_TYPE, type RunInput } from '../definitions/experiment.ts';
import {
  abortGameDayUpdate,
  addNoteUpdate,
  approveGateUpdate,
  gameDayQuery,
  skipStepUpdate,
} from '../definitions/gameday.ts';
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
  type GameDayState,
} from './gameday-state.ts';
import { decideGameDay, stepVerdict } from './gameday-verdict.ts';
import { EXPERIMENT_KEY, FAULT_KINDS_KEY, GAME_DAY_KEY, VERDICT_KEY } from './search-attributes.ts';
import { Notifier } from './notify.ts';

type ExperimentsStep = Extract<GameDayStep, { kind: 'experiments' }>;
type StepExperiment = ExperimentsStep['experiments'][number];
const now = () => new Date().toISOString();

export async function runGameDay(input: GameDayInput): Promise<GameDayJournal> {
  const gd = new GameDay(input);
  if (input.searchAttributes)
    upsertSearchAttributes([
      { key: GAME_DAY_KEY, value: gd.id },
      { key: EXPERIMENT_KEY, value: input.title },
    ]);
  setHandlers(gd);
  gd.notifier.send('start', input.title, {
    ...gd.data(),
    owner: input.owner,
    approvers: input.approvers,
    steps: input.steps.map((s) => ({ name: s.name, kind: s.kind })),
  });
  await runSteps(gd);
  return finish(gd);
}

/** The running game day: what its messages recorded (`st`), and what the main loop and its waits hold. */
class GameDay {
  readonly id = workflowInfo().workflowId;
  readonly st: GameDayState;
  /**
   * Game days started before this marker (no marker in their history) keep the old command order: their
   * skip and abort handlers and their deadline timer cancel the running step themselves. Every game day
   * started since leaves that decision to the main loop alone.
   */
  readonly legacy: boolean;
  /** Child workflows not yet closed. */
  running = 0;
  /** The running step's experiments (legacy handlers cancel it). */
  stepScope: CancellationScope | undefined;
  /** What the main loop waits for, while it waits (block). */
  waitsFor: (() => boolean) | undefined;
  finished = false;
  /** Its notifications (workflows/notify.ts): its own start, gates and verdict; its children send theirs. */
  readonly notifier = new Notifier('gameday', () => (this.j.notify ??= { delivered: 0, failed: [] }));

  constructor(readonly input: GameDayInput) {
    this.st = newGameDayState(input, this.id, now());
    this.legacy = !patched('gameday-decisions-in-main-loop');
    this.notifier.add(input.notify);
  }

  /** What every event of the game day carries about it. */
  data(): Record<string, unknown> {
    return { workflowId: this.id, runId: workflowInfo().runId, title: this.input.title };
  }

  get j(): GameDayJournal {
    return this.st.j;
  }

  skipped(name: string): boolean {
    return this.st.skips.includes(name);
  }

  details(): void {
    setCurrentDetails(
      `**Game day:** ${this.input.title} · owner ${this.input.owner}\n\n${this.j.steps.map((s) => `- ${s.name}: ${s.verdict ?? s.status}`).join('\n')}`,
    );
  }

  /**
   * The main loop blocks only here: what it waits for, while it waits. It has settled when it waits for
   * something not yet true (or has finished): every message and child result so far has taken effect.
   */
  async block(ready: () => boolean): Promise<void> {
    if (this.legacy) return condition(ready); // the old code's awaits, one for one
    this.waitsFor = ready;
    try {
      await condition(ready);
    } finally {
      this.waitsFor = undefined;
    }
  }

  /**
   * Resolves once the main loop has settled after everything this workflow task brought: first the
   * microtasks of the task run (a child's result reaching the loop), then the loop must be blocked on
   * something not yet true. Issues no command.
   */
  settled(): Promise<void> {
    let drained = false;
    void Promise.resolve().then(() => {
      drained = true;
    });
    return condition(() => drained && (this.finished || (this.waitsFor !== undefined && !this.waitsFor())));
  }
}

// ── The handlers: one per message; each validates, records and returns. None of them issues a command. ──

const refuse = (problem: string | undefined) => {
  if (problem) throw new Error(problem);
};
/** A refusal found once the main loop has settled: a failed update (the validator has passed it already). */
const refuseSettled = (type: string, problem: string | undefined) => {
  if (problem) throw ApplicationFailure.create({ type, message: problem, nonRetryable: true });
};

async function onApprove(gd: GameDay, a: { who: string; step?: string }): Promise<GameDayJournal> {
  if (!gd.legacy) {
    await gd.settled();
    refuseSettled('ApprovalRefused', approvalProblem(gd.st, a));
  }
  recordApproval(gd.st, a, now());
  return gd.j;
}

function onNote(gd: GameDay, a: { who: string; text: string }): GameDayJournal {
  recordNote(gd.st, a, now());
  return gd.j;
}

async function onSkip(gd: GameDay, a: { step: string; who: string }): Promise<GameDayJournal> {
  if (!gd.legacy) {
    await gd.settled(); // a step that ended in this very task is not skipped after the fact
    refuseSettled('SkipRefused', skipProblem(gd.st, a));
  }
  recordSkip(gd.st, a, now());
  if (gd.legacy && gd.st.current === a.step) gd.stepScope?.cancel();
  return gd.j;
}

async function onAbort(gd: GameDay, a: { reason: string; who: string }): Promise<GameDayJournal> {
  const first = !gd.st.abort;
  recordAbort(gd.st, a, now());
  if (gd.legacy && first) gd.stepScope?.cancel();
  await condition(() => gd.running === 0); // the main loop cancels; every running child reverts and closes
  return gd.j;
}

function setHandlers(gd: GameDay): void {
  setHandler(gameDayQuery, () => gd.j);
  setHandler(approveGateUpdate, (a) => onApprove(gd, a), {
    validator: (a) => refuse(gd.legacy ? approvalProblem(gd.st, a) : approvalRefusal(gd.st, a)),
  });
  setHandler(addNoteUpdate, (a) => onNote(gd, a), { validator: (a) => refuse(noteProblem(a)) });
  setHandler(skipStepUpdate, (a) => onSkip(gd, a), { validator: (a) => refuse(skipProblem(gd.st, a)) });
  setHandler(abortGameDayUpdate, (a) => onAbort(gd, a), { validator: (a) => refuse(abortProblem(a)) });
}

// ── The main loop: one step at a time, one runner per step kind. ──

/** A step's runner: runs it and sets its status; false stops the game day (a failure under its policy). */
type StepRunner<S extends GameDayStep> = (gd: GameDay, step: S, rec: StepRecord) => Promise<boolean>;

const runners: { [K in GameDayStep['kind']]: StepRunner<Extract<GameDayStep, { kind: K }>> } = {
  note: async (gd, step, rec) => {
    gd.j.events.push({ at: now(), who: gd.input.owner, what: 'note', step: step.name, text: step.text });
    rec.status = 'done';
    return true;
  },
  gate: async (gd, _step, rec) => {
    rec.status = (await waitForApproval(gd, rec)) ? 'passed' : gd.st.abort ? 'aborted' : 'skipped';
    return true;
  },
  experiments: async (gd, step, rec) => {
    await runExperiments(gd, step, rec);
    return (rec.status as StepStatus) === 'failed' ? onFailure(gd, step, rec) : true;
  },
};

async function runSteps(gd: GameDay): Promise<void> {
  for (const [idx, step] of gd.input.steps.entries()) {
    const rec = gd.j.steps[idx] as StepRecord;
    gd.st.current = step.name;
    if (gd.st.abort || gd.skipped(step.name)) {
      rec.status = 'skipped';
      continue;
    }
    rec.startedAt = now();
    rec.status = 'running';
    gd.details();
    const goOn = await (runners[step.kind] as StepRunner<GameDayStep>)(gd, step, rec);
    rec.verdict = stepVerdict(rec);
    rec.finishedAt = now();
    if (!goOn) break;
  }
  for (const s of gd.j.steps) if (s.status === 'pending') s.status = 'skipped';
}

/** Waits at `rec` until an approval names it, a skip, or an abort; true when approved. */
async function waitForApproval(gd: GameDay, rec: StepRecord): Promise<boolean> {
  rec.status = 'waiting';
  gd.j.waitingAt = rec.name;
  gd.details();
  const step = gd.input.steps.find((s) => s.name === rec.name);
  gd.notifier.send('approval', rec.name, {
    ...gd.data(),
    step: rec.name,
    ...(step?.kind === 'gate' ? { gate: step.text } : { failed: rec.reason }),
    approvers: gd.input.approvers,
    approve: `faultline gameday approve ${gd.id} --who NAME --step ${rec.name}`,
  });
  const { st } = gd;
  await gd.block(() => !!approvedBy(st, rec.name) || !!st.abort || gd.skipped(rec.name));
  gd.j.waitingAt = undefined;
  return !!approvedBy(st, rec.name) && !st.abort && !gd.skipped(rec.name);
}

/** A failed experiment step: its policy decides whether the game day goes on, never whether it passed. */
async function onFailure(gd: GameDay, step: ExperimentsStep, rec: StepRecord): Promise<boolean> {
  let go = step.onFailure === 'continue';
  if (step.onFailure === 'ask') {
    go = await waitForApproval(gd, rec); // an approver says go on; an abort or a skip says stop
    rec.status = 'failed';
  }
  go &&= !gd.st.abort;
  rec.onFailure = {
    policy: step.onFailure,
    wentOn: go,
    ...(step.onFailure === 'ask' && go ? { by: approvedBy(gd.st, rec.name) } : {}),
  };
  return go;
}

/** An experiment step: its children at once, stopped by its deadline, a skip of it or an abort. */
async function runExperiments(gd: GameDay, step: ExperimentsStep, rec: StepRecord): Promise<void> {
  const scope = new CancellationScope();
  gd.stepScope = scope;
  let timedOut = false;
  // The deadline timer lives in its own scope, cancelled once the children are done, so it can never
  // fire into a later step. It only records; the main loop cancels the step (legacy: the timer does).
  const timer = new CancellationScope();
  if (step.deadline)
    timer
      .run(() => sleep(durationMs(step.deadline as string)))
      .then(
        () => {
          timedOut = true;
          if (gd.legacy) scope.cancel();
        },
        () => undefined,
      );
  const children = scope
    .run(() => Promise.all(step.experiments.map((e, i) => runChild(gd, rec, e, i))))
    .catch((err: unknown) => {
      if (!isCancellation(err)) throw err;
    });
  if (gd.legacy) await children;
  else {
    let done = false;
    const ended = children.finally(() => {
      done = true;
    });
    // The one place a step's experiments are stopped: its deadline, a skip of it, an abort.
    await gd.block(() => done || timedOut || !!gd.st.abort || gd.skipped(step.name));
    if (!done) scope.cancel();
    await gd.block(() => done);
    await ended;
  }
  timer.cancel();
  await gd.block(() => gd.running === 0);
  gd.stepScope = undefined;
  stepOutcome(gd, step, rec, timedOut);
}

/** How an experiment step ended, once its children have closed. */
function stepOutcome(gd: GameDay, step: ExperimentsStep, rec: StepRecord, timedOut: boolean): void {
  const bad = rec.children.filter((c) => c.verdict !== 'passed');
  if (gd.st.abort) {
    rec.status = 'aborted';
    rec.reason = `aborted by ${gd.st.abort.who}: ${gd.st.abort.reason}`;
  } else if (gd.skipped(step.name)) {
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

/** One experiment of a step as a child workflow; its verdict (or why it has none) lands in `rec`. */
async function runChild(gd: GameDay, rec: StepRecord, exp: StepExperiment, i: number): Promise<void> {
  const workflowId = `${gd.id}-${rec.name}${i ? `-${i + 1}` : ''}`;
  const child = { workflowId, title: exp.experiment.title } as StepRecord['children'][number];
  rec.children.push(child);
  gd.running++;
  try {
    const r = (await executeChild(WORKFLOW_TYPE, childOptions(gd, rec, exp, workflowId))) as Journal;
    child.verdict = r.verdict;
    child.reason = r.reason;
  } catch (err) {
    child.verdict = 'aborted';
    child.reason = isCancellation(err) ? 'cancelled by the game day' : String(err);
  } finally {
    gd.running--;
  }
}

function childOptions(
  gd: GameDay,
  rec: StepRecord,
  exp: StepExperiment,
  workflowId: string,
): ChildWorkflowOptions & { args: [RunInput] } {
  const { input } = gd;
  const run: RunInput = {
    experiment: exp.experiment,
    file: exp.file,
    submittedBy: `game day ${gd.id}`,
    searchAttributes: input.searchAttributes,
    ...(input.notify?.length ? { notify: input.notify } : {}),
  };
  return {
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
            { key: GAME_DAY_KEY, value: gd.id },
          ],
        }
      : {}),
  };
}

/** After the last step: the handlers finish (new game days), then the verdict over the steps. */
async function finish(gd: GameDay): Promise<GameDayJournal> {
  const { j } = gd;
  if (!gd.legacy) {
    gd.finished = true;
    await condition(allHandlersFinished); // an approval that came too late is refused, not left unanswered
  }
  const outcome = decideGameDay({ title: gd.input.title, steps: j.steps, events: j.events, abort: gd.st.abort });
  j.verdict = outcome.verdict;
  j.reason = outcome.reason;
  j.summary = outcome.summary;
  j.finishedAt = now();
  gd.st.current = undefined;
  gd.details();
  if (gd.input.searchAttributes) upsertSearchAttributes([{ key: VERDICT_KEY, value: j.verdict }]);
  gd.notifier.send('verdict', gd.input.title, {
    ...gd.data(),
    verdict: j.verdict,
    reason: j.reason,
    steps: j.steps.map((s) => ({ name: s.name, status: s.status, verdict: s.verdict })),
  });
  await gd.notifier.drain();
  return j;
}
