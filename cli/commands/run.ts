// faultline run FILE [--wait] [--json]: validate, start the workflow, optionally follow it live.
import { parseExperimentFile } from '../../experiments/parse.ts';
import { InvalidInput } from '../../errors.ts';
import { exitCodeFor, type Journal } from '../../experiments/journal.ts';
import type { FaultlineClient } from '../client.ts';
import { progressLine, summary } from '../render.ts';
import type { Io } from '../io.ts';

export interface RunOptions {
  wait?: boolean;
  json?: boolean;
  taskQueue?: string;
  worker?: boolean;
  who?: string;
  dryRun?: boolean;
}

export async function runCommand(file: string, opts: RunOptions, io: Io): Promise<number> {
  const parsed = await parseExperimentFile(file);
  if (!parsed.ok) throw new InvalidInput(`${file} is not a valid experiment`, parsed.problems);
  if (opts.dryRun) return (await import('./dry-run.ts')).dryRunCommand(parsed.experiment, file, io);
  // Temporal's client (gRPC, protobufs) and the worker load only for a valid file: a bad file costs what
  // `validate` costs.
  const [{ connectClient, startExperiment }, { ensureTemporal }] = await Promise.all([
    import('../client.ts'),
    import('../embedded.ts'),
  ]);
  await ensureTemporal();
  const fc = await connectClient();
  const ac = new AbortController();
  let workerDone: Promise<void> | undefined;
  try {
    if (opts.worker) {
      // Loaded only here: `run` on a bad file, or without --worker, never loads the worker and its bundler.
      const { runWorker } = await import('../../worker/worker.ts');
      workerDone = runWorker({ taskQueue: opts.taskQueue, signal: ac.signal });
    }
    const started = await startExperiment(fc, parsed.experiment, { file, taskQueue: opts.taskQueue, who: opts.who });
    if (!opts.wait) {
      if (opts.json) io.out(JSON.stringify(started));
      else io.out(`started ${started.workflowId}${started.url ? `\n  history: ${started.url}` : ''}`);
      return 0;
    }
    if (!opts.json) io.out(`started ${started.workflowId}${started.url ? `\n  history: ${started.url}` : ''}`);
    const journal = await follow(fc, started.workflowId, io, !opts.json);
    if (opts.json) io.out(JSON.stringify(journal, null, 2));
    else io.out(summary(journal, started.url));
    const { writeReport } = await import('../../report/file.ts');
    (opts.json ? io.err : io.out)(`report: ${writeReport(journal)}`);
    return exitCodeFor(journal.verdict);
  } finally {
    ac.abort();
    await workerDone?.catch(() => undefined);
    await fc.close();
  }
}

/** Polls status for live progress (phase, time left, last guard sample) until the run closes. */
export async function follow(fc: FaultlineClient, id: string, io: Io, show: boolean): Promise<Journal> {
  const { getStatus } = await import('../client.ts');
  let lastPrinted = '';
  let lastAt = 0;
  for (;;) {
    const s = await getStatus(fc, id);
    if (s.status !== 'RUNNING') {
      if (show && io.isTTY) io.out('');
      if (s.journal?.verdict) return s.journal;
      throw new Error(`experiment ${id} ended as ${s.status} without a verdict`);
    }
    const line = progressLine(s.journal, s.guard);
    const phaseChanged = line.split(']')[0] !== lastPrinted.split(']')[0];
    if (show && (io.isTTY || phaseChanged || Date.now() - lastAt > 5_000)) {
      io.live(line);
      lastPrinted = line;
      lastAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}
