// Records the replay corpus (test/fixtures/histories/v<version>-<commit>/): one or more histories per workflow
// type and case, each run by the real workflow code of this checkout on its own Temporal dev server (started
// here, on free ports, with a throw-away database), with the in-memory container and proxy ports of
// test/support/ (no Docker) and the real Prometheus on loopback for the judged cases. Each history is what
// `temporal workflow show --output json` prints; index.json lists them with the workflow type, the case, the
// commit and the SDK version. test/unit/replay-corpus.test.ts replays every one against the current code.
//
//   npx tsx scripts/record-histories.ts            # every case
//   npx tsx scripts/record-histories.ts --only gameday,sweep
//
// Record at each release, from a clean checkout of the release's commit (workflows/ must be committed: the
// directory is named after the commit the histories were recorded with). Never re-record an old directory
// with newer code: its value is that it was written by the old code.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Journal } from '../experiments/journal.ts';
import type { GameDayInput } from '../experiments/gameday-types.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).trim();

const only = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? new Set((process.argv[i + 1] ?? '').split(',').filter(Boolean)) : undefined;
})();

if (git('status', '--porcelain', '--', 'workflows') && !process.argv.includes('--dirty')) {
  console.error('workflows/ has uncommitted changes: commit them first (the corpus is named after the commit)');
  process.exit(2);
}
const commit = git('rev-parse', '--short=7', 'HEAD');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const sdk = (
  JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@temporalio/workflow/package.json'), 'utf8')) as {
    version: string;
  }
).version;
const outDir = path.join(ROOT, 'test', 'fixtures', 'histories', `v${pkg.version}-${commit}`);

// Everything this process touches lives in a temporary directory, like the test run's global setup.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'faultline-record-'));
process.env.FAULTLINE_STATE_DIR = path.join(tmp, 'state');
mkdirSync(process.env.FAULTLINE_STATE_DIR);

const { freePort, startDevServer, temporalBinary } = await import('../cli/dev-server.ts');
const port = await freePort();
const server = await startDevServer({
  dbFile: path.join(tmp, 'temporal.db'),
  port,
  uiPort: await freePort(),
  logFile: path.join(tmp, 'temporal.log'),
});
process.env.TEMPORAL_ADDRESS = server.address;
process.env.TEMPORAL_NAMESPACE = 'default';

const { experiment, harness } = await import('../test/support/workflow-harness.ts');
const { journalQuery } = await import('../definitions/experiment.ts');
const { abortGameDayUpdate, approveGateUpdate, gameDayQuery } = await import('../definitions/gameday.ts');
const { admissionStart, admissionWorkflowId } = await import('../activities/control.ts');
const { admissionStateQuery, approveUpdate, pullLeverUpdate, releaseLeverUpdate, setPolicyUpdate } =
  await import('../definitions/admission.ts');
const { addNoteUpdate, skipStepUpdate } = await import('../definitions/gameday.ts');
const { hostWorkflowId } = await import('../experiments/hosts.ts');
const { createSweepActivities } = await import('../activities/sweep.ts');
const { createControlActivities } = await import('../activities/control.ts');
const { workflowBundle } = await import('../test/helpers.ts');
const { NativeConnection, Worker } = await import('@temporalio/worker');
const { Client } = await import('@temporalio/client');

interface Recorded {
  file: string;
  workflowType: string;
  case: string;
  description: string;
  workflowId: string;
  runId: string;
  status: string;
  events: number;
}
const recorded: Recorded[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The history as `temporal workflow show --output json` prints it, written to <type>-<case>.json. */
function save(workflowType: string, name: string, description: string, workflowId: string, runId: string): void {
  const json = execFileSync(
    temporalBinary(),
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--run-id',
      runId,
      '--output',
      'json',
      '--address',
      server.address,
      '--namespace',
      'default',
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const events = (JSON.parse(json) as { events: { eventType: string }[] }).events;
  const last = events.at(-1)?.eventType ?? '';
  const status = /EXECUTION_(COMPLETED|FAILED|CANCELED|TERMINATED|CONTINUED_AS_NEW|TIMED_OUT)$/.exec(last)?.[1];
  const file = `${workflowType}-${name}.json`;
  writeFileSync(path.join(outDir, file), json.endsWith('\n') ? json : `${json}\n`);
  recorded.push({
    file,
    workflowType,
    case: name,
    description,
    workflowId,
    runId,
    status: status?.toLowerCase().replaceAll('_', '-') ?? 'open',
    events: events.length,
  });
  console.log(`  ${file}: ${events.length} events, ${status ?? 'open'}`);
}

mkdirSync(outDir, { recursive: true });
const h = await harness('rec');
// A restarted container gets a new start time (the in-memory port keeps none), as Docker's does.
const containerPort = h.world.containerPort.bind(h.world);
h.world.containerPort = (worker, host) => {
  const port = containerPort(worker, host);
  return {
    ...port,
    restart: async (id, grace) => {
      await port.restart(id, grace);
      const c = h.world.containers.get(id);
      if (c) c.startedAt = new Date().toISOString();
    },
  };
};
for (const p of ['route-a', 'route-b', 'route-c', 'route-d', 'route-e', 'route-f', 'route-g', 'route-h', 'route-s'])
  h.world.addProxy(p);
h.world.addContainer('api-1', { backend: ['api'] });
h.world.addContainer('api-2', { backend: ['api'] });
for (const n of ['cg-1', 'cg-2', 'cg-3']) h.world.addContainer(n, {}, { app: 'cg' });
h.world.containers.get('api-1-id')!.startedAt = new Date(Date.now() - 60_000).toISOString();
// For the kernel kinds: addresses (network.split), a worker process beside PID 1 (process.*).
h.world.addresses.set('api-1-id', ['172.18.0.2']);
h.world.addresses.set('api-2-id', ['172.18.0.3']);
const withWorker = () =>
  h.world.nsProcs.set('api-1-id', [
    { pid: 1, ppid: 0, state: 'S', start: 100, name: 'app', command: 'app' },
    { pid: 7, ppid: 1, state: 'S', start: 120, name: 'node', command: 'node fl-worker' },
  ]);
await h.startWorker('recorder');

const probe = (name: string) =>
  `{ name: ${name}, type: http, url: "\${URL}", requests: 2, timeout: 300ms, tolerance: { maxErrorRate: 0 } }`;
const exp = (title: string, method: string, more = '', url = h.url) =>
  experiment(
    `
title: ${title}
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
method:
${method}
afterCheck: { recoveryTimeout: 2s }
${more}
`,
    url,
  );
const onApi = 'targets: { names: [ api-1 ], mode: one }';

async function experimentCase(
  name: string,
  description: string,
  e: ReturnType<typeof exp>,
  expected: string,
  during?: (run: Awaited<ReturnType<typeof h.start>>) => Promise<void>,
): Promise<void> {
  const run = await h.start(e, { id: `rec-${name}` });
  await during?.(run);
  const j = await h.result(run);
  if (j.verdict !== expected) throw new Error(`${name}: expected ${expected}, got ${j.verdict}: ${j.reason}`);
  save('runExperiment', name, `${description} (verdict ${j.verdict})`, run.workflowId, await runIdOf(run));
}

/** The run ID of a workflow that did not continue as new (harness handles do not carry it). */
const runIdOf = async (w: { workflowId: string }) => (await h.client.workflow.getHandle(w.workflowId).describe()).runId;

const injected = (run: Awaited<ReturnType<typeof h.start>>) =>
  until('the fault is injected', async () => !!(await run.query(journalQuery)).faults[0]?.injectedAt);

const cases: Record<string, () => Promise<void>> = {
  'container-kill': () =>
    experimentCase(
      'container-kill',
      'container.kill on one target, started again at its end',
      exp('kill', '  - { kind: container.kill, signal: SIGKILL, duration: 500ms }', onApi),
      'passed',
    ),
  'container-stop': () =>
    experimentCase(
      'container-stop',
      'container.stop with a grace period, started again at its end',
      exp('stop', '  - { kind: container.stop, gracePeriod: 1, duration: 500ms }', onApi),
      'passed',
    ),
  'container-restart': () =>
    experimentCase(
      'container-restart',
      'container.restart',
      exp('restart', '  - { kind: container.restart, gracePeriod: 1, duration: 500ms }', onApi),
      'passed',
    ),
  'container-pause': () =>
    experimentCase(
      'container-pause',
      'container.pause, unpaused at its end, with a guard',
      exp(
        'pause',
        '  - { kind: container.pause, duration: 1s }',
        `${onApi}\nguard: { interval: 200ms, probes: [ ${probe('g')} ] }`,
      ),
      'passed',
    ),
  'network-partition': () =>
    experimentCase(
      'network-partition',
      'network.partition: the target disconnected from a network, reconnected at its end',
      exp('partition', '  - { kind: network.partition, network: backend, duration: 500ms }', onApi),
      'passed',
    ),
  // The kinds acting inside a container, on the in-memory kernel port (issue 18).
  ...Object.fromEntries(
    (
      [
        ['network-loss', 'network.loss: a share of packets dropped in chains of its own', 'share: 30%'],
        ['network-bandwidth', "network.bandwidth: a tbf under Faultline's handle", 'rate: 1mbit'],
        ['stress-cpu', "stress.cpu: a stressor in the target's cgroups", 'cores: 0.5'],
        ['stress-memory', 'stress.memory', 'size: 64MiB'],
        ['stress-io', 'stress.io', 'workers: 1'],
        ['disk-fill', 'disk.fill: a file in /tmp, removed at its end', 'size: 8MiB'],
        ['process-kill', 'process.kill: a worker process by pattern', 'pattern: "fl-worker$"'],
        ['process-stop', 'process.stop: a worker stopped, continued at its end', 'pattern: "fl-worker$"'],
        ['dns-error', 'dns.error: a name answered NXDOMAIN', 'names: [ db.internal ]'],
        ['dns-spoof', 'dns.spoof: a name answered with an address', 'names: [ db.internal ], address: 192.0.2.10'],
      ] as const
    ).map(([name, description, fields]) => [
      name,
      () => {
        if (name.startsWith('process')) withWorker(); // process.kill's case killed it
        return experimentCase(
          name,
          description,
          exp(name, `  - { kind: ${name.replace('-', '.')}, ${fields}, duration: 500ms }`, onApi),
          'passed',
        );
      },
    ]),
  ),
  'network-split': () =>
    experimentCase(
      'network-split',
      'network.split: api-1 and api-2 partitioned both ways, one record per member',
      exp(
        'split',
        '  - { kind: network.split, from: { names: [ api-1 ] }, to: { names: [ api-2 ] }, duration: 500ms }',
        'blastRadius: { maxTargets: 2 }',
      ),
      'passed',
    ),
  'proxy-latency': () =>
    experimentCase(
      'proxy-latency',
      'proxy.latency on two routes with different durations',
      exp(
        'latency',
        '  - { kind: proxy.latency, proxy: route-a, latency: 100ms, duration: 500ms }\n  - { kind: proxy.latency, proxy: route-b, latency: 100ms, duration: 1500ms }',
        'blastRadius: { maxTargets: 5 }',
      ),
      'passed',
    ),
  'proxy-bandwidth': () =>
    experimentCase(
      'proxy-bandwidth',
      'proxy.bandwidth',
      exp('bandwidth', '  - { kind: proxy.bandwidth, proxy: route-c, rate: 10, duration: 500ms }'),
      'passed',
    ),
  'proxy-reset': () =>
    experimentCase(
      'proxy-reset',
      'proxy.reset',
      exp('reset', '  - { kind: proxy.reset, proxy: route-d, duration: 500ms }'),
      'passed',
    ),
  'proxy-partition': () =>
    experimentCase(
      'proxy-partition',
      'proxy.partition (mode down: the route disabled)',
      exp('proxy partition', '  - { kind: proxy.partition, proxy: route-e, mode: down, duration: 500ms }'),
      'passed',
    ),
  'http-delay': () =>
    experimentCase(
      'http-delay',
      'http.delay',
      exp('http delay', '  - { kind: http.delay, proxy: route-f, delay: 50ms, duration: 500ms }'),
      'passed',
    ),
  'http-abort': () =>
    experimentCase(
      'http-abort',
      'http.abort',
      exp('http abort', '  - { kind: http.abort, proxy: route-g, status: 503, duration: 500ms }'),
      'passed',
    ),
  'operator-abort': () =>
    experimentCase(
      'operator-abort',
      'an operator abort (the abortExperiment update) while a 30 s latency is active',
      exp('aborted by hand', '  - { kind: proxy.latency, proxy: route-a, latency: 100ms, duration: 30s }'),
      'aborted',
      async (run) => {
        await injected(run);
        await h.abort(run, 'recorded operator abort');
      },
    ),
  'guard-abort': async () => {
    const since = Date.now();
    h.setHealth(() =>
      h.world.calls.some((c) => c.t >= since && c.key.startsWith('toxic:route-h') && c.effect === 'apply')
        ? 'error'
        : 'ok',
    );
    try {
      await experimentCase(
        'guard-abort',
        'the guard sees the service fail during the fault and aborts the run',
        exp(
          'guarded',
          '  - { kind: proxy.latency, proxy: route-h, latency: 100ms, duration: 30s }',
          `guard: { interval: 100ms, failuresToAbort: 2, probes: [ ${probe('g')} ] }`,
        ),
        'aborted',
      );
    } finally {
      h.setHealth(() => 'ok');
    }
  },
  judged: () =>
    experimentCase(
      'judged',
      'a judged metric read from the real Prometheus (a counter rising with time(), none bad)',
      exp(
        'judged',
        '  - { kind: proxy.latency, proxy: route-b, latency: 100ms, duration: 2s }',
        `judge:
  interval: 250ms
  baseline: { window: 1s }
  metrics:
    - name: errors
      events:
        total: 'sum(floor(vector(time() * 10)))'
        bad: 'sum(vector(0))'
      allowedIncrease: 2`,
      ),
      'passed',
    ),
  // A progressive exposure (patch 'progressive-exposure'): a fault that grows 10% -> 50% -> 100%, each step
  // judged; and one whose second step breaks the service (the guard sees it once the rule was updated), so
  // its last step is never applied.
  exposure: () =>
    experimentCase(
      'exposure',
      'a progressive exposure: http.abort grown 10% -> 50% -> 100% in judged steps of 1 s, reaching 100%',
      exp(
        'exposure',
        '  - { kind: http.abort, proxy: route-c, duration: 3s, exposure: { steps: [10%, 50%, 100%], hold: 1s } }',
        `judge:
  interval: 250ms
  baseline: { window: 1s }
  metrics:
    - name: errors
      events:
        total: 'sum(floor(vector(time() * 10)))'
        bad: 'sum(vector(0))'
      allowedIncrease: 2`,
      ),
      'passed',
    ),
  'exposure-broken': async () => {
    const since = Date.now();
    h.setHealth(() =>
      h.world.calls.some((c) => c.t >= since && c.op === 'updateToxic' && c.key.startsWith('toxic:route-d'))
        ? 'error'
        : 'ok',
    );
    try {
      await experimentCase(
        'exposure-broken',
        'a progressive exposure whose second step (50%) breaks the service: the guard aborts, 100% is never applied',
        exp(
          'exposure broken',
          '  - { kind: http.abort, proxy: route-d, duration: 20s, exposure: { steps: [10%, 50%, 100%], hold: 1s } }',
          `guard: { interval: 100ms, failuresToAbort: 2, probes: [ ${probe('g')} ] }
judge:
  interval: 250ms
  baseline: { window: 1s }
  metrics:
    - name: errors
      events:
        total: 'sum(floor(vector(time() * 10)))'
        bad: 'sum(vector(0))'
      allowedIncrease: 2`,
        ),
        'aborted',
      );
    } finally {
      h.setHealth(() => 'ok');
    }
  },
  'control-group': () =>
    experimentCase(
      'control-group',
      'control-group mode (ChAP): one replica faulted, judged against the others from the real Prometheus',
      exp(
        'control group',
        '  - { kind: container.pause, duration: 1s }',
        `targets: { labels: { app: cg }, mode: one, seed: 7 }
judge:
  interval: 250ms
  baseline: { window: 1s }
  controlGroup: {}
  metrics:
    - name: errors
      events:
        total: 'sum(label_replace(floor(vector(time() * 10)), "g", "$GROUP", "", ""))'
        bad: 'sum(label_replace(vector(0), "g", "$GROUP", "", ""))'
      allowedIncrease: 2`,
      ),
      'passed',
    ),
  'stuck-revert': async () => {
    h.world.failOn('removeToxic', 'toxic:route-s/', Infinity);
    const run = await h.start(
      exp('stuck', '  - { kind: proxy.latency, proxy: route-s, latency: 100ms, duration: 300ms }'),
      {
        id: 'rec-stuck-revert',
        tuning: { revertBackoffMaxMs: 50, historyEventsLimit: 120 },
      },
    );
    const latest = h.client.workflow.getHandle(run.workflowId);
    await until(
      'two hand-overs',
      async () => ((await latest.query(journalQuery)).continuedFrom?.length ?? 0) >= 2,
      180_000,
    );
    h.world.failOn('removeToxic', 'toxic:route-s/', 0);
    const j = (await latest.result()) as Journal;
    if (j.verdict !== 'passed') throw new Error(`stuck-revert: ${j.verdict}: ${j.reason}`);
    const runs = [...(j.continuedFrom ?? []), (await latest.describe()).runId];
    runs.forEach((runId, i) =>
      save(
        'runExperiment',
        `stuck-revert-${i + 1}`,
        `a revert that fails until it is marked stuck, continued as new (run ${i + 1} of ${runs.length}); the last run reverts and passes`,
        run.workflowId,
        runId,
      ),
    );
  },
  'admission-wait': async () => {
    // Its own task queue, so the admission workflow's history is this case alone.
    const a = await harness('rec-adm');
    try {
      a.world.addProxy('route-a');
      await a.startWorker('adm');
      // Proxy routes are admission targets like containers (a paused container would not be selectable).
      const pause = (title: string, duration: string) =>
        exp(
          title,
          `  - { kind: proxy.latency, proxy: route-a, latency: 100ms, duration: ${duration} }`,
          'admission: { wait: 60s }',
          a.url,
        );
      const holder = await a.start(pause('holder', '3s'), { id: 'rec-admission-holder' });
      await until('the holder injected', async () => !!(await holder.query(journalQuery)).faults[0]?.injectedAt);
      const waiter = await a.start(pause('waiter', '500ms'), { id: 'rec-admission-waiter' });
      const [jh, jw] = await Promise.all([a.result(holder), a.result(waiter)]);
      if (jh.verdict !== 'passed' || jw.verdict !== 'passed')
        throw new Error(`admission-wait: ${jh.verdict} ${jh.reason} / ${jw.verdict} ${jw.reason}`);
      if (Date.parse(jw.faults[0]!.injectedAt!) < Date.parse(jh.faults[0]!.revertedAt!))
        throw new Error('admission-wait: the waiter injected before the holder reverted');
      save(
        'runExperiment',
        'admission-holder',
        'holds route-a while another run asks for it',
        holder.workflowId,
        await runIdOf(holder),
      );
      save(
        'runExperiment',
        'admission-wait',
        'refused because route-a is held (retryable), waits with backoff, admitted once the holder released',
        waiter.workflowId,
        await runIdOf(waiter),
      );
      const adm = a.client.workflow.getHandle(admissionWorkflowId(a.taskQueue));
      save(
        'admission',
        'wait',
        'the admission workflow (open): admit, a refused admit while held, release, the admit that follows, 15 s sweeps',
        adm.workflowId,
        (await adm.describe()).runId,
      );
    } finally {
      await a.close();
    }
  },
  fleet: async () => {
    // Two in-memory hosts with two containers each: the container faults are prepared, injected and held
    // per host (one activity per host per phase), the guard starts with the intents; then a guard violation
    // that stops every host's holder. Its own task queue, so its admission history is these two runs.
    const f = await harness('rec-fleet', undefined, { hosts: ['h1', 'h2'] });
    try {
      f.world.addProxy('route-x');
      for (const host of ['h1', 'h2'])
        for (const n of ['api-1', 'api-2']) f.world.addContainer(n, {}, { tier: 'api' }, host);
      await f.startWorker('fleet');
      const paused = (title: string, duration: string, more = '') =>
        exp(
          title,
          `  - { kind: container.pause, duration: ${duration} }\n  - { kind: proxy.latency, proxy: route-x, latency: 100ms, duration: ${duration} }`,
          `targets: { labels: { tier: api }, mode: all }\nblastRadius: { maxTargets: 5 }\n${more}`,
          f.url,
        );
      const passed = await f.start(paused('pause api on both hosts', '1s'), { id: 'rec-fleet-passed' });
      const jp = await f.result(passed);
      if (jp.verdict !== 'passed') throw new Error(`fleet: ${jp.verdict}: ${jp.reason}`);
      save(
        'runExperiment',
        'fleet',
        'container.pause on two containers on each of two hosts (batched per host) and a proxy fault, guard-less (verdict passed)',
        passed.workflowId,
        (await f.client.workflow.getHandle(passed.workflowId).describe()).runId,
      );
      f.setHealth(() => (f.world.disturbed([], ['h1.api-1-id']) ? 'error' : 'ok'));
      const guarded = await f.start(
        paused(
          'pause api on both hosts, guarded',
          '30s',
          `guard: { interval: 100ms, failuresToAbort: 2, probes: [ ${probe('g')} ] }`,
        ),
        { id: 'rec-fleet-guard' },
      );
      const jg = await f.result(guarded);
      f.setHealth(() => 'ok');
      if (jg.verdict !== 'aborted' || jg.abort?.by !== 'guard')
        throw new Error(`fleet-guard: ${jg.verdict}: ${jg.reason}`);
      save(
        'runExperiment',
        'fleet-guard-abort',
        'the same over two hosts with a guard that sees the service fail: every host holder stopped, each fault reverted on its host (verdict aborted)',
        guarded.workflowId,
        (await f.client.workflow.getHandle(guarded.workflowId).describe()).runId,
      );
      const adm = f.client.workflow.getHandle(admissionWorkflowId(f.taskQueue));
      save(
        'admission',
        'fleet',
        'the admission workflow (open) of the two fleet runs: asks by signal answered by answerAsks, releases, sweeps',
        adm.workflowId,
        (await adm.describe()).runId,
      );
    } finally {
      await f.close();
    }
  },
  'admission-sweep': async () => {
    // A run that holds route-a is terminated (it never releases): the next sweep (15 s after the hold)
    // asks Temporal which holders' runs are closed and drops its hold. Its own task queue.
    const a = await harness('rec-sweep');
    try {
      a.world.addProxy('route-a');
      await a.startWorker('sweep');
      const held = await a.start(
        exp(
          'terminated holder',
          '  - { kind: proxy.latency, proxy: route-a, latency: 100ms, duration: 60s }',
          '',
          a.url,
        ),
        { id: 'rec-admission-terminated' },
      );
      await until('the holder injected', async () => !!(await held.query(journalQuery)).faults[0]?.injectedAt);
      await a.client.workflow.getHandle(held.workflowId).terminate('recorded: a holder that never releases');
      const adm = a.client.workflow.getHandle(admissionWorkflowId(a.taskQueue));
      await until(
        'the sweep dropped the hold',
        async () => (await adm.query(admissionStateQuery)).holds.length === 0,
        40_000,
      );
      save(
        'admission',
        'sweep',
        'the admission workflow (open): an ask by signal admitted, its run terminated while it holds, the 15 s sweep finds it closed and drops the hold',
        adm.workflowId,
        (await adm.describe()).runId,
      );
    } finally {
      a.world.toxics.get('route-a')?.clear();
      await a.close();
    }
  },
  gameday: async () => {
    const long = exp('game day step', '  - { kind: proxy.latency, proxy: route-c, latency: 100ms, duration: 30s }');
    const input: GameDayInput = {
      title: 'recorded game day',
      owner: 'alice',
      approvers: ['bob'],
      observers: ['carol'],
      searchAttributes: true,
      steps: [
        { name: 'intro', kind: 'note', text: 'say hello' },
        { name: 'go-no-go', kind: 'gate', text: 'dashboards green?' },
        {
          name: 'latency',
          kind: 'experiments',
          experiments: [{ experiment: long, file: 'long.yaml' }],
          onFailure: 'stop',
        },
        { name: 'never', kind: 'gate', text: 'not reached' },
      ],
    };
    const gd = await h.client.workflow.start('runGameDay', {
      taskQueue: h.taskQueue,
      workflowId: 'rec-gameday',
      args: [input],
    });
    await until('the gate waits', async () => (await gd.query(gameDayQuery)).waitingAt === 'go-no-go');
    await gd.executeUpdate(approveGateUpdate, { args: [{ who: 'bob' }] });
    let child = '';
    await until('the child runs', async () => {
      child = (await gd.query(gameDayQuery)).steps[2]?.children[0]?.workflowId ?? '';
      return !!child;
    });
    await injected(h.client.workflow.getHandle(child));
    await gd.executeUpdate(abortGameDayUpdate, { args: [{ reason: 'recorded abort', who: 'alice' }] });
    const r = (await gd.result()) as { verdict?: string; steps: { status: string }[] };
    save(
      'runGameDay',
      'gate-abort',
      `a note, a gate approved by bob, an experiment step aborted by alice (steps: ${r.steps.map((s) => s.status).join(', ')})`,
      gd.workflowId,
      gd.firstExecutionRunId,
    );
    const c = h.client.workflow.getHandle(child);
    save(
      'runExperiment',
      'gameday-child-aborted',
      "the game day's child experiment, cancelled by the game-day abort",
      child,
      (await c.describe()).runId,
    );
  },
  scheduled: async () => {
    // A real (paused) schedule for the run to pause; the run is started directly, as the schedule would.
    const scheduleId = 'rec-schedule';
    const child = exp('scheduled', '  - { kind: proxy.latency, proxy: route-d, latency: 100ms, duration: 500ms }');
    const args = {
      scheduleId,
      childType: 'runExperiment',
      childArgs: [{ experiment: child, searchAttributes: true }],
      title: 'scheduled',
      pauseOn: ['aborted', 'refuted'],
    };
    await h.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '365d' }] },
      action: { type: 'startWorkflow', workflowType: 'scheduledRun', taskQueue: h.taskQueue, args: [args] },
      state: { paused: true },
    });
    const passed = await h.client.workflow.start('scheduledRun', {
      taskQueue: h.taskQueue,
      workflowId: 'rec-scheduled-passed',
      args: [args],
    });
    await passed.result();
    save(
      'scheduledRun',
      'passed',
      'a scheduled run whose child experiment passed (the schedule stays)',
      passed.workflowId,
      passed.firstExecutionRunId,
    );
    // The service fails once the fault lands and never recovers: refuted, and the run pauses its schedule.
    const since = Date.now();
    h.setHealth(() =>
      h.world.calls.some((c) => c.t >= since && c.key.startsWith('toxic:route-d') && c.effect === 'apply')
        ? 'error'
        : 'ok',
    );
    try {
      const refuted = await h.client.workflow.start('scheduledRun', {
        taskQueue: h.taskQueue,
        workflowId: 'rec-scheduled-pause',
        args: [args],
      });
      const r = (await refuted.result()) as { verdict?: string; pausedSchedule: boolean };
      if (!r.pausedSchedule) throw new Error(`scheduled: did not pause (${r.verdict})`);
      save(
        'scheduledRun',
        'pause',
        `a scheduled run whose child ended ${r.verdict}: it pauses its schedule`,
        refuted.workflowId,
        refuted.firstExecutionRunId,
      );
      save(
        'runExperiment',
        'scheduled-child',
        'the child experiment of a scheduled run',
        `${refuted.workflowId}-run`,
        (await h.client.workflow.getHandle(`${refuted.workflowId}-run`).describe()).runId,
      );
    } finally {
      h.setHealth(() => 'ok');
      await h.client.schedule.getHandle(scheduleId).delete();
    }
  },
  sweep: async () => {
    // A worker of its own with the sweep activities over the in-memory world (and a proxy holding one
    // toxic no run owns), on a queue with no registered host: the sweep visits this worker's own host.
    const queue = `${h.taskQueue}-sweep`;
    const conn = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection: h.client.connection, namespace: 'default' });
    const ledgerDir = path.join(tmp, 'ledger');
    mkdirSync(ledgerDir, { recursive: true });
    h.world.toxics.get('route-a')!.set('faultline-orphan-latency', {
      spec: { name: 'faultline-orphan-latency', type: 'latency', stream: 'downstream', toxicity: 1, attributes: {} },
      expiresAt: Date.now() + 60_000,
    } as never);
    const proxy = h.world.proxyPort('sweeper');
    const worker = await Worker.create({
      connection: conn,
      namespace: 'default',
      taskQueue: queue,
      workflowBundle: await workflowBundle(),
      activities: {
        ...createControlActivities(client),
        ...createSweepActivities({
          client,
          host: async () => 'memory',
          containers: h.world.containerPort('sweeper'),
          ledgerDir,
          proxy: () => ({
            name: 'memory proxy',
            listProxies: () => proxy.listProxies(),
            listToxics: async (p) => [...(h.world.toxics.get(p)?.keys() ?? [])],
            removeToxic: (p, t) => proxy.removeToxic(p, t),
          }),
        }),
      },
    });
    const running = worker.run();
    try {
      const run = await client.workflow.start('sweepFleet', {
        taskQueue: queue,
        workflowId: 'rec-sweep',
        args: [{ fix: false }],
      });
      const r = (await run.result()) as { orphans: unknown[]; hosts: unknown[] };
      save(
        'sweepFleet',
        'report',
        `a sweep without --fix over one host and the proxy (${r.orphans.length} orphans)`,
        run.workflowId,
        run.firstExecutionRunId,
      );
    } finally {
      h.world.toxics.get('route-a')!.delete('faultline-orphan-latency');
      worker.shutdown();
      await running;
      await conn.close();
    }
  },
  'not-started': async () => {
    h.setHealth(() => 'error');
    try {
      await experimentCase(
        'not-started',
        'the steady state fails before anything is injected',
        exp('not started', '  - { kind: proxy.latency, proxy: route-a, latency: 100ms, duration: 500ms }'),
        'not-started',
      );
    } finally {
      h.setHealth(() => 'ok');
    }
  },
  refuted: async () => {
    const since = Date.now();
    h.setHealth(() =>
      h.world.calls.some((c) => c.t >= since && c.key.startsWith('toxic:route-b') && c.effect === 'apply')
        ? 'error'
        : 'ok',
    );
    try {
      await experimentCase(
        'refuted',
        'the service fails once the fault lands and does not recover within the after-check',
        exp('refuted', '  - { kind: proxy.latency, proxy: route-b, latency: 100ms, duration: 500ms }'),
        'refuted',
      );
    } finally {
      h.setHealth(() => 'ok');
    }
  },
  'inject-failed': async () => {
    h.world.failOn('addToxic', 'toxic:route-d/', Infinity);
    try {
      await experimentCase(
        'inject-failed',
        'one of two injects fails: failed, and the one that landed is reverted',
        exp(
          'inject fails',
          '  - { kind: proxy.latency, proxy: route-c, latency: 100ms, duration: 10s }\n  - { kind: proxy.latency, proxy: route-d, latency: 100ms, duration: 10s }',
          'blastRadius: { maxTargets: 5 }',
        ),
        'failed',
      );
    } finally {
      h.world.failOn('addToxic', 'toxic:route-d/', 0);
    }
  },
  'gameday-continue-ask': async () => {
    // The service fails while route-e carries a toxic: those children are aborted by their guard.
    h.setHealth(() => ((h.world.toxics.get('route-e')?.size ?? 0) > 0 ? 'error' : 'ok'));
    try {
      const bad = exp(
        'bad step',
        '  - { kind: proxy.latency, proxy: route-e, latency: 100ms, duration: 30s }',
        `guard: { interval: 100ms, failuresToAbort: 2, probes: [ ${probe('g')} ] }`,
      );
      const good = exp('good step', '  - { kind: proxy.latency, proxy: route-f, latency: 100ms, duration: 500ms }');
      const input: GameDayInput = {
        title: 'recorded game day: continue, ask, skip',
        owner: 'alice',
        approvers: ['bob'],
        observers: [],
        searchAttributes: true,
        steps: [
          {
            name: 'bad-continue',
            kind: 'experiments',
            experiments: [{ experiment: bad, file: 'bad.yaml' }],
            onFailure: 'continue',
          },
          { name: 'note', kind: 'note', text: 'keep going' },
          {
            name: 'bad-ask',
            kind: 'experiments',
            experiments: [{ experiment: bad, file: 'bad.yaml' }],
            onFailure: 'ask',
          },
          { name: 'skipped-gate', kind: 'gate', text: 'skip me' },
          {
            name: 'good-parallel',
            kind: 'experiments',
            experiments: [
              { experiment: good, file: 'good.yaml' },
              {
                experiment: exp('good too', '  - { kind: http.delay, proxy: route-g, delay: 10ms, duration: 500ms }'),
                file: 'good2.yaml',
              },
            ],
            onFailure: 'stop',
          },
        ],
      };
      const gd = await h.client.workflow.start('runGameDay', {
        taskQueue: h.taskQueue,
        workflowId: 'rec-gameday-continue-ask',
        args: [input],
      });
      await until('the ask', async () => (await gd.query(gameDayQuery)).waitingAt === 'bad-ask', 120_000);
      await gd.executeUpdate(addNoteUpdate, { args: [{ who: 'carol', text: 'the guard fired twice' }] });
      await gd.executeUpdate(approveGateUpdate, { args: [{ who: 'bob' }] });
      await until('the gate', async () => (await gd.query(gameDayQuery)).waitingAt === 'skipped-gate');
      await gd.executeUpdate(skipStepUpdate, { args: [{ step: 'skipped-gate', who: 'alice' }] });
      const r = (await gd.result()) as { steps: { status: string }[] };
      save(
        'runGameDay',
        'continue-ask-skip',
        `a failed step with onFailure continue, a note, a failed step with onFailure ask answered by bob, a note added, a gate skipped, a parallel step (steps: ${r.steps.map((x) => x.status).join(', ')})`,
        gd.workflowId,
        gd.firstExecutionRunId,
      );
    } finally {
      h.setHealth(() => 'ok');
    }
  },
  'admission-policy': async () => {
    // Its own task queue: a policy that needs approval in "prod", a run that waits for it and is approved,
    // the safety lever refusing a run, and the lever released.
    const a = await harness('rec-pol');
    try {
      a.world.addProxy('route-a');
      await a.startWorker('pol');
      const start = admissionStart(a.taskQueue);
      await a.client.workflow.executeUpdateWithStart(setPolicyUpdate, {
        args: [
          {
            exclusiveTargets: true,
            environments: { prod: { requireApproval: true } },
            blackouts: [],
            source: 'rec.yaml',
          },
        ],
        startWorkflowOperation: start,
      });
      const adm = a.client.workflow.getHandle(admissionWorkflowId(a.taskQueue));
      const lat = (title: string, more: string) =>
        exp(title, '  - { kind: proxy.latency, proxy: route-a, latency: 100ms, duration: 500ms }', more, a.url);
      const waiting = await a.start(lat('needs approval', 'environment: prod\nadmission: { wait: 60s }'), {
        id: 'rec-admission-approval',
      });
      // Refused at least once (an approval is missing) before it is approved.
      await until('a refused admit', async () => {
        const events = (await waiting.fetchHistory()).events ?? [];
        const admits = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'admitRun');
        return admits.length >= 2;
      });
      await sleep(1_000);
      await a.client.workflow.executeUpdateWithStart(approveUpdate, {
        args: [{ workflowId: waiting.workflowId, who: 'bob' }],
        startWorkflowOperation: admissionStart(a.taskQueue),
      });
      const jw = await a.result(waiting);
      if (jw.verdict !== 'passed') throw new Error(`admission-policy: ${jw.verdict}: ${jw.reason}`);
      await a.client.workflow.executeUpdateWithStart(pullLeverUpdate, {
        args: [{ reason: 'recorded lever', who: 'alice' }],
        startWorkflowOperation: admissionStart(a.taskQueue),
      });
      const refused = await a.start(lat('lever pulled', ''), { id: 'rec-admission-lever' });
      const jr = await a.result(refused);
      if (jr.verdict !== 'not-started') throw new Error(`admission-policy lever: ${jr.verdict}: ${jr.reason}`);
      await a.client.workflow.executeUpdateWithStart(releaseLeverUpdate, {
        args: [{ who: 'alice' }],
        startWorkflowOperation: admissionStart(a.taskQueue),
      });
      save(
        'runExperiment',
        'approval-wait',
        'environment prod needs an approval: refused (retryable), waits, approved by bob, runs',
        waiting.workflowId,
        await runIdOf(waiting),
      );
      save(
        'runExperiment',
        'lever-refused',
        `the safety lever is pulled: ${jr.reason}`,
        refused.workflowId,
        await runIdOf(refused),
      );
      save(
        'admission',
        'policy-approval-lever',
        'the admission workflow (open): setPolicy, refused admits awaiting approval, approve, admit, release, pullLever, a refused admit, releaseLever',
        adm.workflowId,
        (await adm.describe()).runId,
      );
    } finally {
      await a.close();
    }
  },
  host: async () => {
    const p = h.client.workflow.getHandle(hostWorkflowId(h.taskQueue, 'memory'));
    save(
      'hostPresence',
      'registered',
      "a host's presence workflow (open) after its registration",
      p.workflowId,
      (await p.describe()).runId,
    );
  },
  admission: async () => {
    const adm = h.client.workflow.getHandle(admissionWorkflowId(h.taskQueue));
    save(
      'admission',
      'many-runs',
      'the admission workflow (open) after every case above on one task queue: admits, releases, sweeps of holders',
      adm.workflowId,
      (await adm.describe()).runId,
    );
  },
};

let failed = false;
try {
  for (const [name, run] of Object.entries(cases)) {
    if (only && !only.has(name)) continue;
    console.log(`${name}`);
    try {
      await run();
    } catch (e) {
      failed = true;
      console.error(`  FAILED: ${(e as Error).stack ?? String(e)}`);
    }
  }
} finally {
  await h.close();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}

const indexFile = path.join(outDir, 'index.json');
const previous = existsSync(indexFile)
  ? (JSON.parse(readFileSync(indexFile, 'utf8')) as { histories: Recorded[] }).histories
  : [];
const files = new Set(recorded.map((r) => r.file));
const index = {
  recordedAt: { commit, version: pkg.version, date: new Date().toISOString() },
  sdk: { '@temporalio/workflow': sdk },
  server: execFileSync(temporalBinary(), ['--version'], { encoding: 'utf8' }).trim(),
  note: 'Recorded by scripts/record-histories.ts; replayed by test/unit/replay-corpus.test.ts. Never re-record with newer code.',
  histories: [...previous.filter((p) => !files.has(p.file)), ...recorded].sort((x, y) => x.file.localeCompare(y.file)),
};
writeFileSync(indexFile, `${JSON.stringify(index, null, 2)}\n`);
console.log(`${recorded.length} histories in ${path.relative(ROOT, outDir)}${failed ? ' (some cases FAILED)' : ''}`);
process.exit(failed ? 1 : 0);
