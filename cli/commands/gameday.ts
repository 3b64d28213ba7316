// faultline gameday run FILE [--wait [--timeout D]] [--junit F] | status ID | approve ID --who [--step STEP] | note ID TEXT
// --who | abort ID --reason | skip ID STEP: game days as a parent workflow with child experiment workflows.
// Every command that needs a worker says so at once when none polls the game day's task queue (exit 3, one
// line: cli/workers.ts); `run` without --wait starts it and warns; `run --wait` gives up after its bound.
import { WorkflowNotFoundError } from '@temporalio/client';
import { InvalidInput } from '../../errors.ts';
import { durationMs } from '../../faults/duration.ts';
import type { GameDayInput } from '../../experiments/gameday-types.ts';
import { parseGameDayFile } from '../../experiments/gameday.ts';
import type { GameDayJournal } from '../../experiments/gameday-types.ts';
import { exitCodeFor } from '../../experiments/journal.ts';
import { connectClient, type FaultlineClient } from '../client.ts';
import {
  abortGameDay,
  approveGameDay,
  gameDayStatus,
  noteGameDay,
  skipGameDayStep,
  startGameDay,
  waitForGameDay,
} from '../gamedays.ts';
import type { Io } from '../io.ts';
import {
  ANSWER_TIMEOUT_MS,
  REVERT_TIMEOUT_MS,
  hasWorker,
  noWorkerMessage,
  requireWorker,
  runSpanMs,
  timeoutOption,
  warnIfNoWorker,
  within,
} from '../workers.ts';
import { renderGameDay } from '../render.ts';

export interface GameDayOptions {
  wait?: boolean;
  json?: boolean;
  who?: string;
  reason?: string;
  /** approve: the gate (or the failed step's `ask`) approved; default: the one step waiting. */
  step?: string;
  taskQueue?: string;
  /** run: write each step's verdict as JUnit XML to this file (implies wait). */
  junit?: string;
  /** run --wait: how long to wait for the game day to end (default: gameDaySpanMs). */
  timeout?: string;
}

/** What a gate or an `ask` may wait for a person, in the default bound of `gameday run --wait`. */
export const HUMAN_WAIT_MS = 60 * 60_000;

/**
 * The default bound of `gameday run --wait`: each experiment step's longest run (runSpanMs, or its deadline
 * when shorter), plus an hour for each gate and each step that may ask. A game day past it goes on.
 */
export function gameDaySpanMs(g: GameDayInput): number {
  let ms = 0;
  for (const st of g.steps) {
    if (st.kind === 'gate') ms += HUMAN_WAIT_MS;
    if (st.kind !== 'experiments') continue;
    const span = Math.max(0, ...st.experiments.map((x) => runSpanMs(x.experiment)));
    ms += st.deadline ? Math.min(span, durationMs(st.deadline) + 10 * 60_000) : span;
    if (st.onFailure === 'ask') ms += HUMAN_WAIT_MS;
  }
  return ms;
}

/**
 * A running game day's journal, updates and approvals are answered by a worker of its task queue: with
 * none polling, one line (exit 3) at once. A game day that ended needs none; one that does not exist is
 * the caller's input (exit 2).
 */
async function requireGameDayWorker(fc: FaultlineClient, id: string, what: string): Promise<void> {
  let d;
  try {
    d = await fc.client.workflow.getHandle(id).describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new InvalidInput(`no game day with ID ${id}`);
    throw e;
  }
  if (d.status.name === 'RUNNING') await requireWorker(fc, d.taskQueue, what);
}

const ACTIONS = ['run', 'status', 'approve', 'note', 'abort', 'skip'];

export async function gameDayCommand(action: string, args: string[], o: GameDayOptions, io: Io): Promise<number> {
  if (!ACTIONS.includes(action)) throw new InvalidInput(`gameday ${action}: one of ${ACTIONS.join(', ')}`);
  const [target, extra] = args;
  if (!target) throw new InvalidInput(`gameday ${action} needs ${action === 'run' ? 'FILE' : 'ID'}`);
  const who = o.who ?? process.env.USER ?? 'unknown';
  if ((action === 'approve' || action === 'note') && !o.who?.trim())
    throw new InvalidInput(`gameday ${action} needs --who NAME`);
  if (action === 'note' && !extra?.trim()) throw new InvalidInput('gameday note needs TEXT');
  if (action === 'skip' && !extra?.trim()) throw new InvalidInput('gameday skip needs STEP');
  if (o.step !== undefined && (action !== 'approve' || !o.step.trim()))
    throw new InvalidInput(action === 'approve' ? '--step needs a step name' : `gameday ${action} takes no --step`);
  if (action === 'abort' && !o.reason?.trim()) throw new InvalidInput('gameday abort needs --reason TEXT');
  if (o.junit !== undefined) {
    if (action !== 'run')
      throw new InvalidInput(`gameday ${action} takes no --junit (\`faultline report ID --junit FILE\` writes one)`);
    const problem = (await import('../../report/junit.ts')).junitPathProblem(o.junit);
    if (problem) throw new InvalidInput(`--junit ${o.junit}: cannot write there (${problem}); nothing started`);
  }
  const wait = !!o.wait || !!o.junit;
  let input;
  if (action === 'run') {
    const r = await parseGameDayFile(target); // validated before connecting: exit 2, nothing started
    if (!r.ok) throw new InvalidInput(`${target} is not a valid game day`, r.problems);
    input = r.value;
  }
  const timeoutMs = action === 'run' && wait ? timeoutOption(o.timeout, gameDaySpanMs(input!)) : undefined;
  if (o.timeout !== undefined && timeoutMs === undefined)
    throw new InvalidInput('--timeout: only with gameday run --wait');
  const fc = await connectClient();
  const show = (j: GameDayJournal | undefined, extraText = '') => {
    io.out(o.json ? JSON.stringify(j, null, 2) : `${extraText}${j ? renderGameDay(j) : ''}`);
  };
  try {
    switch (action) {
      case 'run': {
        if (wait) await requireWorker(fc, o.taskQueue, `gameday run ${o.junit ? '--junit' : '--wait'}`);
        else await warnIfNoWorker(fc, o.taskQueue, 'the game day is started and waits', io);
        const started = await startGameDay(fc, input!, { taskQueue: o.taskQueue });
        if (!wait) {
          io.out(
            o.json
              ? JSON.stringify(started)
              : `started ${started.workflowId}${started.url ? `\n  history: ${started.url}` : ''}`,
          );
          return 0;
        }
        if (!o.json) io.out(`started ${started.workflowId}`);
        const j = await within(
          fc,
          {
            what: `game day ${started.workflowId}`,
            timeoutMs: timeoutMs as number,
            after: `it goes on: \`faultline gameday status ${started.workflowId}\`, \`faultline gameday abort ${started.workflowId} --reason TEXT\``,
          },
          () => waitForGameDay(fc, started.workflowId),
        );
        show(j);
        if (o.junit) {
          const { gameDayJunit, writeJunit } = await import('../../report/junit.ts');
          (o.json ? io.err : io.out)(`junit: ${writeJunit(gameDayJunit(j), o.junit)}`);
        }
        return exitCodeFor(j.verdict);
      }
      case 'status': {
        // A running game day's journal is a query its worker answers: with none polling, say so and show
        // what the server knows (like `status` of a run).
        let s = await gameDayStatus(fc, target, { query: false });
        if (s.status === 'RUNNING' && s.taskQueue) {
          if (await hasWorker(fc, s.taskQueue)) s = await gameDayStatus(fc, target);
          else io.err(`warning: ${noWorkerMessage(s.taskQueue, 'its live journal')}`);
        }
        if (o.json) io.out(JSON.stringify(s, null, 2));
        else show(s.journal, `${target}: ${s.status}\n`);
        return s.status === 'RUNNING' ? 0 : exitCodeFor(s.journal?.verdict);
      }
      case 'approve': {
        await requireGameDayWorker(fc, target, 'gameday approve');
        const a = await within(fc, { what: `the approval of ${target}`, timeoutMs: ANSWER_TIMEOUT_MS }, () =>
          approveGameDay(fc, target, who, o.step),
        );
        show(a.journal, `approved ${a.step} by ${who}${a.defaulted ? ' (the step waiting; --step names one)' : ''}\n`);
        return 0;
      }
      case 'note':
        await requireGameDayWorker(fc, target, 'gameday note');
        show(
          await within(fc, { what: `the note on ${target}`, timeoutMs: ANSWER_TIMEOUT_MS }, () =>
            noteGameDay(fc, target, who, extra as string),
          ),
          'noted\n',
        );
        return 0;
      case 'skip':
        await requireGameDayWorker(fc, target, 'gameday skip');
        show(
          await within(fc, { what: `skipping ${extra} of ${target}`, timeoutMs: ANSWER_TIMEOUT_MS }, () =>
            skipGameDayStep(fc, target, extra as string, who),
          ),
          `skipped ${extra}\n`,
        );
        return 0;
      default: {
        await requireGameDayWorker(fc, target, 'gameday abort');
        const j = await within(
          fc,
          {
            what: `the abort of ${target}`,
            timeoutMs: REVERT_TIMEOUT_MS,
            io,
            after: 'the abort is recorded; its experiments revert as their workers run',
          },
          () => abortGameDay(fc, target, o.reason as string, who),
        );
        show(j, 'aborted; every running experiment has reverted\n');
        return 0;
      }
    }
  } finally {
    await fc.close();
  }
}
