// The game day as a small state object, and what its messages may do to it. Pure: no Temporal, no I/O.
// The workflow's message handlers only validate (these `...Problem` functions) and record (the `record...`
// functions); its main loop reads the state and decides: opens a gate, cancels a step's experiments,
// stops. So a message never issues a command, and a replay rebuilds the same state from the same messages
// whatever worker handles them.
//
// An update's validator runs while the other jobs of its workflow task (a child that just ended, say) have
// not yet moved the main loop on, and a worker with no cache replays a history with the events of
// command-less tasks in the same activation as the new message: the state it sees may lag. So the
// validator refuses only what no later progress can make right (`approvalRefusal`: not an approver, no
// such step, a step that never waits or has ended), and the approval's handler, once the main loop has
// settled, checks the rest (`approvalProblem`: the step named is the one waiting) before it records.
import type { GameDayInput, GameDayJournal } from '../experiments/gameday-types.ts';

export interface GameDayState {
  readonly j: GameDayJournal;
  /** Approvals, each of the step it named and that was waiting when it came (a gate, or a failed step's ask). */
  approvals: { step: string; who: string }[];
  /** Steps an operator skipped (before they started, while waiting or while running). */
  skips: string[];
  abort?: { reason: string; who: string };
  /** The step the main loop is at (notes and aborts are recorded against it). */
  current?: string;
  /** Steps that can wait for an approval: gates, and experiment steps with `onFailure: ask`. */
  readonly waits: string[];
}

export function newGameDayState(input: GameDayInput, workflowId: string, at: string): GameDayState {
  return {
    j: {
      title: input.title,
      workflowId,
      owner: input.owner,
      approvers: input.approvers,
      observers: input.observers,
      startedAt: at,
      steps: input.steps.map((s) => ({ name: s.name, kind: s.kind, status: 'pending', children: [] })),
      events: [],
    },
    approvals: [],
    skips: [],
    waits: input.steps
      .filter((s) => s.kind === 'gate' || (s.kind === 'experiments' && s.onFailure === 'ask'))
      .map((s) => s.name),
  };
}

const list = (xs: string[]) => xs.join(', ') || 'none';
const waitingText = (s: GameDayState) =>
  s.j.waitingAt ? `waiting: ${s.j.waitingAt}` : 'no step is waiting for an approval';

const notWaiting = (s: GameDayState, name: string, status: string) => {
  const by = s.approvals.filter((x) => x.step === name).map((x) => x.who);
  return `step ${name} is not waiting for an approval (it is ${status}${by.length ? `, approved by ${by.join(', ')}` : ''}); ${waitingText(s)}`;
};

/**
 * What refuses an approval whatever the main loop does next (the update's validator): not an approver or
 * the owner, no such step, a step that never waits (a note, an experiment step that does not ask), a step
 * past its wait. Undefined: it may be right once the main loop has settled (approvalProblem decides then).
 */
export function approvalRefusal(s: GameDayState, a: { who: string; step?: string }): string | undefined {
  if (!s.j.approvers.includes(a.who) && a.who !== s.j.owner)
    return `${a.who} is not an approver (approvers: ${list(s.j.approvers)}; or the owner, ${s.j.owner})`;
  if (a.step === undefined) return undefined;
  const step = s.j.steps.find((x) => x.name === a.step);
  if (!step) return `no step named ${a.step} (steps: ${list(s.j.steps.map((x) => x.name))}); ${waitingText(s)}`;
  if (!s.waits.includes(step.name))
    return `step ${a.step} never waits for an approval (${step.kind === 'note' ? 'a note' : 'an experiment step whose onFailure is not ask'}); ${waitingText(s)}`;
  const ended = ['passed', 'skipped', 'aborted', 'done'].includes(step.status) || !!step.onFailure;
  if (ended) return notWaiting(s, step.name, step.status);
  return undefined;
}

/** Why an approval (of `step`, or of the step waiting when it names none) is refused now; undefined: accepted. */
export function approvalProblem(s: GameDayState, a: { who: string; step?: string }): string | undefined {
  const refusal = approvalRefusal(s, a);
  if (refusal) return refusal;
  const name = a.step ?? s.j.waitingAt;
  if (name === undefined) return 'the game day is not waiting for an approval (no step is waiting)';
  const step = s.j.steps.find((x) => x.name === name);
  if (s.j.waitingAt !== name) return notWaiting(s, name, step?.status ?? 'unknown');
  const by = approvedBy(s, name);
  if (by) return `step ${name} is approved already (by ${by})`;
  return undefined;
}

/**
 * Why an approval of `step` is refused once the game day has ended (its final journal), in the words a
 * running game day uses: an approval sent late reads the same whether the game day is still running or not.
 */
export function endedApprovalProblem(j: GameDayJournal, step: string): string {
  const ended = `the game day has ended${j.verdict ? ` (${j.verdict})` : ''}; nothing waits`;
  const rec = j.steps.find((x) => x.name === step);
  if (!rec) return `no step named ${step} (steps: ${list(j.steps.map((x) => x.name))}); ${ended}`;
  const by = j.events.filter((e) => e.what === 'approve' && e.step === step).map((e) => e.who);
  return `step ${step} is not waiting for an approval (it is ${rec.status}${by.length ? `, approved by ${by.join(', ')}` : ''}); ${ended}`;
}

/** An approval: in the journal always; it opens (or answers) only the step it names, if that step waits. */
export function recordApproval(s: GameDayState, a: { who: string; step?: string }, at: string): void {
  const step = a.step ?? s.j.waitingAt; // an old client names no step: the one waiting
  s.j.events.push({ at, who: a.who, what: 'approve', step });
  if (step !== undefined && step === s.j.waitingAt) s.approvals.push({ step, who: a.who });
}

/** Who approved `step` while it waited, if anyone did. */
export const approvedBy = (s: GameDayState, step: string): string | undefined =>
  s.approvals.find((a) => a.step === step)?.who;

export function skipProblem(s: GameDayState, a: { step: string }): string | undefined {
  const step = s.j.steps.find((x) => x.name === a.step);
  if (!step) return `no step named ${a.step} (steps: ${list(s.j.steps.map((x) => x.name))})`;
  if (!['pending', 'running', 'waiting'].includes(step.status)) return `step ${a.step} is ${step.status} already`;
  return undefined;
}

export function recordSkip(s: GameDayState, a: { step: string; who: string }, at: string): void {
  if (!s.skips.includes(a.step)) s.skips.push(a.step);
  s.j.events.push({ at, who: a.who, what: 'skip', step: a.step });
}

export const noteProblem = (a: { text: string }): string | undefined =>
  a.text?.trim() ? undefined : 'a note needs text';

export function recordNote(s: GameDayState, a: { who: string; text: string }, at: string): void {
  s.j.events.push({ at, who: a.who, what: 'note', step: s.current, text: a.text });
}

export const abortProblem = (a: { reason: string }): string | undefined =>
  a.reason?.trim() ? undefined : 'an abort needs a reason';

/** The first abort counts; a second one only waits with it. */
export function recordAbort(s: GameDayState, a: { reason: string; who: string }, at: string): void {
  if (s.abort) return;
  s.abort = { reason: a.reason, who: a.who };
  s.j.events.push({ at, who: a.who, what: 'abort', step: s.current, text: a.reason });
}
