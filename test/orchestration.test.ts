// Orchestration with in-memory ports on the real dev server (no Docker): the real workflow and activities,
// workers that die at chosen moments, and assertions over every recorded port call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experiment, harness, type Harness } from './support/workflow-harness.ts';
import type { Call } from './support/memory-ports.ts';
import { journalQuery } from '../definitions/experiment.ts';
import { STUCK_KEY } from '../workflows/search-attributes.ts';
import { abortCommand } from '../cli/commands/abort.ts';
import { connectClient, history } from '../cli/client.ts';
import { historyTable } from '../cli/render.ts';

let h: Harness;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let workerSeq = 0;
let current = '';

/** A live worker for the next case (a case may have killed the last one). */
async function liveWorker(): Promise<string> {
  if (current && !h.world.isDead(current)) return current;
  current = `w${++workerSeq}`;
  await h.startWorker(current);
  return current;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

beforeAll(async () => {
  h = await harness('orch');
  for (const p of ['route-a', 'route-b', 'route-c', 'route-d', 'route-e', 'route-f', 'route-g', 'route-h'])
    h.world.addProxy(p);
  h.world.addContainer('api-1', { backend: ['api'] });
  await liveWorker();
});

afterAll(async () => {
  await h?.close();
});

const probe = (name: string, extra = '') =>
  `{ name: ${name}, type: http, url: "\${URL}", requests: 2, timeout: 300ms, tolerance: { maxErrorRate: 0 }${extra} }`;

function latency(faults: { proxy: string; duration: string }[], more = '') {
  return experiment(
    `
title: memory latency
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
method:
${faults.map((f) => `  - { kind: proxy.latency, proxy: ${f.proxy}, latency: 100ms, duration: ${f.duration} }`).join('\n')}
blastRadius: { maxTargets: 5 }
afterCheck: { recoveryTimeout: 2s }
${more}
`,
    h.url,
  );
}

const callsOn = (key: string, since = 0): Call[] => h.world.calls.filter((c) => c.key.startsWith(key) && c.t >= since);

/** Nothing on key was applied or renewed after its first revert call. */
function nothingAfterRevert(key: string, since: number): void {
  const calls = callsOn(key, since);
  const first = calls.find((c) => ['removeToxic', 'enable', 'unpause', 'start', 'connect'].includes(c.op));
  expect(first, `no revert on ${key}`).toBeDefined();
  const late = calls.filter((c) => c.t >= first!.t && c !== first && (c.effect === 'apply' || c.effect === 'renew'));
  expect(late, `applied or renewed after its revert began: ${JSON.stringify(late)}`).toEqual([]);
}

const guarded = (proxy: string, duration: string) =>
  experiment(
    `
title: guarded latency
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
method:
  - { kind: proxy.latency, proxy: ${proxy}, latency: 100ms, duration: ${duration} }
guard: { interval: 100ms, failuresToAbort: 2, probes: [ ${probe('g')} ] }
afterCheck: { recoveryTimeout: 2s }
`,
    h.url,
  );

describe('orchestration with in-memory ports', () => {
  it('mixed fault durations: each fault is reverted at its own end and never renewed or re-added after', async () => {
    const t0 = Date.now();
    const run = await h.start(
      latency([
        { proxy: 'route-a', duration: '1s' },
        { proxy: 'route-b', duration: '7s' },
      ]),
    );
    const j = await h.result(run);
    expect(j.verdict, j.reason).toBe('passed');
    const a = callsOn('toxic:route-a', t0);
    const firstRevert = a.find((c) => c.op === 'removeToxic')!;
    expect(firstRevert.effect).toBe('revert');
    expect(a.filter((c) => c.t > firstRevert.t && (c.effect === 'apply' || c.effect === 'renew'))).toEqual([]);
    const b = callsOn('toxic:route-b', t0);
    const bRevert = b.find((c) => c.op === 'removeToxic')!;
    // A was gone long before B: each fault has its own clock.
    expect(bRevert.t - firstRevert.t).toBeGreaterThan(3_000);
    expect(b.some((c) => c.effect === 'renew')).toBe(true);
    expect(h.world.leftovers()).toEqual([]);
    expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
  });

  it('an after-check against a service that never recovers is refuted, not failed (probes heartbeat on a timer)', async () => {
    await liveWorker();
    const e = experiment(
      `
title: never recovers
hypothesis:
  statement: the service answers
  probes: [ { name: slow, type: http, url: "\${URL}", requests: 6, timeout: 2s, tolerance: { maxErrorRate: 0 } } ]
method: [ { kind: proxy.latency, proxy: route-c, latency: 100ms, duration: 500ms } ]
afterCheck: { recoveryTimeout: 1s }
`,
      h.url,
    );
    // Healthy until the fault lands, then never answers again: one probe round (12 s) outlasts the
    // probe activity's heartbeat timeout (10 s), so only timer heartbeats keep it alive.
    h.setHealth(() => (callsOn('toxic:route-c').some((c) => c.effect === 'apply') ? 'hang' : 'ok'));
    try {
      const j = await h.result(await h.start(e));
      expect(j.verdict, j.reason).toBe('refuted');
      expect(j.reason).toMatch(/^steady-state-after: the steady state did not recover within 1s/);
      expect(j.steadyStateAfter[0]?.errorSamples.join()).toMatch(/timeout/);
    } finally {
      h.setHealth(() => 'ok');
    }
  });

  it('an abort after the guard worker died is journaled as aborted and returns once the revert is done', async () => {
    const dying = await liveWorker();
    const since = Date.now();
    const run = await h.start(guarded('route-d', '30s'));
    await until('observing', async () => (await h.journal(run)).phase === 'observing');
    await until('a renewal', () => callsOn('toxic:route-d', since).some((c) => c.effect === 'renew'), 10_000);
    h.kill(dying);
    current = '';
    const killedAt = Date.now();
    await liveWorker();
    const j = await h.abort(run, 'stop it');
    const revert = callsOn('toxic:route-d', since).find((c) => c.op === 'removeToxic' && c.effect === 'revert')!;
    expect(revert.worker).not.toBe(dying);
    const final = await h.result(run);
    expect(final.verdict, final.reason).toBe('aborted');
    expect(final.reason).toMatch(
      /^an operator aborted the experiment during observing: stop it; every fault was reverted/,
    );
    expect(j.faults[0]?.status).toBe('reverted');
    nothingAfterRevert('toxic:route-d', since);
    expect(h.world.leftovers()).toEqual([]);
    console.log(`worker death to revert: ${revert.t - killedAt} ms`);
  });

  it('a crash after the guard detected a violation: the verdict stays aborted and nothing is re-applied', async () => {
    await liveWorker();
    const since = Date.now();
    // Broken until the worker dies; then the service looks healthy, so only the recorded violation can
    // tell the retried guard to revert now rather than hold the fault for its whole 30 s.
    h.setHealth(() => (!killed && h.world.disturbed(['route-e'], []) ? 'error' : 'ok'));
    let killed = '';
    let killedAt = 0;
    h.world.onCall = (c) => {
      if (c.op === 'reportViolation:done' && !killed) {
        killed = c.worker;
        killedAt = Date.now();
        h.kill(c.worker);
      }
    };
    try {
      const run = await h.start(guarded('route-e', '30s'));
      await until('the kill', () => killed !== '');
      current = '';
      await liveWorker();
      const j = await h.result(run);
      expect(j.verdict, j.reason).toBe('aborted');
      expect(j.abort?.by).toBe('guard');
      expect(j.guardSamples.failed).toBeGreaterThanOrEqual(2);
      const revert = callsOn('toxic:route-e', since).find((c) => c.effect === 'revert')!;
      // The guard reverts side by side with its report (guard-reverts-at-once): by the worker that died right
      // after, or, when the kill came first, by the retried guard; either way at once, and never re-applied.
      expect(revert.t - killedAt).toBeLessThan(15_000); // not held until its 30 s end
      expect(callsOn('toxic:route-e', killedAt).filter((c) => c.effect === 'renew')).toEqual([]);
      nothingAfterRevert('toxic:route-e', since);
      expect(h.world.leftovers()).toEqual([]);
    } finally {
      h.world.onCall = undefined;
      h.setHealth(() => 'ok');
    }
  });

  it('a crash inside the guard fast revert: the retried guard resumes from the violation, nothing is re-applied', async () => {
    await liveWorker();
    const since = Date.now();
    h.setHealth(() => (h.world.disturbed(['route-f', 'route-g'], []) ? 'error' : 'ok'));
    let killed = '';
    let fastReverts = 0;
    h.world.onCall = async (c) => {
      // The fast path removes one route's rule; the worker dies as it starts on the other one.
      if (c.op === 'removeToxic' && c.activity === 'observe' && ++fastReverts === 2) {
        killed = c.worker;
        await sleep(50); // the first removal lands
        h.kill(c.worker);
      }
    };
    try {
      const e = experiment(
        `
title: two routes
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
method:
  - { kind: proxy.latency, proxy: route-f, latency: 100ms, duration: 30s }
  - { kind: proxy.latency, proxy: route-g, latency: 100ms, duration: 30s }
blastRadius: { maxTargets: 5 }
guard: { interval: 100ms, failuresToAbort: 2, probes: [ ${probe('g')} ] }
afterCheck: { recoveryTimeout: 2s }
`,
        h.url,
      );
      const run = await h.start(e);
      await until('the kill', () => killed !== '');
      current = '';
      await liveWorker();
      const j = await h.result(run);
      expect(j.verdict, j.reason).toBe('aborted');
      expect(j.abort?.by).toBe('guard');
      // One rule was removed by the dead worker, the other by the retried guard or the sweep.
      expect(
        callsOn('toxic:route-', since)
          .filter((c) => c.effect === 'revert')
          .map((c) => c.worker),
      ).toEqual([killed, expect.not.stringMatching(killed)]);
      nothingAfterRevert('toxic:route-f', since);
      nothingAfterRevert('toxic:route-g', since);
      expect(h.world.leftovers()).toEqual([]);
    } finally {
      h.world.onCall = undefined;
      h.setHealth(() => 'ok');
    }
  });

  it('one of three injects fails: failed, naming the phase, and the two that landed are reverted', async () => {
    await liveWorker();
    const since = Date.now();
    h.world.failOn('addToxic', 'toxic:route-b/', Infinity);
    try {
      const j = await h.result(
        await h.start(
          latency([
            { proxy: 'route-a', duration: '20s' },
            { proxy: 'route-b', duration: '20s' },
            { proxy: 'route-c', duration: '20s' },
          ]),
        ),
      );
      expect(j.verdict, j.reason).toBe('failed');
      expect(j.reason).toMatch(/^injecting: .*injected failure.*; everything injected was reverted$/);
      expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted', 'reverted']);
      expect(callsOn('toxic:route-b', since).filter((c) => c.effect === 'apply')).toEqual([]);
      nothingAfterRevert('toxic:route-a', since);
      nothingAfterRevert('toxic:route-c', since);
      expect(h.world.leftovers()).toEqual([]);
    } finally {
      h.world.failOn('addToxic', 'toxic:route-b/', 0);
    }
  });

  it('an abort while intents are recorded injects nothing and is journaled as aborted', async () => {
    await liveWorker();
    const since = Date.now();
    let aborting: Promise<unknown> | undefined;
    const run = await h.start(
      experiment(
        `
title: pause during intents
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
targets: { names: [ api-1 ], mode: one }
method: [ { kind: container.pause, duration: 10s } ]
afterCheck: { recoveryTimeout: 2s }
`,
        h.url,
      ),
    );
    h.world.onCall = async (c) => {
      if (c.activity === 'prepareFault' && !aborting) {
        aborting = h.abort(run, 'not now');
        await sleep(1_000);
      }
    };
    try {
      const j = await h.result(run);
      await aborting;
      expect(j.verdict, j.reason).toBe('aborted');
      expect(j.reason).toMatch(/during injecting: not now; nothing was injected/);
      expect(j.faults.map((f) => f.status)).toEqual(['not-applied']);
      expect(h.world.calls.filter((c) => c.t >= since && c.effect === 'apply')).toEqual([]);
    } finally {
      h.world.onCall = undefined;
    }
  });

  it('a revert that fails three times then succeeds: bounded errors, reverted, passed', async () => {
    await liveWorker();
    h.world.failOn('removeToxic', 'toxic:route-h/', 3);
    const j = await h.result(await h.start(latency([{ proxy: 'route-h', duration: '500ms' }])));
    expect(j.verdict, j.reason).toBe('passed');
    const f = j.faults[0]!;
    expect(f.status).toBe('reverted');
    expect(f.errorCount).toBe(3);
    expect(f.errors).toHaveLength(3);
    expect(h.world.leftovers()).toEqual([]);
  });

  it('a revert that never succeeds: stuck, history bounded across continue-as-new, the journal survives', async () => {
    await liveWorker();
    h.world.failOn('removeToxic', 'toxic:route-a/', Infinity);
    const limit = 120;
    const run = await h.start(latency([{ proxy: 'route-a', duration: '300ms' }]), {
      tuning: { revertBackoffMaxMs: 50, historyEventsLimit: limit },
    });
    const latest = h.client.workflow.getHandle(run.workflowId);
    await until(
      'two hand-overs',
      async () => ((await latest.query(journalQuery)).continuedFrom?.length ?? 0) >= 2,
      120_000,
    );
    const j = await latest.query(journalQuery);
    expect(j.stuck).toBe(true);
    expect(j.faults[0]?.status).toBe('reverting');
    expect(j.faults[0]?.errors).toHaveLength(3);
    expect(j.faults[0]?.errorCount).toBeGreaterThan(10);
    const sa = (await latest.describe()).typedSearchAttributes.get(STUCK_KEY);
    expect(sa).toBe('true');
    const fc = await connectClient();
    try {
      // `faultline history` shows it (visibility is eventually consistent: wait for the row).
      await until('history shows the stuck run', async () =>
        historyTable(await history(fc, 500))
          .split('\n')
          .some((l) => l.startsWith(run.workflowId) && l.includes('RUNNING (revert stuck)')),
      );
    } finally {
      await fc.close();
    }
    for (const runId of j.continuedFrom ?? []) {
      const events = (await h.client.workflow.getHandle(run.workflowId, runId).fetchHistory()).events ?? [];
      expect(events.length).toBeLessThan(limit + 40);
    }
    // The revert finally works: the same journal ends the run.
    h.world.failOn('removeToxic', 'toxic:route-a/', 0);
    const done = await h.result(latest);
    expect(done.verdict, done.reason).toBe('passed');
    expect(done.faults[0]?.status).toBe('reverted');
    expect(done.startedAt).toBe(j.startedAt);
    expect(h.world.leftovers()).toEqual([]);
  });

  it('abort with no worker alive says so at once and returns once a worker has handled it', async () => {
    const fc = await connectClient();
    const lonely = `${h.taskQueue}-nobody`;
    const run = await h.client.workflow.start('runExperiment', {
      taskQueue: lonely,
      workflowId: `orch-nobody-${Date.now().toString(36)}`,
      args: [{ experiment: latency([{ proxy: 'route-a', duration: '1s' }]), searchAttributes: true }],
    });
    const errs: string[] = [];
    const outs: string[] = [];
    const io = { out: (t: string) => outs.push(t), err: (t: string) => errs.push(t), live: () => {}, isTTY: false };
    let code: number | undefined;
    const aborting = abortCommand(run.workflowId, { reason: 'nobody home' }, io).then((c) => (code = c));
    try {
      await until('the no-worker message', () => errs.length > 0, 20_000);
      expect(errs[0]).toMatch(new RegExp(`no worker is polling task queue ${lonely}`));
      expect(code).toBeUndefined(); // still waiting for a worker
      // A worker for that queue arrives: the abort is handled first, nothing is injected.
      const late = await harness('orch-late', lonely);
      try {
        await late.startWorker('late');
        await aborting;
        expect(code).toBe(0);
        const j = await late.result(run);
        expect(j.verdict, j.reason).toBe('aborted');
        expect(j.reason).toMatch(/nobody home; nothing was injected/);
        expect(late.world.calls.filter((c) => c.effect === 'apply')).toEqual([]);
      } finally {
        await late.close();
      }
    } finally {
      await fc.close();
    }
  });

  it("a slow inject: the fault's window starts when its own inject completed", async () => {
    await liveWorker();
    const since = Date.now();
    h.world.onCall = async (c) => {
      if (c.op === 'stop') await sleep(2_000); // a long grace period
    };
    try {
      const j = await h.result(
        await h.start(
          experiment(
            `
title: slow stop
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
targets: { names: [ api-1 ], mode: one }
method:
  - { kind: container.stop, gracePeriod: 2, duration: 1500ms }
  - { kind: proxy.latency, proxy: route-b, latency: 100ms, duration: 1500ms }
blastRadius: { maxTargets: 5 }
guard: { interval: 200ms, maxGap: 10s, probes: [ ${probe('g')} ] }
afterCheck: { recoveryTimeout: 2s }
`,
            h.url,
          ),
        ),
      );
      // The guard starts once every inject settled: the latency's whole window ran before it, unwatched
      // (maxGap is raised so the stop is held for its window, not reverted for the gap).
      expect(j.verdict, j.reason).toBe('inconclusive');
      expect(j.reason).toMatch(/the guard watched 0% of fault 1's window/);
      const stop = callsOn('container:api-1-id', since).find((c) => c.op === 'stop')!;
      const start = callsOn('container:api-1-id', since).find((c) => c.op === 'start' && c.effect === 'revert')!;
      // stop.t is when the slow stop took effect (after its 2 s): stopped for its whole 1.5 s from then.
      expect(start.t - stop.t).toBeGreaterThanOrEqual(1_400);
      const f = j.faults.find((x) => x.kind === 'container.stop')!;
      expect(Date.parse(f.endsAt!) - Date.parse(f.injectedAt!)).toBe(1_500);
      expect(h.world.leftovers()).toEqual([]);
    } finally {
      h.world.onCall = undefined;
    }
  });

  it('a rule the proxy lost is put back while its fault is active, journaled, and never after its end', async () => {
    await liveWorker();
    const since = Date.now();
    const run = await h.start(latency([{ proxy: 'route-c', duration: '5s' }]));
    await until('the rule', () => (h.world.toxics.get('route-c')?.size ?? 0) > 0, 10_000);
    h.world.toxics.get('route-c')!.clear(); // lost behind our back (a proxy restart)
    const lostAt = Date.now();
    const j = await h.result(run);
    expect(j.verdict, j.reason).toBe('passed');
    const restores = callsOn('toxic:route-c', since).filter((c) => c.effect === 'apply' && c.activity === 'observe');
    expect(restores.length).toBe(1);
    expect(restores[0]!.t).toBeGreaterThan(lostAt);
    expect(j.faults[0]?.restoredAt).toHaveLength(1);
    nothingAfterRevert('toxic:route-c', since);
    expect(h.world.leftovers()).toEqual([]);
  });

  it('abort right after the only worker died says no worker picks the run up, and returns once a new one reverted', async () => {
    const dying = await liveWorker();
    const since = Date.now();
    const run = await h.start(guarded('route-h', '30s'));
    await until('observing', async () => (await h.journal(run)).phase === 'observing');
    h.kill(dying);
    current = '';
    const errs: string[] = [];
    const io = { out: () => {}, err: (t: string) => errs.push(t), live: () => {}, isTTY: false };
    let code: number | undefined;
    const aborting = abortCommand(run.workflowId, { reason: 'worker gone' }, io).then((c) => (code = c));
    await until('the no-worker message', () => errs.length > 0, 20_000);
    expect(errs[0]).toMatch(/no worker (is polling|has picked up this run)/);
    expect(code).toBeUndefined();
    await liveWorker();
    await aborting;
    expect(code).toBe(0);
    const j = await h.result(run);
    expect(j.verdict, j.reason).toBe('aborted');
    nothingAfterRevert('toxic:route-h', since);
    expect(h.world.leftovers()).toEqual([]);
  });
});

describe('orchestration across two in-memory hosts', () => {
  let f: Harness;
  beforeAll(async () => {
    f = await harness('orch-fleet', undefined, { hosts: ['h1', 'h2'] });
    f.world.addProxy('route-x');
    // The same name on both hosts: identity is host + name.
    f.world.addContainer('api', {}, { tier: 'api' }, 'h1');
    f.world.addContainer('api', {}, { tier: 'api' }, 'h2');
    await f.startWorker('w1');
  });
  afterAll(async () => {
    await f?.close();
  });

  const paused = (more = '') =>
    experiment(
      `
title: pause api everywhere
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
targets: { labels: { tier: api }, mode: all }
blastRadius: { maxTargets: 3 }
method:
  - { kind: container.pause, duration: 2s }
  - { kind: proxy.latency, proxy: route-x, latency: 100ms, duration: 2s }
afterCheck: { recoveryTimeout: 2s }
${more}
`,
      f.url,
    );

  /** Every call on a container was made by its own host's agent (the port of that host). */
  function onItsHost(since: number): void {
    const calls = f.world.calls.filter((c) => c.key.startsWith('container:') && c.t >= since);
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect(c.host, `${c.op} ${c.key}`).toBe(c.key.includes('h2.') ? 'h2' : 'h1');
  }

  it('selects the container on both hosts, each fault runs on its host and is reverted there', async () => {
    const since = Date.now();
    const j = await f.result(await f.start(paused()));
    expect(j.verdict, j.reason).toBe('passed');
    const targets = j.faults.filter((x) => x.kind === 'container.pause').map((x) => x.target);
    expect(targets).toEqual([
      { id: 'h1.api-id', name: 'api', host: 'h1' },
      { id: 'h2.api-id', name: 'api', host: 'h2' },
    ]);
    onItsHost(since);
    for (const id of ['h1.api-id', 'h2.api-id']) {
      const effects = f.world.calls.filter((c) => c.key === `container:${id}` && c.t >= since && c.effect !== 'none');
      expect(effects.map((c) => c.op)).toEqual(['pause', 'unpause']);
    }
    expect(f.world.leftovers()).toEqual([]);
  });

  it('a guard violation stops every host holder; each container fault is reverted on its own host, none after', async () => {
    const since = Date.now();
    f.setHealth(() => (f.world.disturbed([], ['h1.api-id']) ? 'error' : 'ok'));
    try {
      const j = await f.result(
        await f.start(paused(`guard: { interval: 100ms, failuresToAbort: 2, probes: [ ${probe('g')} ] }`)),
      );
      expect(j.verdict, j.reason).toBe('aborted');
      expect(j.abort?.by).toBe('guard');
      onItsHost(since);
      for (const key of ['container:h1.api-id', 'container:h2.api-id', 'toxic:route-x'])
        nothingAfterRevertOn(f, key, since);
      expect(f.world.leftovers()).toEqual([]);
    } finally {
      f.setHealth(() => 'ok');
    }
  });
});

function nothingAfterRevertOn(x: Harness, key: string, since: number): void {
  const calls = x.world.calls.filter((c) => c.key.startsWith(key) && c.t >= since);
  const first = calls.find((c) => ['removeToxic', 'unpause'].includes(c.op));
  expect(first, `no revert on ${key}`).toBeDefined();
  const late = calls.filter((c) => c.t >= first!.t && c !== first && (c.effect === 'apply' || c.effect === 'renew'));
  expect(late, `applied or renewed after its revert began: ${JSON.stringify(late)}`).toEqual([]);
}

// Control-group mode (ChAP) reads its judged counters from the real Prometheus (PROMETHEUS_URL or loopback,
// like test/judge.test.ts) with PromQL that needs no scrape target: a counter rising with time() (10 events
// a second, none bad), $GROUP carried into a label so that one group can be made to return no series.
describe('control-group mode with in-memory ports', () => {
  const counter = (only?: string) =>
    `sum(label_replace(floor(vector(time() * 10)), "g", "$GROUP", "", "")${only ? ` and on(g) label_replace(vector(1), "g", "${only}", "", "")` : ''})`;
  const cg = (title: string, o: { targets?: string; replicas?: string; total?: string } = {}) =>
    experiment(
      `
title: ${title}
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
targets: ${o.targets ?? '{ labels: { app: cg }, mode: one, seed: 7 }'}
method: [ { kind: container.pause, duration: 1s } ]
judge:
  interval: 250ms
  baseline: { window: 1s }
  controlGroup: ${o.replicas ? `{ replicas: ${o.replicas} }` : '{}'}
  metrics:
    - name: errors
      events:
        total: '${o.total ?? counter()}'
        bad: 'sum(label_replace(vector(0), "g", "$GROUP", "", ""))'
      allowedIncrease: 2
afterCheck: { recoveryTimeout: 2s }
`,
      h.url,
    );

  beforeAll(() => {
    for (const n of ['cg-1', 'cg-2', 'cg-3']) h.world.addContainer(n, {}, { app: 'cg' });
  });

  /** The run's activities in the order the workflow scheduled them (from its history). */
  async function scheduled(workflowId: string): Promise<string[]> {
    const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    return events.flatMap((e) => {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return name ? [name] : [];
    });
  }
  const containerEffects = (since: number) =>
    h.world.calls
      .filter((c) => c.key.startsWith('container:cg-') && c.t >= since && c.effect !== 'none')
      .map((c) => `${c.op} ${c.key}`);

  it('plan, then both groups measured, then intents, then injects; the faulted replica is the experiment group', async () => {
    await liveWorker();
    const since = Date.now();
    const run = await h.start(cg('control group order'));
    const j = await h.result(run);
    expect(j.verdict, j.reason).toBe('passed');
    const target = j.faults[0]!.target!.name;
    expect(j.controlGroup).toEqual({
      experiment: [target],
      control: ['cg-1', 'cg-2', 'cg-3'].filter((n) => n !== target),
    });
    const acts = await scheduled(run.workflowId);
    const at = (a: string) => acts.indexOf(a);
    // one baseline, both groups at once, after planning and before anything is prepared or injected
    expect(acts.filter((a) => a === 'measureBaseline')).toHaveLength(1);
    expect(at('planFaults')).toBeGreaterThanOrEqual(0);
    expect(at('planFaults')).toBeLessThan(at('measureBaseline'));
    expect(at('measureBaseline')).toBeLessThan(at('prepareFault'));
    expect(at('prepareFault')).toBeLessThan(at('injectFault'));
    const m = j.judge!.metrics[0]!;
    expect(m.baseline?.n).toBeGreaterThan(0);
    expect(m.controlBaseline?.n).toBeGreaterThan(0);
    // the journal's clock agrees: the intent was recorded after the baseline window
    expect(Date.parse(j.faults[0]!.intentAt!)).toBeGreaterThanOrEqual(since + 1_000);
    // the pause landed on the experiment group's replica only, and was undone
    expect(containerEffects(since)).toEqual([`pause container:${target}-id`, `unpause container:${target}-id`]);
    expect(h.world.leftovers()).toEqual([]);
  });

  it('refused before any intent: an empty control group (planner), a control group with no series (its baseline)', async () => {
    await liveWorker();
    const since = Date.now();
    const [lonely, unseen] = await Promise.all([
      // the replicas' selector matches only the faulted container (known only once the daemon is listed)
      h.start(
        cg('empty control group', { targets: '{ names: [ cg-2 ], mode: one }', replicas: '{ namePattern: "^cg-2$" }' }),
      ),
      // the experiment group (cg-2) answers, the control group (cg-1, cg-3) has no series
      h.start(
        cg('control group without series', {
          targets: '{ names: [ cg-2 ], mode: one }',
          replicas: '{ labels: { app: cg } }',
          total: counter('cg-2'),
        }),
      ),
    ]);
    const j1 = await h.result(lonely);
    expect(j1.verdict, j1.reason).toBe('not-started');
    expect(j1.reason).toMatch(
      /^selecting: InvalidInput: judge\.controlGroup: every matched replica \(cg-2\) is faulted/,
    );
    const j2 = await h.result(unseen);
    expect(j2.verdict, j2.reason).toBe('not-started');
    expect(j2.reason).toMatch(/^selecting: InvalidInput: judged metric errors: .*no series for the control group/);
    for (const [run, j] of [
      [lonely, j1],
      [unseen, j2],
    ] as const) {
      const acts = await scheduled(run.workflowId);
      expect(acts).toContain('planFaults');
      expect(acts.filter((a) => a === 'prepareFault' || a === 'injectFault')).toEqual([]);
      expect(j.faults.filter((f) => f.intentAt || f.injectedAt)).toEqual([]);
    }
    // the planner refused (nothing planned); the baseline refused a planned fault, which stays unapplied
    expect(j1.faults).toEqual([]);
    expect(j2.faults.map((f) => [f.status, f.target?.name])).toEqual([['not-applied', 'cg-2']]);
    expect(containerEffects(since)).toEqual([]);
    expect(h.world.leftovers()).toEqual([]);
  });

  it('admission holds the control group read-only: a run faulting it is refused naming the holder, one that waits runs after', async () => {
    await liveWorker();
    const since = Date.now();
    // A: cg-2 faulted for 4 s, cg-1 and cg-3 its control group.
    const a = await h.start(
      experiment(
        `
title: control group held
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
targets: { names: [ cg-2 ], mode: one }
method: [ { kind: container.pause, duration: 4s } ]
judge:
  interval: 250ms
  baseline: { window: 1s }
  controlGroup: { replicas: { labels: { app: cg } } }
  metrics:
    - name: errors
      events:
        total: '${counter()}'
        bad: 'sum(label_replace(vector(0), "g", "$GROUP", "", ""))'
      allowedIncrease: 2
afterCheck: { recoveryTimeout: 2s }
`,
        h.url,
      ),
    );
    for (let i = 0; (await h.journal(a)).phase !== 'observing'; i++) {
      if (i > 400) throw new Error(`run A never reached its window: ${(await h.journal(a)).phase}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const pause = (title: string, name: string, wait = '0s') =>
      experiment(
        `
title: ${title}
hypothesis:
  statement: the service answers
  probes: [ ${probe('ok')} ]
targets: { names: [ ${name} ], mode: one }
method: [ { kind: container.pause, duration: 1s } ]
admission: { wait: ${wait} }
`,
        h.url,
      );
    // B faults cg-3, in A's control group, with no wait: refused, naming A; C waits for it and runs after A.
    const b = await h.start(pause('faults a control group', 'cg-3'));
    const c = await h.start(pause('waits for a control group', 'cg-1', '1m'));
    const jb = await h.result(b);
    expect(jb.verdict, jb.reason).toBe('not-started');
    expect(jb.reason).toContain(`cg-3 (its control group) is held by ${a.workflowId}`);
    const ja = await h.result(a);
    expect(ja.verdict, ja.reason).toBe('passed');
    const jc = await h.result(c);
    expect(jc.verdict, jc.reason).toBe('passed');
    // Nothing touched A's control group while A held it: cg-1 was paused only after A released.
    const effects = h.world.calls.filter(
      (x) => x.key.startsWith('container:cg-') && x.t >= since && x.effect !== 'none',
    );
    const aDone = Math.max(...effects.filter((x) => x.key === 'container:cg-2-id').map((x) => x.t));
    expect(effects.filter((x) => x.key !== 'container:cg-2-id').every((x) => x.t >= aDone)).toBe(true);
    expect(effects.filter((x) => x.key === 'container:cg-3-id')).toEqual([]);
    expect(h.world.leftovers()).toEqual([]);
  });
});
