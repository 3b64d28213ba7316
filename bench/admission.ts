// npm run bench:admission [-- --n 10,100,1000] — how long N runs submitted at once wait for admission.
//
// A real Temporal dev server (its own, unless TEMPORAL_ADDRESS names one) and one worker in this process
// running the real admission workflow and its real control activities. For each N, on a fresh task queue
// (so a fresh admission workflow, started first), N runs are started at once; each asks admission for its own proxy route
// exactly as an experiment's admission step does (workflows/admission-client.ts) and ends with the answer.
// Per run: from its start (the request reaching Temporal) to its close (the run has its answer), server
// times from describe(). Reports p50 / p99 / max, the answers, the admission workflow's history (events and
// how many times it continued as new), and writes bench/results/admission.json with the commit measured.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { admissionWorkflowId, createControlActivities } from '../activities/control.ts';
import type { Decision } from '../experiments/admission.ts';
import { ownServer } from './own-server.ts';
import { runBench, writeResults } from './results-file.ts';

const argN = process.argv.indexOf('--n');
const SIZES = (argN > 0 ? String(process.argv[argN + 1]) : '10,100,1000').split(',').map(Number);
/** A run that has no answer after this long is counted as unanswered (the bench moves on). */
const GIVE_UP_MS = Number(process.env.BENCH_GIVE_UP_MS ?? 15 * 60_000);

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', ':!bench/results'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

const pct = (sorted: number[], p: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number) : NaN;
const ms = (d: Date | undefined) => d?.getTime() ?? NaN;

async function measure(client: Client, connection: NativeConnection, workflowBundle: { code: string }, n: number) {
  const taskQueue = `bench-admission-${n}-${process.pid}-${Date.now()}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle,
    activities: createControlActivities(client),
    // Enough slots that the worker is not what limits admission (each run's ask is one activity).
    maxConcurrentActivityTaskExecutions: 1_000,
  });
  const running = worker.run();
  try {
    // Admission runs before the runs come (it is one long-lived workflow per queue; the first run ever on a
    // queue starts it by update-with-start, see workflows/admission-client.ts): a release of nobody starts it.
    await client.workflow.signalWithStart('admission', {
      workflowId: admissionWorkflowId(taskQueue),
      taskQueue,
      args: [{}],
      signal: 'release',
      signalArgs: [{ workflowId: 'nobody' }],
    });
    const t0 = Date.now();
    // At most 100 starts in flight (1,000 at once time out on a loaded dev server); each run's wait counts
    // from its own start.
    const handles: Awaited<ReturnType<typeof client.workflow.start>>[] = [];
    for (let k = 0; k < n; k += 100)
      handles.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(100, n - k) }, (_, j) =>
            client.workflow.start('admissionBenchRun', {
              taskQueue,
              workflowId: `${taskQueue}-run-${k + j}`,
              args: [`route-${k + j}`, 0],
            }),
          ),
        )),
      );
    const submitted = Date.now() - t0;
    const outcomes = await Promise.all(
      handles.map((h) =>
        Promise.race([
          h.result().then(
            (d: Decision) => (d.admitted ? 'admitted' : `refused: ${d.reason}`),
            (e: unknown) =>
              `failed: ${e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e)}`,
          ),
          new Promise<string>((r) => setTimeout(() => r('no answer'), GIVE_UP_MS - (Date.now() - t0)).unref()),
        ]),
      ),
    );
    const wall = Date.now() - t0;
    // Only admitted runs count (a run that failed or got no answer is in `outcomes`).
    const waits: number[] = [];
    for (const [i, h] of handles.entries()) {
      if (outcomes[i] !== 'admitted') continue;
      const d = await h.describe();
      if (d.closeTime) waits.push(ms(d.closeTime) - ms(d.startTime));
    }
    waits.sort((a, b) => a - b);
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o.slice(0, 120)] = (counts[o.slice(0, 120)] ?? 0) + 1;
    const adm = client.workflow.getHandle(admissionWorkflowId(taskQueue));
    const history = (await adm.fetchHistory()).events?.length ?? 0;
    let runs = 1;
    for (let d = await adm.describe(); ; runs++) {
      const first = await client.workflow.getHandle(admissionWorkflowId(taskQueue), d.runId).fetchHistory();
      const prev = first.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      if (!prev) break;
      d = await client.workflow.getHandle(admissionWorkflowId(taskQueue), prev).describe();
    }
    await adm.terminate('bench over').catch(() => undefined);
    await Promise.all(handles.map((h) => h.terminate('bench over').catch(() => undefined)));
    const row = {
      n,
      p50Ms: pct(waits, 50),
      p99Ms: pct(waits, 99),
      maxMs: waits.at(-1) ?? NaN,
      admitted: waits.length,
      outcomes: counts,
      submitMs: submitted,
      wallMs: wall,
      admissionHistoryEvents: history,
      admissionRuns: runs,
    };
    console.log(
      `N=${n}: admission p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, max ${row.maxMs} ms; ${waits.length} of ${n} admitted (${JSON.stringify(counts)}); submitting took ${submitted} ms; admission history ${history} events over ${runs} run(s)`,
    );
    return row;
  } finally {
    worker.shutdown();
    // A worker whose activities wait on calls that never return (asks stuck at admission) is left behind.
    await Promise.race([running, new Promise((r) => setTimeout(r, 30_000).unref())]);
  }
}

async function main(): Promise<void> {
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // installed
  }
  const server = await ownServer('admission');
  const measured = commit();
  const bundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./admission-workflows.ts', import.meta.url)),
    logger: new DefaultLogger('ERROR'),
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const clientConn = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConn });
  const rows = [];
  try {
    for (const n of SIZES) rows.push(await measure(client, connection, bundle, n));
  } catch (e) {
    console.error(e);
    throw e;
  } finally {
    await clientConn.close();
    await connection.close();
    await server.stop();
  }
  writeResults(process.env.BENCH_RESULTS_NAME ?? 'admission', {
    commit: measured,
    load: os.loadavg(),
    rows,
  });
}

runBench(main);
