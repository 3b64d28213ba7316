// Workflows tested in milliseconds: the real workflow code (the worker's own bundle of workflows/) on
// Temporal's time-skipping test server, with mocked activities. No Docker, no dev server, no download.
//
// The server is Temporal's Java test server (io.temporal:temporal-test-server from Maven Central, put in
// .tools/test-server/lib by scripts/setup.sh, run by scripts/temporal-test-server). The SDK starts it as an
// `existing-path` executable with the arguments `<port>`; it starts in about a second. The script runs it
// through scripts/test-server/KeepAliveTestServer.java, which permits the keepalive pings the TS client and
// the worker's native connection send every 30 s (the native one's are not configurable in SDK 1.24): the
// stock main's server answers them with GOAWAY "too_many_pings" after about 90 s of real time, closing the
// connection and the calls open on it (test/unit/test-server-keepalive.test.ts). Time skips whenever
// every workflow is blocked on a timer and no activity is running: a 6-hour sleep takes milliseconds.
//
// What the Java test server (1.32.1) does, tried through the TS SDK 1.24.0 client and worker:
// - works: start, signal, query, cancel, terminate, describe, fetchHistory (for replay tests), child
//   workflows, continue-as-new, signal-with-start, updates (a validator's refusal reaches the caller),
//   update-with-start (executeUpdateWithStart, USE_EXISTING on a running workflow too), activity retries and
//   timeouts, env.sleep() and env.currentTimeMs().
// - search attributes: only registered ones; an upsert of an unknown one fails every workflow task ("search
//   attribute X is not defined") and the run hangs. timeSkippingEnv() registers Faultline's own
//   (workflows/search-attributes.ts) through OperatorService.addSearchAttributes, so `searchAttributes: true`
//   works. ListSearchAttributes is UNIMPLEMENTED.
// - does not work: visibility (client.workflow.list and count fail: "Failed to list workflows"), schedules
//   (client.schedule.create fails). Whatever needs them stays in the e2e project (or is an activity, mocked).
// - time: it skips only while a client awaits a workflow result (handle.result(), client.workflow.execute)
//   or during env.sleep(), and never while any activity is scheduled or running anywhere on the server:
//   activities run in real time (no heartbeat timeout fires because time jumped), and so does an
//   activity's schedule-to-start timeout when nobody polls its queue. Between those, server time runs at
//   wall-clock speed. Mocks read the server's time from their activity info (Call.at, serverNow() in
//   fake-chaos.ts), never Date.now().
// - so: end every test with its runs closed (await their results before stopping the worker). A run left
//   with an activity in flight (its worker stopped under it) holds the clock for the whole file until the
//   activity's timeout passes in real time, and every later test's timers then take real time too.
// - a worker shut down just after a signal may have polled the signal's workflow task and never answer it:
//   the task times out 10 s later and is tried again on the next worker. What that retried attempt records
//   is carried out (a continue-as-new starts the next run) but missing from the closed run's history, which
//   ends at the attempt's WorkflowTaskStarted (seen: no patch marker, no ContinuedAsNew event). Stop a worker
//   only once its runs have no task outstanding (idle() in admission-upgrade.test.ts).
// - a worker shut down while an activity runs cancels it (the mock sees ctx.cancelled, the server retries
//   it on the next worker); a mock that waits on something else (a query of its own run) must race
//   ctx.cancelled, or the shutdown waits for it.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { cachedWorkflowBundle } from '../../../worker/worker.ts';
import { SEARCH_ATTRIBUTES } from '../../../workflows/search-attributes.ts';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

export const TEST_SERVER = fileURLToPath(new URL('../../../scripts/temporal-test-server', import.meta.url));

/** Quiet: the worker's state changes and the workflows' own warnings would fill the test output. */
function quietRuntime(): void {
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      // Core warns on every worker that this server lacks a capability of servers 1.16+ (harmless here).
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // already installed in this process
  }
}

/** A time-skipping environment on a fresh Java test server (one per test file: `beforeAll`/`afterAll`). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const env = await startServer();
  const type = {
    Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  };
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.entries(SEARCH_ATTRIBUTES).map(([name, t]) => [name, type[t]])),
  });
  return env;
}

/**
 * The SDK gives the server 5 s to answer, then kills it. On a busy machine (several test files and other
 * work on two cores) a JVM can take longer: then this starts the same executable itself, waits up to
 * a minute for it to listen, and connects the SDK's environment to it with time skipping on (the SDK's
 * own factory for that, which createTimeSkipping uses too, is not public: checked at run time).
 */
async function startServer(): Promise<TestWorkflowEnvironment> {
  try {
    return await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: TEST_SERVER } },
    });
  } catch (e) {
    if (!/did not start within/.test(String(e))) throw e;
  }
  const create = (TestWorkflowEnvironment as unknown as { create?: (o: object) => Promise<TestWorkflowEnvironment> })
    .create;
  if (typeof create !== 'function') throw new Error("the test server did not start within the SDK's 5 s");
  const port = await freePort();
  const server = spawn(TEST_SERVER, [String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  const kill = () => void server.kill('SIGKILL');
  process.once('exit', kill);
  for (const end = Date.now() + 60_000; !(await listening(port)); await new Promise((r) => setTimeout(r, 100))) {
    if (server.exitCode !== null || Date.now() > end) {
      kill();
      throw new Error(`the test server (${TEST_SERVER}) did not listen within 60 s: ${stderr.slice(-2000)}`);
    }
  }
  const env = await create.call(TestWorkflowEnvironment, {
    server: { type: 'existing' },
    address: `127.0.0.1:${port}`,
    namespace: 'default',
    supportsTimeSkipping: true,
  });
  const teardown = env.teardown.bind(env);
  env.teardown = async () => {
    await teardown();
    kill();
  };
  return env;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

let bundle: Promise<{ codePath: string }> | undefined;
/** The worker's bundle of workflows/, built once and reused from .state/cache while no bundled file changed. */
export function workflowBundle(): Promise<{ codePath: string }> {
  quietRuntime();
  bundle ??= cachedWorkflowBundle();
  return bundle;
}

/** One activity call as a mock saw it. `at` is the server's (skipped) time of the attempt, epoch ms. */
export interface Call {
  name: string;
  args: unknown[];
  at: number;
  attempt: number;
  taskQueue: string;
  workflowId?: string;
}

type AnyFn = (...args: never[]) => Promise<unknown>;

/**
 * Mocked activities that record every call (in order, with the workflow's time). `calls` is shared by every
 * worker given these mocks, so a test that replaces its worker still sees one list.
 */
export function mockActivities<T extends Record<string, AnyFn>>(impls: T): { activities: T; calls: Call[] } {
  const calls: Call[] = [];
  const activities = Object.fromEntries(
    Object.entries(impls).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        const info = Context.current().info;
        calls.push({
          name,
          args,
          at: info.currentAttemptScheduledTimestampMs,
          attempt: info.attempt,
          taskQueue: info.taskQueue,
          workflowId: info.workflowExecution?.workflowId,
        });
        return fn(...args);
      },
    ]),
  ) as T;
  return { activities, calls };
}

/** The calls of one activity, in order. */
export const callsOf = (calls: Call[], name: string): Call[] => calls.filter((c) => c.name === name);

export interface TestWorker {
  worker: Worker;
  /** Shuts the worker down and waits until it has stopped (a killed worker, as far as the server knows). */
  stop(): Promise<void>;
}

/**
 * A Worker of the bundled workflows on the test server, running until stop(). `maxCachedWorkflows: 0`
 * makes every workflow task replay the whole history (a new worker for every task).
 */
export async function startWorker(
  env: TestWorkflowEnvironment,
  opts: { taskQueue: string; activities?: object } & Partial<WorkerOptions>,
): Promise<TestWorker> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    workflowBundle: await workflowBundle(),
    // Tests wait for one task at a time; a small worker starts and stops fast.
    maxConcurrentWorkflowTaskExecutions: 2,
    maxConcurrentActivityTaskExecutions: 10,
    // A cancelled activity learns it at its next heartbeat sent: at once, not after 80% of its timeout.
    maxHeartbeatThrottleInterval: '100ms',
    defaultHeartbeatThrottleInterval: '100ms',
    ...opts,
  });
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/** Runs fn with a worker, then stops the worker (also when fn throws). */
export async function withWorker<R>(
  env: TestWorkflowEnvironment,
  opts: Parameters<typeof startWorker>[1],
  fn: (w: TestWorker) => Promise<R>,
): Promise<R> {
  const w = await startWorker(env, opts);
  try {
    return await fn(w);
  } finally {
    await w.stop();
  }
}

/**
 * One worker for a whole test file (a worker takes about half a second to start): each run's activities
 * are the mocks routed to its workflow ID, or to the ID it begins with followed by '-' (a scheduled run's
 * child `ID-run`). `names`: every activity name the file's mocks define.
 */
export async function sharedWorker(env: TestWorkflowEnvironment, names: string[]) {
  const queue = taskQueue('shared');
  const routes = new Map<string, Record<string, AnyFn>>();
  const mockFor = (name: string): AnyFn => {
    const id = Context.current().info.workflowExecution?.workflowId ?? '';
    const key = [...routes.keys()]
      .filter((k) => id === k || id.startsWith(`${k}-`))
      .sort((a, b) => b.length - a.length)[0];
    const fn = key === undefined ? undefined : routes.get(key)?.[name];
    if (!fn) throw new Error(`no mock of activity ${name} routed to workflow ${id}`);
    return fn;
  };
  const activities = Object.fromEntries(names.map((n) => [n, (...args: never[]) => mockFor(n)(...args)]));
  const w = await startWorker(env, { taskQueue: queue, activities });
  return {
    ...w,
    taskQueue: queue,
    /** The mocks of one run (and its children). */
    route: (workflowId: string, mocks: object) => void routes.set(workflowId, mocks as Record<string, AnyFn>),
  };
}

let queues = 0;
/** A task queue of its own for each test (workflows of one file share the server). */
export const taskQueue = (name: string) => `${name}-${process.pid}-${++queues}`;
