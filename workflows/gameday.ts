// The game-day workflow: a parent with one child workflow per experiment (the UI shows them under it),
// steps in order, parallel groups, gates that wait for an approver, notes, a failure policy per step, and
// an abort that returns only once every running child has reverted. Deterministic only.
import {
  ChildWorkflowCancellationType,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { GameDayInput, GameDayJournal, GameDayStep, StepRecord } from '../experiments/gameday-types.ts';
import type { Journal } from '../experiments/journal.ts';
import { durationMs } from '../faults/duration.ts';
import { WORKFLOW_TYPE, type RunInput } from './definitions.ts';
import {
  abortGameDayUpdate,
  addNoteUpdate,
  approveGateUpdate,
  gameDayQuery,
  skipStepUpdate,
} from './gameday-definitions.ts';
import { EXPERIMENT_KEY, FAULT_KINDS_KEY, GAME_DAY_KEY, VERDICT_KEY } from './search-attributes.ts';

export async function runGameDay(input: GameDayInput): Promise<GameDayJournal> {
  const info = workflowInfo();
  const now = () => new Date().toISOString();
  const j: GameDayJournal = {
    title: input.title,
    workflowId: info.workflowId,
    owner: input.owner,
    approvers: input.approvers,
    observers: input.observers,
    startedAt: now(),
    steps: input.steps.map((s) => ({ name: s.name, kind: s.kind, status: 'pending', children: [] })),
    events: [],
  };
  let aborted: { reason: string; who: string } | undefined;
  let approved = false; // the current wait's answer
  const skipped = new Set<string>();
  let running = 0; // child workflows not yet closed
  let stepScope: CancellationScope | undefined;
  let current: string | undefined;

  const details = () =>
    setCurrentDetails(
      `**Game day:** ${input.title} · owner ${input.owner}\n\n${j.steps.map((s) => `- ${s.name}: ${s.status}`).join('\n')}`,
    );
  if (input.searchAttributes)
    upsertSearchAttributes([
      { key: GAME_DAY_KEY, value: info.workflowId },
      { key: EXPERIMENT_KEY, value: input.title },
    ]);

  setHandler(gameDayQuery, () => j);
  setHandler(
    approveGateUpdate,
    ({ who }) => {
      approved = true;
      j.events.push({ at: now(), who, what: 'approve', step: j.waitingAt });
      return j;
    },
    {
      validator: ({ who }) => {
        if (!j.waitingAt) throw new Error('the game day is not waiting for an approval');
        if (!input.approvers.includes(who) && who !== input.owner)
          throw new Error(`${who} is not an approver (approvers: ${input.approvers.join(', ')})`);
      },
    },
  );
  setHandler(
    addNoteUpdate,
    ({ who, text }) => {
      j.events.push({ at: now(), who, what: 'note', step: current, text });
      return j;
    },
    {
      validator: ({ text }) =>
        void (
          text?.trim() ||
          (() => {
            throw new Error('a note needs text');
          })()
        ),
    },
  );
  setHandler(
    skipStepUpdate,
    ({ step, who }) => {
      skipped.add(step);
      j.events.push({ at: now(), who, what: 'skip', step });
      if (current === step) stepScope?.cancel();
      return j;
    },
    {
      validator: ({ step }) => {
        const s = j.steps.find((x) => x.name === step);
        if (!s) throw new Error(`no step named ${step} (steps: ${j.steps.map((x) => x.name).join(', ')})`);
        if (!['pending', 'running', 'waiting'].includes(s.status))
          throw new Error(`step ${step} is ${s.status} already`);
      },
    },
  );
  setHandler(
    abortGameDayUpdate,
    async ({ reason, who }) => {
      if (!aborted) {
        aborted = { reason, who };
        j.events.push({ at: now(), who, what: 'abort', step: current, text: reason });
        stepScope?.cancel();
      }
      await condition(() => running === 0); // every running child has reverted and closed
      return j;
    },
    {
      validator: ({ reason }) =>
        void (
          reason?.trim() ||
          (() => {
            throw new Error('an abort needs a reason');
          })()
        ),
    },
  );

  const waitForApproval = async (rec: StepRecord) => {
    rec.status = 'waiting';
    j.waitingAt = rec.name;
    approved = false;
    details();
    await condition(() => approved || !!aborted || skipped.has(rec.name));
    j.waitingAt = undefined;
    return approved && !aborted && !skipped.has(rec.name);
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

  for (const [idx, step] of input.steps.entries()) {
    const rec = j.steps[idx] as StepRecord;
    current = step.name;
    if (aborted || skipped.has(step.name)) {
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
      rec.status = (await waitForApproval(rec)) ? 'passed' : aborted ? 'aborted' : 'skipped';
    } else {
      await runExperiments(step, rec);
      if ((rec.status as string) === 'failed') {
        let go = step.onFailure === 'continue';
        if (step.onFailure === 'ask') {
          go = await waitForApproval(rec); // an approver says go on; an abort or a skip says stop
          rec.status = 'failed';
        }
        const ab = aborted as { reason: string; who: string } | undefined;
        if (!go || ab) {
          rec.finishedAt = now();
          j.verdict = ab ? 'aborted' : 'refuted';
          j.reason = ab
            ? `aborted by ${ab.who}: ${ab.reason}`
            : `step ${step.name} failed (${rec.reason}); on failure: ${step.onFailure}, so the game day stopped`;
          break;
        }
      }
    }
    rec.finishedAt = now();
  }
  for (const s of j.steps) if (s.status === 'pending') s.status = 'skipped';

  async function runExperiments(step: Extract<GameDayStep, { kind: 'experiments' }>, rec: StepRecord) {
    const scope = new CancellationScope();
    stepScope = scope;
    let timedOut = false;
    // The deadline timer lives in its own scope, cancelled once the children are done, so it can never
    // fire into a later step.
    const timer = new CancellationScope();
    if (step.deadline)
      timer
        .run(() => sleep(durationMs(step.deadline as string)))
        .then(
          () => {
            timedOut = true;
            scope.cancel();
          },
          () => undefined,
        );
    await scope
      .run(() => Promise.all(step.experiments.map((e, i) => runChild(rec, e, i))))
      .catch((err: unknown) => {
        if (!isCancellation(err)) throw err;
      });
    timer.cancel();
    await condition(() => running === 0);
    stepScope = undefined;
    const bad = rec.children.filter((c) => c.verdict !== 'passed');
    if (aborted) {
      rec.status = 'aborted';
      rec.reason = `aborted by ${aborted.who}: ${aborted.reason}`;
    } else if (skipped.has(step.name)) {
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

  if (aborted) {
    j.verdict = 'aborted';
    j.reason = `aborted by ${aborted.who}: ${aborted.reason}`;
  }
  j.verdict ??= 'passed';
  j.reason ??= 'every step passed';
  j.finishedAt = now();
  const count = (st: string) => j.steps.filter((s) => s.status === st).length;
  j.summary = `${input.title}: ${j.verdict} · ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped, ${count('aborted')} aborted · ${j.events.filter((e) => e.what === 'approve').length} approvals, ${j.events.filter((e) => e.what === 'note').length} notes`;
  current = undefined;
  details();
  if (input.searchAttributes) upsertSearchAttributes([{ key: VERDICT_KEY, value: j.verdict }]);
  return j;
}
