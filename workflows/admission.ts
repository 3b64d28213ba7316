// The admission workflow: one long-lived, durable record of which runs hold which targets, the policy,
// approvals and the safety lever. Every run asks it (update-with-start) before it injects anything and
// signals it when its reverts are done. A run that ends without releasing (terminated, crashed worker
// that never came back) cannot keep a hold: before refusing because of a holder, and every 15 s while
// anything is held, the workflow asks Temporal whether the holders' runs are still open and drops the
// closed ones. Continues as new when the history grows.
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
import { admit, evaluate, initialState, release, type Hold } from '../experiments/admission.ts';
import {
  admissionStateQuery,
  admitUpdate,
  approveUpdate,
  pullLeverUpdate,
  releaseLeverUpdate,
  releaseSignal,
  setPolicyUpdate,
  type AdmissionInput,
} from './admission-definitions.ts';

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});

const SWEEP_EVERY = '15s';
const MAX_HISTORY = 4_000;

export async function admission(input: AdmissionInput = {}): Promise<void> {
  const state = input.state ?? initialState();
  const now = () => new Date().toISOString();

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
    if (state.holds.length) {
      if (!(await condition(tooLong, SWEEP_EVERY))) await dropClosed([...state.holds]);
    } else await condition(() => tooLong() || state.holds.length > 0);
    if (tooLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof admission>({ state });
    }
  }
}
