// The experiment workflow: steady state before, plan, inject (intent first), observe under the guard,
// revert (never cancellable, retried until done), steady state after, verdict. Deterministic only.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  log,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { AbortRecord, FaultRecord, Journal, Phase, Verdict } from '../experiments/journal.ts';
import type { FaultEntry } from '../experiments/schema.ts';
import { durationMs, formatMs } from '../faults/duration.ts';
import { ACTIVITY_SLACK_MS, INJECT_ACTIVITY_MS, PROBE_ACTIVITY_MS } from '../faults/limits.ts';
import { abortExperimentUpdate, journalQuery, type RunInput } from './definitions.ts';
import { EXPERIMENT_KEY, FAULT_KINDS_KEY, PHASE_KEY, VERDICT_KEY } from './search-attributes.ts';

// One proxy per retry policy (budgets from faults/limits.ts, which validation checks against); calls add only their summary and window-dependent timeouts
// (executeWithOptions deep-merges over these).
const probes = proxyActivities<Activities>({ startToCloseTimeout: PROBE_ACTIVITY_MS, retry: { maximumAttempts: 2 } });
const planning = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '200ms' },
});
const injecting = proxyActivities<Activities>({
  startToCloseTimeout: INJECT_ACTIVITY_MS,
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});
const reverting = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { maximumAttempts: 3, initialInterval: '100ms', maximumInterval: '1s' },
});
// The guard is retried without limit (a new worker picks it up after a crash), and is awaited until it
// has really stopped when cancelled: it renews leases, and must not renew a rule the revert removed.
const guarding = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '5s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '200ms', maximumInterval: '2s' },
});

const KEEPALIVE_MS = 3_000;

export async function runExperiment(input: RunInput): Promise<Journal> {
  const e = input.experiment;
  const info = workflowInfo();
  const now = () => new Date().toISOString();
  const journal: Journal = {
    experiment: e,
    file: input.file,
    workflowId: info.workflowId,
    runId: info.runId,
    startedAt: now(),
    phase: 'starting',
    faults: [],
    steadyStateBefore: [],
    guardSamples: { count: 0, failed: 0 },
    steadyStateAfter: [],
  };
  let abort: AbortRecord | undefined;
  let revertsDone = false;
  const windowScope = new CancellationScope();

  const setPhase = (phase: Phase) => {
    journal.phase = phase;
    const left = journal.windowEndsAt ? ` · window ends ${journal.windowEndsAt}` : '';
    setCurrentDetails(`**Phase:** ${phase}${left}\n\n**Hypothesis:** ${e.hypothesis.statement}`);
    if (input.searchAttributes) upsertSearchAttributes([{ key: PHASE_KEY, value: phase }]);
  };

  setHandler(journalQuery, () => journal);
  setHandler(
    abortExperimentUpdate,
    async (req) => {
      if (!abort && !revertsDone) {
        abort = { by: req.emergency ? 'emergency-stop' : 'operator', reason: req.reason, who: req.who, at: now() };
        windowScope.cancel();
      }
      await condition(() => revertsDone);
      return journal;
    },
    {
      validator: (req) => {
        if (!req?.reason?.trim()) throw new Error('an abort needs a reason');
      },
    },
  );

  if (input.searchAttributes) {
    upsertSearchAttributes([
      { key: EXPERIMENT_KEY, value: e.title },
      { key: FAULT_KINDS_KEY, value: [...new Set(e.method.map((f) => f.kind))] },
    ]);
  }

  const finish = async (verdict: Verdict, reason: string): Promise<Journal> => {
    journal.verdict = verdict;
    journal.reason = reason;
    journal.finishedAt = now();
    setPhase('done');
    setCurrentDetails(`**Verdict:** ${verdict}: ${reason}\n\n**Hypothesis:** ${e.hypothesis.statement}`);
    if (input.searchAttributes) upsertSearchAttributes([{ key: VERDICT_KEY, value: verdict }]);
    // Not cancellable: a cancelled run still finishes its journal (the result people read).
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    return journal;
  };

  // 1. Steady state before: nothing is injected unless it holds.
  setPhase('steady-state-before');
  journal.steadyStateBefore = await probes.runProbes.executeWithOptions(
    { summary: `steady state before: ${e.hypothesis.probes.map((p) => p.name).join(', ')}` },
    [e.hypothesis.probes],
  );
  const failing = journal.steadyStateBefore.filter((s) => !s.ok);
  if (failing.length) {
    revertsDone = true;
    return finish(
      'not-started',
      `steady state did not hold before the experiment: ${failing.map((s) => `${s.probe}: ${s.violations.join('; ')}`).join(' | ')}`,
    );
  }
  if (abort) {
    revertsDone = true;
    return finish('aborted', `aborted by ${abort.by} before any fault was injected: ${abort.reason}`);
  }

  // Reverting one fault: memoised so per-fault timers, aborts and the final sweep never revert twice.
  const reverts = new Map<number, Promise<void>>();
  const revertOne = (rec: FaultRecord): Promise<void> => {
    let p = reverts.get(rec.index);
    if (!p) {
      p = CancellationScope.nonCancellable(async () => {
        if (!rec.handle) {
          rec.status = 'not-applied';
          return;
        }
        for (let attempt = 1; ; attempt++) {
          rec.revertAttempts = attempt;
          try {
            const r = await reverting.revertFault.executeWithOptions({ summary: `revert: ${rec.summary}` }, [
              rec.kind,
              rec.handle,
            ]);
            rec.status = 'reverted';
            rec.revertedAt ??= r.at; // keep the guard's earlier revert time when it reverted first
            return;
          } catch (err) {
            rec.errors.push(`revert attempt ${attempt}: ${errorText(err)}`);
            log.warn('revert failed, retrying', { fault: rec.summary, attempt });
            await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
          }
        }
      });
      reverts.set(rec.index, p);
    }
    return p;
  };

  let failure: string | undefined;
  try {
    await windowScope.run(async () => {
      // 2. Plan: select targets (seeded, recorded) and expand faults over them.
      setPhase('selecting');
      const seed = e.targets?.seed ?? Math.floor(Math.random() * 2 ** 31);
      const plan = await planning.planFaults.executeWithOptions({ summary: `select targets (seed ${seed})` }, [
        e,
        seed,
      ]);
      journal.selection = plan.selection ? { seed, ...plan.selection } : undefined;
      journal.faults = plan.faults.map((f, i) => ({
        ...f,
        index: i,
        status: 'planned',
        errors: [],
        revertAttempts: 0,
      }));

      // 3. Inject: intent (the handle from prepare) lands in history before the side effect.
      setPhase('injecting');
      const start = Date.now();
      const windowMs = Math.max(...e.method.map((f) => durationMs(f.duration)));
      // All intents first (every handle is in history before any side effect), then every inject at
      // once, so the faults of one method land together. Neither step is cancellable: an inject under
      // way finishes (or fails) before anything reverts it, so a revert never overtakes its inject.
      const settle = async (step: (rec: FaultRecord) => Promise<void>) => {
        const results = await CancellationScope.nonCancellable(() => Promise.allSettled(journal.faults.map(step)));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      };
      await settle(async (rec) => {
        rec.status = 'intent';
        rec.intentAt = now();
        rec.handle = await injecting.prepareFault.executeWithOptions({ summary: `record intent: ${rec.summary}` }, [
          e.method[rec.faultIndex] as FaultEntry,
          rec.target,
        ]);
      });
      if (abort) return; // an abort during injection: inject nothing, revert nothing that was not applied
      await settle(async (rec) => {
        try {
          const r = await injecting.injectFault.executeWithOptions({ summary: rec.summary }, [
            e.method[rec.faultIndex] as FaultEntry,
            rec.handle as Record<string, unknown>,
          ]);
          rec.status = 'injected';
          rec.injectedAt = r.at;
        } catch (err) {
          rec.status = 'inject-failed';
          throw err;
        }
      });
      if (abort) return;

      // 4. Observe: one guard activity for the window; each fault is reverted when its own duration ends.
      journal.windowEndsAt = new Date(start + windowMs).toISOString();
      setPhase('observing');
      for (const rec of journal.faults) {
        const spec = e.method[rec.faultIndex];
        const ms = spec ? durationMs(spec.duration) : windowMs;
        if (ms < windowMs) {
          sleep(Math.max(0, start + ms - Date.now())).then(
            () => revertOne(rec),
            () => undefined,
          );
        }
      }
      const obs = await guarding.observe.executeWithOptions(
        {
          summary: e.guard
            ? `guard ${e.guard.probes.map((p) => p.name).join(', ')} every ${e.guard.interval} for ${formatMs(windowMs)}`
            : `hold faults for ${formatMs(windowMs)}`,
          startToCloseTimeout: windowMs + ACTIVITY_SLACK_MS,
        },
        [
          {
            guard: e.guard,
            windowEndsAt: start + windowMs,
            active: journal.faults
              .filter((f) => f.handle && f.status === 'injected')
              .map((f) => ({ index: f.index, kind: f.kind, handle: f.handle as Record<string, unknown> })),
            keepAliveEveryMs: KEEPALIVE_MS,
          },
        ],
      );
      journal.guardSamples = {
        count: obs.samples,
        failed: obs.failed,
        first: obs.first,
        last: obs.last,
        worst: obs.worst,
      };
      for (const [index, at] of Object.entries(obs.reverted ?? {})) {
        const rec = journal.faults[Number(index)];
        if (rec) rec.revertedAt = at; // reverted by the guard; the sweep below confirms it
      }
      for (const [index, msg] of Object.entries(obs.revertErrors ?? {}))
        journal.faults[Number(index)]?.errors.push(`guard fast-path revert: ${msg}`);
      if (obs.violated && obs.failing) {
        abort = {
          by: 'guard',
          reason: `guard probe ${obs.failing.probe} failed: ${obs.failing.violations.join('; ')}`,
          at: obs.detectedAt ?? now(),
          sample: obs.failing,
        };
      }
    });
  } catch (err) {
    if (isCancellation(err)) {
      abort ??= { by: 'cancel', reason: 'the workflow was cancelled', at: now() };
    } else {
      failure = errorText(err);
    }
  } finally {
    windowScope.cancel(); // stops pending per-fault timers
    // 5. Revert everything that may have been applied, in parallel, whatever happened above.
    setPhase('reverting');
    await CancellationScope.nonCancellable(() => Promise.all(journal.faults.map((rec) => revertOne(rec))));
    revertsDone = true;
  }

  const lastRevert = Math.max(0, ...journal.faults.map((f) => (f.revertedAt ? Date.parse(f.revertedAt) : 0)));
  if (abort && lastRevert) journal.detectToRevertMs = Math.max(0, lastRevert - Date.parse(abort.at));
  journal.abort = abort;

  if (failure && !journal.faults.some((f) => f.handle))
    return finish('not-started', `nothing was injected: ${failure}`);
  if (failure) return finish('failed', `a fault could not be injected: ${failure}; everything injected was reverted`);
  if (abort?.by === 'cancel') return finish('aborted', 'the workflow was cancelled; every fault was reverted');

  // 6. Steady state after, within the recovery time.
  setPhase('steady-state-after');
  const recovery = durationMs(e.afterCheck.recoveryTimeout);
  const after = await CancellationScope.nonCancellable(() =>
    probes.awaitSteadyState.executeWithOptions(
      {
        summary: `steady state after (recovery up to ${e.afterCheck.recoveryTimeout})`,
        startToCloseTimeout: recovery + ACTIVITY_SLACK_MS,
        heartbeatTimeout: '30s',
      },
      [e.hypothesis.probes, recovery],
    ),
  );
  journal.steadyStateAfter = after.samples;
  if (abort) {
    return finish(
      'aborted',
      `${abort.by === 'guard' ? 'the guard' : abort.by} aborted the experiment: ${abort.reason}; every fault was reverted${after.ok ? ' and the steady state recovered' : ', but the steady state did NOT recover'}`,
    );
  }
  if (!after.ok) {
    const bad = after.samples.filter((s) => !s.ok);
    return finish(
      'refuted',
      `the steady state did not recover within ${e.afterCheck.recoveryTimeout}: ${bad.map((s) => `${s.probe}: ${s.violations.join('; ')}`).join(' | ')}`,
    );
  }
  return finish('passed', `the steady state held: ${e.hypothesis.statement}`);
}

function errorText(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return errorText(err.cause);
  if (err instanceof ApplicationFailure) return `${err.type ?? 'Error'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
