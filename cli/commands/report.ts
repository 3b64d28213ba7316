// faultline report ID [--html FILE] [--json] [--junit FILE]: one self-contained HTML file of a run or of a
// game day (its timeline and every child run; charts inlined, no network needed to view it), the journal(s)
// as JSON, or the verdict as JUnit XML for CI (a game day: a test case per step; report/junit.ts).
import { connectClient, getStatus, type FaultlineClient } from '../client.ts';
import { ANSWER_TIMEOUT_MS, hasWorker, noWorkerMessage, within, WorkerUnavailable } from '../workers.ts';
import { gameDayStatus } from '../gamedays.ts';
import { writeGameDayReport, writeReport } from '../../report/file.ts';
import { InvalidInput } from '../../errors.ts';
import { GAME_DAY_TYPE } from '../../definitions/gameday.ts';
import type { Journal } from '../../experiments/journal.ts';
import type { Io } from '../io.ts';

export interface ReportOptions {
  html?: string;
  json?: boolean;
  junit?: string;
  /** ctk-journal: the run as a Chaos Toolkit journal (report/ctk-journal.ts), to --out or printed. */
  format?: string;
  out?: string;
}

async function isGameDay(fc: FaultlineClient, id: string): Promise<boolean> {
  const d = await fc.client.workflow
    .getHandle(id)
    .describe()
    .catch(() => undefined); // not found: getStatus says so, naming the ID
  return d?.type === GAME_DAY_TYPE;
}

export async function reportCommand(id: string, opts: ReportOptions, io: Io): Promise<number> {
  if (opts.format !== undefined && opts.format !== 'ctk-journal')
    throw new InvalidInput(`--format: unknown format ${JSON.stringify(opts.format)}; known: ctk-journal`);
  if (opts.out !== undefined && opts.format === undefined)
    throw new InvalidInput('--out goes with --format ctk-journal (--html FILE and --junit FILE name their own files)');
  const fc = await connectClient();
  try {
    if (await isGameDay(fc, id)) {
      if (opts.format)
        throw new InvalidInput(`${id} is a game day: --format ctk-journal writes one run; give a child run's ID`);
      return await gameDayReport(fc, id, opts, io);
    }
    let s = await getStatus(fc, id, { query: false });
    if (s.status === 'RUNNING' && s.taskQueue) {
      // A running run's journal is a query its worker answers: with none polling, say so at once.
      if (!(await hasWorker(fc, s.taskQueue)))
        throw new WorkerUnavailable(noWorkerMessage(s.taskQueue, `the report of the running run ${id}`));
      s = await getStatus(fc, id);
    }
    if (!s.journal) throw new InvalidInput(`experiment ${id} has no journal yet (status ${s.status})`);
    if (opts.format === 'ctk-journal') {
      // Chaos Toolkit writes its journal once a run has ended; a running one would read as failed.
      if (!s.journal.verdict)
        throw new InvalidInput(
          `${id} has not finished (phase ${s.journal.phase}): a Chaos Toolkit journal is written for a finished run`,
        );
      const { toCtkJournal } = await import('../../report/ctk-journal.ts');
      const text = JSON.stringify(toCtkJournal(s.journal), null, 2);
      if (!opts.out) io.out(text);
      else {
        const { writeOut } = await import('../write-out.ts');
        writeOut(opts.out, `${text}\n`);
        io.out(`chaos toolkit journal: ${opts.out}`);
      }
      return 0;
    }
    if (opts.junit) {
      const { runJunit, writeJunit } = await import('../../report/junit.ts');
      (opts.json ? io.err : io.out)(`junit: ${writeJunit(runJunit(s.journal), opts.junit)}`);
      if (!opts.html && !opts.json) return 0;
    }
    if (opts.json) {
      io.out(JSON.stringify(s.journal, null, 2));
      if (!opts.html) return 0;
    }
    const file = writeReport(s.journal, opts.html);
    (opts.json ? io.err : io.out)(`report: ${file}`);
    return 0;
  } finally {
    await fc.close();
  }
}

async function gameDayReport(fc: FaultlineClient, id: string, opts: ReportOptions, io: Io): Promise<number> {
  // A running game day's journal and its running children's are queries their worker answers: with none
  // polling, say so at once; with one, the whole read is bounded.
  const live = await gameDayStatus(fc, id, { query: false });
  if (live.status === 'RUNNING' && live.taskQueue && !(await hasWorker(fc, live.taskQueue)))
    throw new WorkerUnavailable(noWorkerMessage(live.taskQueue, `the report of the running game day ${id}`));
  const { g, runs } = await within(
    fc,
    { what: `the report of game day ${id}`, timeoutMs: ANSWER_TIMEOUT_MS },
    async () => {
      const g = live.status === 'RUNNING' ? await gameDayStatus(fc, id) : live;
      const runs: Record<string, Journal | undefined> = {};
      for (const c of g.journal?.steps.flatMap((st) => st.children) ?? [])
        // a child run that is gone (retention) or unreadable: the report shows the step without it
        runs[c.workflowId] = (await getStatus(fc, c.workflowId).catch(() => undefined))?.journal;
      return { g, runs };
    },
  );
  if (!g.journal) throw new InvalidInput(`game day ${id} has no journal yet (status ${g.status})`);
  if (opts.junit) {
    const { gameDayJunit, writeJunit } = await import('../../report/junit.ts');
    (opts.json ? io.err : io.out)(`junit: ${writeJunit(gameDayJunit(g.journal), opts.junit)}`);
    if (!opts.html && !opts.json) return 0;
  }
  if (opts.json) {
    io.out(JSON.stringify({ gameDay: g.journal, runs }, null, 2));
    if (!opts.html) return 0;
  }
  const file = writeGameDayReport(g.journal, runs, opts.html);
  (opts.json ? io.err : io.out)(`report: ${file}`);
  return 0;
}
