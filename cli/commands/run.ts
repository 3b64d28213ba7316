// faultline run FILE [--wait] [--json] [--junit F] [--timeout D]: validate, start the workflow, optionally
// follow it live; --junit (which implies --wait) writes the verdict as JUnit XML for CI (report/junit.ts).
// --wait needs a worker on the task queue (said at once, nothing started, exit 3, when none polls it) and
// follows the run up to --timeout (default: the longest the run can take, see runSpanMs); without --wait a
// run with no worker is started anyway (it waits for one), with a warning.
import { parseExperimentFile } from '../../experiments/parse.ts';
import { InvalidInput } from '../../errors.ts';
import { exitCodeFor, type Journal } from '../../experiments/journal.ts';
import { formatMs } from '../../faults/duration.ts';
import type { FaultlineClient } from '../client.ts';
import { WaitTimedOut, requireWorker, runSpanMs, startWorkerHint, timeoutOption, warnIfNoWorker } from '../workers.ts';
import { progressLine, summary } from '../render.ts';
import type { Io } from '../io.ts';
import { metricsSetting, parseMetricsAddress } from '../../activities/metrics.ts';

export interface RunOptions {
  wait?: boolean;
  json?: boolean;
  taskQueue?: string;
  worker?: boolean;
  who?: string;
  dryRun?: boolean;
  /** --wait: how long to follow the run (default runSpanMs of the experiment). */
  timeout?: string;
  /** Write the verdict as JUnit XML to this file (implies wait). */
  junit?: string;
  /** --worker: serve the in-process worker's metrics there (else FAULTLINE_METRICS). */
  metrics?: string;
}

export async function runCommand(file: string, opts: RunOptions, io: Io): Promise<number> {
  const parsed = await parseExperimentFile(file);
  if (!parsed.ok) throw new InvalidInput(`${file} is not a valid experiment`, parsed.problems);
  if (opts.dryRun) return (await import('./dry-run.ts')).dryRunCommand(parsed.experiment, file, io);
  if (opts.junit) {
    const problem = (await import('../../report/junit.ts')).junitPathProblem(opts.junit);
    if (problem) throw new InvalidInput(`--junit ${opts.junit}: cannot write there (${problem}); nothing started`);
  }
  const timeoutMs = timeoutOption(opts.timeout, runSpanMs(parsed.experiment));
  if (opts.metrics !== undefined && !opts.worker)
    throw new InvalidInput(`--metrics serves the in-process worker's metrics: it needs --worker; nothing started`);
  const ms = metricsSetting(opts.metrics);
  if (opts.worker) parseMetricsAddress(ms.text, ms.source); // a bad setting is refused before anything loads
  // Loaded only here: `run` on a bad file, or without --worker, never loads the worker and its bundler. The
  // endpoint is bound first: a port in use is refused (exit 2) before a server starts or a run is started.
  const inProcess = opts.worker ? await import('../../worker/worker.ts') : undefined;
  const metrics = await inProcess?.openMetricsEndpoint(ms.text, ms.source);
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
      if (metrics) io.err(`worker metrics: ${metrics.url}`);
      workerDone = inProcess?.runWorker({ taskQueue: opts.taskQueue, signal: ac.signal, metrics });
    } else if (opts.wait) await requireWorker(fc, opts.taskQueue, 'run --wait');
    else await warnIfNoWorker(fc, opts.taskQueue, 'the run is started and waits', io);
    const started = await startExperiment(fc, parsed.experiment, { file, taskQueue: opts.taskQueue, who: opts.who });
    if (!opts.wait) {
      if (opts.json) io.out(JSON.stringify(started));
      else io.out(`started ${started.workflowId}${started.url ? `\n  history: ${started.url}` : ''}`);
      return 0;
    }
    if (!opts.json) io.out(`started ${started.workflowId}${started.url ? `\n  history: ${started.url}` : ''}`);
    const journal = await follow(fc, started.workflowId, io, !opts.json, timeoutMs);
    if (opts.json) io.out(JSON.stringify(journal, null, 2));
    else io.out(summary(journal, started.url));
    const { writeReport } = await import('../../report/file.ts');
    (opts.json ? io.err : io.out)(`report: ${writeReport(journal)}`);
    if (opts.junit) {
      const { runJunit, writeJunit } = await import('../../report/junit.ts');
      (opts.json ? io.err : io.out)(`junit: ${writeJunit(runJunit(journal), opts.junit)}`);
    }
    return exitCodeFor(journal.verdict);
  } finally {
    ac.abort();
    // the worker's own failure was reported when it happened; here it is only being stopped
    await workerDone?.catch(() => undefined);
    await fc.close();
  }
}

/**
 * Polls status for live progress (phase, time left, last guard sample) until the run closes, at most
 * timeoutMs (then WaitTimedOut: the run goes on). Says once when no worker has taken the run's work for 10 s.
 */
export async function follow(
  fc: FaultlineClient,
  id: string,
  io: Io,
  show: boolean,
  timeoutMs = Infinity,
): Promise<Journal> {
  const { getStatus, waitingForWorkerMs } = await import('../client.ts');
  let lastPrinted = '';
  let lastAt = 0;
  let toldNoWorker = false;
  const started = Date.now();
  for (let i = 0; ; i++) {
    if (Date.now() - started > timeoutMs)
      throw new WaitTimedOut(
        `run ${id} has not ended within ${formatMs(timeoutMs)}; it goes on: \`faultline status ${id}\`, \`faultline abort ${id} --reason TEXT\``,
      );
    const s = await getStatus(fc, id);
    if (!toldNoWorker && s.status === 'RUNNING' && i % 10 === 9) {
      const waited = await waitingForWorkerMs(fc, id).catch(() => 0);
      if (waited >= 10_000 && s.taskQueue) {
        toldNoWorker = true;
        io.err(
          `no worker has taken this run's work for ${Math.round(waited / 1000)} s (its worker may have died): it goes on once one polls task queue ${s.taskQueue}; start one with ${startWorkerHint(s.taskQueue)}`,
        );
      }
    }
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
