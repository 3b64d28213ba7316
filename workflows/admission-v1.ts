// The admission workflow as it ran before 'admission-decide-in-loop' (./admission.ts), kept unchanged for
// the histories it recorded: a run of it replays this code, and at its first task on a worker of today's
// code (the marker is recorded there) it answers an `admit` with a transient refusal that the admitRun
// activity retries, and continues as new into the current code with its state.
//
// Its defect, the reason for the new code: the `admit` handler decided and issued commands (closedRuns)
// while other jobs of the same activation were still to be applied. A fresh worker gets the jobs of a
// workflow task that issued no command (a timer that fired, a release) in one activation with a new
// `admit`, and applies the update first; replay applies them in two. See ./admission.ts.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/index.ts';
import { admit, evaluate, initialState, release, type Decision, type Hold } from '../experiments/admission.ts';
import {
  admissionStateQuery,
  admitUpdate,
  approveUpdate,
  pullLeverUpdate,
  releaseLeverUpdate,
  releaseSignal,
  setPolicyUpdate,
  type AdmissionInput,
} from '../definitions/admission.ts';

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});

const SWEEP_EVERY = '15s';
const MAX_HISTORY = 4_000;

/** What an `admit` gets while this run hands over to the current code: the activity asks again. */
export const MOVING: Decision = {
  admitted: false,
  retryable: true,
  transient: true,
  reason: 'admission control is continuing as new into its current version; asking again',
};

/**
 * moveOn: patched('admission-decide-in-loop'), false while replaying a history recorded by this code and
 * true from its first live task on: then this run stops deciding and continues as new.
 */
export async function admissionV1(input: AdmissionInput, moveOn: () => boolean): Promise<void> {
  const state = input.state ?? initialState();
  const now = () => new Date().toISOString();
  let moving = false;

  /** Drops holds whose runs have closed. On a failed check the holds stay: refusing is the safe side. */
  const dropClosed = async (holds: Hold[]) => {
    if (!holds.length) return;
    try {
      const closed = await control.closedRuns(holds.map((h) => ({ workflowId: h.workflowId, runId: h.runId })));
      for (const c of closed) {
        release(state, c.workflowId, c.runId);
        log.info('dropped the hold of a closed run', c);
      }
    } catch (err) {
      log.warn('could not check holders', { error: String(err) });
    }
  };

  setHandler(admissionStateQuery, () => state);
  setHandler(
    admitUpdate,
    async (req) => {
      if (moving || moveOn()) {
        moving = true;
        return MOVING;
      }
      let d = evaluate(state, req, Date.now());
      if (!d.admitted && d.blockers?.length) {
        await dropClosed(d.blockers);
        d = evaluate(state, req, Date.now()); // synchronous from here to admit: no interleaving
      }
      if (d.admitted) admit(state, req, now());
      return d;
    },
    {
      validator: (req) => {
        if (!req?.workflowId || !req.runId) throw new Error('admit needs workflowId and runId');
      },
    },
  );
  setHandler(releaseSignal, ({ workflowId, runId }) => {
    release(state, workflowId, runId);
  });
  setHandler(setPolicyUpdate, (policy) => {
    state.policy = policy;
    return state;
  });
  setHandler(
    pullLeverUpdate,
    ({ reason, who }) => {
      state.lever ??= { reason, who, at: now() };
      return [...state.holds];
    },
    {
      validator: (req) => {
        if (!req?.reason?.trim()) throw new Error('pulling the lever needs a reason');
      },
    },
  );
  setHandler(releaseLeverUpdate, () => {
    const was = state.lever;
    state.lever = undefined;
    return was;
  });
  setHandler(approveUpdate, ({ workflowId, who }) => {
    if (!state.approvals.some((a) => a.workflowId === workflowId)) state.approvals.push({ workflowId, who, at: now() });
    return state;
  });

  for (;;) {
    const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY;
    const wake = () => tooLong() || moving;
    if (state.holds.length) {
      if (!(await condition(wake, SWEEP_EVERY))) await dropClosed([...state.holds]);
    } else await condition(() => wake() || state.holds.length > 0);
    if (moving || tooLong() || moveOn()) {
      await condition(allHandlersFinished);
      await continueAsNew<(input: AdmissionInput) => Promise<void>>({ state });
    }
  }
}
