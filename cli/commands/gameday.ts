// faultline gameday run FILE [--wait] [--junit F] | status ID | approve ID --who [--step STEP] | note ID TEXT --who |
// abort ID --reason | skip ID STEP: game days as a parent workflow with child experiment workflows.
import { InvalidInput } from '../../errors.ts';
import { parseGameDayFile } from '../../experiments/gameday.ts';
import type { GameDayJournal } from '../../experiments/gameday-types.ts';
import { exitCodeFor } from '../../experiments/journal.ts';
import { connectClient } from '../client.ts';
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
  let input;
  if (action === 'run') {
    const r = await parseGameDayFile(target); // validated before connecting: exit 2, nothing started
    if (!r.ok) throw new InvalidInput(`${target} is not a valid game day`, r.problems);
    input = r.value;
  }
  const fc = await connectClient();
  const show = (j: GameDayJournal | undefined, extraText = '') => {
    io.out(o.json ? JSON.stringify(j, null, 2) : `${extraText}${j ? renderGameDay(j) : ''}`);
  };
  try {
    switch (action) {
      case 'run': {
        const started = await startGameDay(fc, input!, { taskQueue: o.taskQueue });
        if (!o.wait && !o.junit) {
          io.out(
            o.json
              ? JSON.stringify(started)
              : `started ${started.workflowId}${started.url ? `\n  history: ${started.url}` : ''}`,
          );
          return 0;
        }
        if (!o.json) io.out(`started ${started.workflowId}`);
        const j = await waitForGameDay(fc, started.workflowId);
        show(j);
        if (o.junit) {
          const { gameDayJunit, writeJunit } = await import('../../report/junit.ts');
          (o.json ? io.err : io.out)(`junit: ${writeJunit(gameDayJunit(j), o.junit)}`);
        }
        return exitCodeFor(j.verdict);
      }
      case 'status': {
        const s = await gameDayStatus(fc, target);
        if (o.json) io.out(JSON.stringify(s, null, 2));
        else show(s.journal, `${target}: ${s.status}\n`);
        return s.status === 'RUNNING' ? 0 : exitCodeFor(s.journal?.verdict);
      }
      case 'approve': {
        const a = await approveGameDay(fc, target, who, o.step);
        show(a.journal, `approved ${a.step} by ${who}${a.defaulted ? ' (the step waiting; --step names one)' : ''}\n`);
        return 0;
      }
      case 'note':
        show(await noteGameDay(fc, target, who, extra as string), 'noted\n');
        return 0;
      case 'skip':
        show(await skipGameDayStep(fc, target, extra as string, who), `skipped ${extra}\n`);
        return 0;
      default: {
        const j = await abortGameDay(fc, target, o.reason as string, who);
        show(j, 'aborted; every running experiment has reverted\n');
        return 0;
      }
    }
  } finally {
    await fc.close();
  }
}
