// The admission workflow: one long-lived, durable record of which runs hold which targets, the policy,
// approvals and the safety lever. Every run asks it before it injects anything (a signal, answered by a
// signal to the run; or the `admit` update, through an activity that starts admission when it does not
// run yet) and signals it when its reverts are done. A run that ends without releasing (terminated, crashed worker
// that never came back) cannot keep a hold: before refusing because of a holder, and every 15 s while
// anything is held, the workflow asks Temporal whether the holders' runs are still open and drops the
// closed ones. Continues as new when the history grows.
//
// The loop (decideInLoop), one pass per workflow task that has something to decide:
//
//   waiting ──a message, a holder check's result, an unreachable waiter, the sweep's timer, history long──▶ settling
//      ▲                                                           (every job of the activation applied: settled())
//      │                                                                       ▼
//      └──────────────────────────────────────────────── pass: 1. beforeTheMessages (the check's result, the
//                                                              unreachable waiters, a due sweep starts a check)
//                                                           2. the messages: releases (signals) first, then the
//                                                              others in the order they came; the queue served
//                                                              before the first and after each; an
//                                                              admit blocked by holders stops the pass until
//                                                              their check (one closedRuns at a time)
//                                                           3. the sweep armed while anything is held
//                                                           4. the answers to asks by signal sent (answerAsks)
//   history long, no check in flight, inbox empty ──▶ draining (handlers finish, answers delivered) ──▶ continue as new
//
// A run's targets, as admission's state records them (experiments/admission.ts):
//
//   asked (admit update, or admitAsk signal) ──admitted──▶ held ──release signal, its run found closed──▶ free
//        ├──refused, retryable, with waitUntil──▶ waiting ──their targets free──▶ reserved ──told (admissionChanged)──▶ asks again
//        │                                          └──its run unreachable, or stale──▶ dropped
//        └──refused (lever, blackout, limit, approval, or held with no wait)──▶ answered; its reservation and place dropped
//
// Determinism under every interleaving. The message handlers only record: each message goes to the inbox,
// and an update waits for its answer. Timers and activity results only set a flag. One place, the pass
// (pass()), makes every decision and issues every command, after the activation's jobs are all applied (the
// `settled` barrier). The jobs of one activation are not the same, nor in the same order, on a worker
// that runs the workflow live and on one that replays the history it wrote: (1) a worker that starts on a
// history whose last task issued no command (a timer that fired, an activity's result, a release) gets
// that task's jobs in one activation with a new `admit`, and the SDK applies updates before timers and
// activity results, while a replay gets them in two activations; (2) in one activation, a new update may
// come before a signal that history, and so a replay, puts first. So the pass applies what happened
// before the messages (an activity's result, the sweep's timer) first, and what it decides there reads
// nothing a message changed (such a task issued no command the first time, so it issues none the second);
// then the messages, signals before updates, updates in the order they were accepted.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/index.ts';
import {
  INVALID_ADMIT,
  admit,
  dropStale,
  enqueue,
  evaluate,
  initialState,
  refuse,
  release,
  serveQueue,
  type AdmissionState,
  type AdmitRequest,
  type Decision,
  type Hold,
  type Lever,
  type Policy,
  type Waiter,
} from '../experiments/admission.ts';
import {
  admissionChangedSignal,
  admissionStateQuery,
  admitAskSignal,
  admitUpdate,
  approveUpdate,
  pullLeverUpdate,
  releaseLeverUpdate,
  releaseSignal,
  setPolicyUpdate,
  type AdmissionInput,
  type AskAnswer,
} from '../definitions/admission.ts';
import { admissionV1 } from './admission-v1.ts';

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});

/** Runs with this marker decide in the main loop; runs without it replay ./admission-v1.ts. */
export const DECIDE_IN_LOOP_PATCH = 'admission-decide-in-loop';
export const SWEEP_EVERY_MS = 15_000;
const MAX_HISTORY = 4_000;
/**
 * Runs with this marker keep a queue of waiters (a refused admit that carries waitUntil) and signal them
 * (admissionChanged) when their targets are reserved; runs without it answer such an admit and forget it, as
 * the code before the queue did (a history it wrote, replayed, issues no signal it did not issue).
 */
export const QUEUE_PATCH = 'admission-queue';
/**
 * Runs with this marker decide asks that come as signals (admitAsk, sent by the runs themselves) and answer
 * them with one activity per decision pass (answerAsks: a signal to each run, admissionDecision). A history written before it has no such signal, or one
 * that code ignored (its run asked again by update): replayed, the ask is ignored again.
 */
export const SIGNALLED_ASKS_PATCH = 'admission-signalled-asks';
/** Answers per answerAsks activity, and undelivered answers at most. */
const ANSWERS_PER_BATCH = 200;
const MAX_ANSWERING = 1_000;
/** A waiter whose wait ended this long ago without asking again is gone (its run closed meanwhile). */
const STALE_AFTER_MS = 10 * 60_000;

export async function admission(input: AdmissionInput = {}): Promise<void> {
  if (!patched(DECIDE_IN_LOOP_PATCH)) return admissionV1(input, () => patched(DECIDE_IN_LOOP_PATCH));
  return decideInLoop(input);
}

type Message =
  | {
      kind: 'admit';
      req: AdmitRequest;
      answer: (d: Decision) => void;
      holdersChecked?: boolean;
      /** Asked by signal (admitAsk), answered by a signal to the run. */
      bySignal?: boolean;
    }
  | { kind: 'release'; workflowId: string; runId?: string }
  | { kind: 'setPolicy'; policy: Policy; answer: (s: AdmissionState) => void }
  | { kind: 'pullLever'; reason: string; who?: string; answer: (h: Hold[]) => void }
  | { kind: 'releaseLever'; answer: (l: Lever | undefined) => void }
  | { kind: 'approve'; workflowId: string; who: string; answer: (s: AdmissionState) => void };

type RunRef = { workflowId: string; runId: string };
const runKey = (r: RunRef) => `${r.workflowId}\u0000${r.runId}`;

/**
 * Resolves once every job of the current activation has been applied and every promise callback it
 * caused has run: the condition is false when created and true when the SDK next evaluates it, which it
 * does only after the microtasks have drained.
 */
function settled(): Promise<void> {
  let asked = false;
  return condition(() => {
    if (asked) return true;
    asked = true;
    return false;
  });
}

/** The loop's state: admission's record, the inbox of messages, and what callbacks set for the next pass. */
interface Desk {
  input: AdmissionInput;
  state: AdmissionState;
  sweepEvery: number;
  maxHistory: number;
  inbox: Message[];
  // Set by callbacks, applied by the pass.
  /** The sweep's timer: armed while anything is held, for the runs held when it was armed. */
  sweep?: { due: boolean; runs: Set<string> };
  /** The one closedRuns call in flight (for the admit at the head of the inbox, or for the sweep). */
  checking?: { forAdmit?: Extract<Message, { kind: 'admit' }> };
  checked?: { closed: RunRef[] } | { error: string };
  /** Waiters told that could not be reached (their run is gone). */
  unreachable: Waiter[];
  /** Decided asks that came by signal, answered at the end of the pass; answers not yet delivered. */
  answers: AskAnswer[];
  answering: number;
}

const now = () => new Date().toISOString();

/** The loop: wait for something to decide, let the activation settle, decide (the pass), continue as new. */
async function decideInLoop(input: AdmissionInput): Promise<void> {
  const desk: Desk = {
    input,
    state: input.state ?? initialState(),
    sweepEvery: input.sweepEveryMs ?? SWEEP_EVERY_MS,
    maxHistory: input.maxHistory ?? MAX_HISTORY,
    inbox: [],
    unreachable: [],
    answers: [],
    answering: 0,
  };
  recordMessages(desk);
  const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > desk.maxHistory;
  for (;;) {
    await condition(
      () =>
        !!desk.checked ||
        desk.unreachable.length > 0 ||
        (!desk.checking &&
          ((desk.inbox.length > 0 && desk.answering < MAX_ANSWERING) || !!desk.sweep?.due || tooLong())),
    );
    await settled();
    pass(desk);
    if (tooLong() && !desk.checking && !desk.inbox.length) {
      // Every answered update finishes first; a message that arrives meanwhile is handled, not dropped.
      // Answers too: they are delivered before the run ends.
      await condition(() => (allHandlersFinished() && desk.answering === 0) || desk.inbox.length > 0);
      if (!desk.inbox.length) await continueAsNew<typeof admission>({ ...input, state: desk.state });
    }
  }
}

/** The handlers only record: each message goes to the inbox, and an update waits for its answer. */
function recordMessages(desk: Desk): void {
  const { inbox } = desk;
  setHandler(admissionStateQuery, () => desk.state);
  setHandler(admitUpdate, (req) => new Promise<Decision>((answer) => inbox.push({ kind: 'admit', req, answer })), {
    validator: (req) => {
      if (!req?.workflowId || !req.runId)
        throw ApplicationFailure.nonRetryable('admit needs workflowId and runId', INVALID_ADMIT);
    },
  });
  setHandler(admitAskSignal, ({ req, ask }) => {
    if (!req?.workflowId || !req.runId) return; // no run to answer (the run's own code never sends one)
    // What a run reads: the holders (blockers) are admission's own, and could be thousands per answer.
    const answer = (d: Decision) => {
      const decision = d.admitted ? d : { ...d, blockers: undefined };
      desk.answers.push({ workflowId: req.workflowId, runId: req.runId, ask, decision });
    };
    inbox.push({ kind: 'admit', req, answer, bySignal: true });
  });
  setHandler(releaseSignal, ({ workflowId, runId }) => {
    inbox.push({ kind: 'release', workflowId, runId });
  });
  setHandler(setPolicyUpdate, (policy) => new Promise((answer) => inbox.push({ kind: 'setPolicy', policy, answer })));
  setHandler(
    pullLeverUpdate,
    ({ reason, who }) => new Promise((answer) => inbox.push({ kind: 'pullLever', reason, who, answer })),
    {
      validator: (req) => {
        if (!req?.reason?.trim()) throw new Error('pulling the lever needs a reason');
      },
    },
  );
  setHandler(
    releaseLeverUpdate,
    () => new Promise<Lever | undefined>((answer) => inbox.push({ kind: 'releaseLever', answer })),
  );
  setHandler(
    approveUpdate,
    ({ workflowId, who }) => new Promise((answer) => inbox.push({ kind: 'approve', workflowId, who, answer })),
  );
}

/** Asks Temporal which of these runs are closed (one call at a time); its result waits for the next pass. */
function startCheck(desk: Desk, runs: RunRef[], forAdmit?: Extract<Message, { kind: 'admit' }>): void {
  desk.checking = { forAdmit };
  control.closedRuns(runs.map((r) => ({ workflowId: r.workflowId, runId: r.runId }))).then(
    (closed) => {
      desk.checked = { closed };
    },
    (err: unknown) => {
      desk.checked = { error: String(err) };
    },
  );
}

/** The sweep's timer, for the runs held now. */
function arm(desk: Desk): void {
  const armed = { due: false, runs: new Set(desk.state.holds.map(runKey)) };
  desk.sweep = armed;
  sleep(desk.sweepEvery).then(
    () => {
      armed.due = true;
    },
    () => undefined, // the workflow was cancelled; the loop's own condition ends it
  );
}

/** Tells a waiter its targets are reserved (it asks again); one that cannot be reached is dropped next pass. */
function tell(desk: Desk, w: Waiter): void {
  getExternalWorkflowHandle(w.workflowId, w.runId)
    .signal(admissionChangedSignal)
    .catch(() => {
      desk.unreachable.push(w);
    });
}

/** One message; false when it waits for a holder check (it stays at the head of the inbox). */
function handle(desk: Desk, m: Message): boolean {
  const state = desk.state;
  switch (m.kind) {
    case 'admit': {
      // Code before SIGNALLED_ASKS_PATCH ignored these asks; replaying what it wrote, this code does too.
      if (m.bySignal && !patched(SIGNALLED_ASKS_PATCH)) return true;
      dropStale(state, Date.now(), STALE_AFTER_MS);
      const d = evaluate(state, m.req, Date.now());
      if (!d.admitted && d.retryable && d.blockers?.length && !m.holdersChecked) {
        startCheck(desk, d.blockers, m);
        return false;
      }
      if (d.admitted) admit(state, m.req, now());
      else if (d.retryable && m.req.waitUntil && patched(QUEUE_PATCH)) enqueue(state, m.req, now());
      else refuse(state, m.req);
      m.answer(d);
      return true;
    }
    case 'release':
      release(state, m.workflowId, m.runId);
      return true;
    case 'setPolicy':
      state.policy = m.policy;
      m.answer(state);
      return true;
    case 'pullLever':
      state.lever ??= { reason: m.reason, who: m.who, at: now() };
      m.answer([...state.holds]);
      return true;
    case 'releaseLever': {
      const was = state.lever;
      state.lever = undefined;
      m.answer(was);
      return true;
    }
    case 'approve':
      if (!state.approvals.some((a) => a.workflowId === m.workflowId))
        state.approvals.push({ workflowId: m.workflowId, who: m.who, at: now() });
      m.answer(state);
      return true;
  }
}

/** Every decision: first what happened before this task's messages, then the messages, then the sweep. */
function pass(desk: Desk): void {
  const state = desk.state;
  beforeTheMessages(desk);
  // Signals before updates: within one activation a new update may come before a signal that history
  // (and so a replay) puts first; updates keep the order they were accepted in, signals history's.
  desk.inbox.sort((x, y) => Number(x.kind !== 'release') - Number(y.kind !== 'release'));
  // The queue after every change, before the next message: reserve for the waiters that can go now
  // (a newcomer in the same task cannot take what a release freed for them), tell them (they ask again).
  const serve = () => {
    for (const w of serveQueue(state, now())) tell(desk, w);
  };
  serve();
  while (desk.inbox.length && !desk.checking && desk.answering < MAX_ANSWERING) {
    if (!handle(desk, desk.inbox[0] as Message)) break;
    desk.inbox.shift();
    serve();
  }
  if (!desk.sweep && state.holds.length) arm(desk);
  sendAnswers(desk);
}

/**
 * The first part of the pass: what happened before this task's messages (a holder check's result, the
 * waiters that could not be told, the sweep's timer). What it decides reads nothing a message changed.
 */
function beforeTheMessages(desk: Desk): void {
  const state = desk.state;
  if (desk.checked) {
    const result = desk.checked;
    const forAdmit = desk.checking?.forAdmit;
    desk.checked = undefined;
    desk.checking = undefined;
    if ('closed' in result)
      for (const c of result.closed) {
        release(state, c.workflowId, c.runId);
        log.info('dropped the hold of a closed run', c);
      }
    else log.warn('could not check holders', { error: result.error }); // the holds stay: refusing is the safe side
    if (forAdmit) forAdmit.holdersChecked = true;
  }
  for (const w of desk.unreachable.splice(0)) {
    release(state, w.workflowId, w.runId);
    log.info('dropped a waiter whose run is gone', { workflowId: w.workflowId, runId: w.runId });
  }
  if (desk.sweep?.due && !desk.checking) {
    const sweep = desk.sweep;
    const due = state.holds.filter((h) => sweep.runs.has(runKey(h)));
    desk.sweep = undefined;
    if (due.length) startCheck(desk, due);
  }
}

/** Answers every ask decided in this pass: one answerAsks activity per batch (its retries re-send). */
function sendAnswers(desk: Desk): void {
  while (desk.answers.length) {
    const batch = desk.answers.splice(0, ANSWERS_PER_BATCH);
    desk.answering += batch.length;
    control.answerAsks
      .executeWithOptions({ summary: `answer ${batch.length} admission asks` }, [batch])
      .catch((err: unknown) => {
        // Those runs ask again by update when no answer comes (workflows/admission-client.ts).
        log.warn('could not answer admission asks', { asks: batch.length, error: String(err) });
      })
      .finally(() => {
        desk.answering -= batch.length;
      });
  }
}
