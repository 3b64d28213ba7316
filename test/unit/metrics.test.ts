// The runner's own metrics (activities/metrics.ts): the real activities over the in-memory ports, wrapped as
// the worker registers them, run in a real activity context (the SDK's MockActivityEnvironment: its task
// queue names the host, its heartbeats are the guard's), and the registry read back in Prometheus' text
// format: counts and labels after injects, reverts (by the run, by the warden), a guard's abort and a
// window's end, admission's answers, a warden's ledger, and the --metrics setting's parsing.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type ObserveInput } from '../../activities/index.ts';
import type { ControlActivities } from '../../activities/control.ts';
import {
  createFaultlineMetrics,
  instrumentActivities,
  instrumentControl,
  parseMetricsAddress,
  type FaultlineMetrics,
} from '../../activities/metrics.ts';
import type { Guard } from '../../experiments/schema.ts';
import { InvalidInput } from '../../errors.ts';
import { createLeaseLedger, settleLease, writeBeat } from '../../warden/lease-ledger.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { httpGuard } from './support/http-guard.ts';

let server: http.Server;
let url = '';
let healthy = true;
beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.statusCode = healthy ? 200 : 500;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Every sample of the registry as "name{labels} value" lines (comments and empty lines left out). */
async function samples(m: FaultlineMetrics): Promise<string[]> {
  return (await m.registry.metrics()).split('\n').filter((l) => l && !l.startsWith('#'));
}
async function value(m: FaultlineMetrics, series: string): Promise<number | undefined> {
  const line = (await samples(m)).find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A real activity context on a task queue (the SDK logs each failed activity; the tests fail some on purpose). */
const quiet = () => undefined;
const activityEnv = (taskQueue: string) =>
  new MockActivityEnvironment(
    { taskQueue },
    { logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet } },
  );

const inActivity = <R>(env: MockActivityEnvironment, fn: () => Promise<R>): Promise<R> => env.run(fn) as Promise<R>;

const noLink = () => ({ reportViolation: async () => undefined, guardRecord: async () => ({}) });
const pause = { kind: 'container.pause', duration: '10s' } as const;

function setup(o: { leases?: boolean } = {}) {
  const world = new MemoryWorld();
  if (o.leases) world.useLeases();
  const id = world.addContainer('api-1');
  const m = createFaultlineMetrics();
  const acts = instrumentActivities(createActivities(world.ports('w'), { runLink: noLink }), m);
  return { world, id, m, acts };
}

const guard = (): Guard => httpGuard(url);

describe('the metrics of the fault activities', () => {
  it('counts an inject and its revert by kind and host (the task queue @NAME), and a second revert as found undone', async () => {
    const { id, m, acts } = setup();
    const env = activityEnv('fleet@h1');
    const handle = await inActivity(env, () => acts.prepareFault(pause, { id, name: 'api-1' }));
    await inActivity(env, () => acts.injectFault(pause, handle));
    await inActivity(env, () => acts.revertFault('container.pause', handle, {}));
    await inActivity(env, () => acts.revertFault('container.pause', handle, {}));
    expect(await value(m, 'faultline_injects_total{kind="container.pause",host="h1",outcome="ok"}')).toBe(1);
    expect(await value(m, 'faultline_inject_duration_seconds_count{kind="container.pause",host="h1"}')).toBe(1);
    expect(
      await value(m, 'faultline_reverts_total{kind="container.pause",host="h1",by="workflow",result="undone"}'),
    ).toBe(1);
    expect(
      await value(m, 'faultline_reverts_total{kind="container.pause",host="h1",by="unknown",result="found-undone"}'),
    ).toBe(1);
    expect(await value(m, 'faultline_revert_duration_seconds_count{kind="container.pause",host="h1"}')).toBe(2);
  });

  it("counts a failed inject and a failed revert as errors, and a revert after the warden took the lease as the warden's", async () => {
    const { world, id, m, acts } = setup({ leases: true });
    const env = activityEnv('fleet@h2');
    const handle = await inActivity(env, () => acts.prepareFault(pause, { id, name: 'api-1' }));
    world.failOn('pause', `container:${id}`, 1);
    await expect(inActivity(env, () => acts.injectFault(pause, handle))).rejects.toThrow();
    await inActivity(env, () => acts.injectFault(pause, handle));
    expect(await value(m, 'faultline_injects_total{kind="container.pause",host="h2",outcome="error"}')).toBe(1);
    expect(await value(m, 'faultline_injects_total{kind="container.pause",host="h2",outcome="ok"}')).toBe(1);
    await world.lapse(); // nobody renewed the lease: the warden took it and reverted the fault
    await inActivity(env, () => acts.revertFault('container.pause', handle, {}));
    expect(
      await value(m, 'faultline_reverts_total{kind="container.pause",host="h2",by="warden",result="found-undone"}'),
    ).toBe(1);
    // Another fault whose revert fails: an error (the run retries it), no revert counted.
    const id2 = world.addContainer('api-2');
    const h2 = await inActivity(env, () => acts.prepareFault(pause, { id: id2, name: 'api-2' }));
    await inActivity(env, () => acts.injectFault(pause, h2));
    world.failOn('unpause', `container:${id2}`, 1);
    await expect(inActivity(env, () => acts.revertFault('container.pause', h2, {}))).rejects.toThrow();
    expect(await value(m, 'faultline_revert_errors_total{kind="container.pause",host="h2"}')).toBe(1);
    expect((await samples(m)).filter((l) => l.startsWith('faultline_reverts_total'))).toHaveLength(1);
  });
});

describe('the metrics of a fault window (the guard, through its heartbeats)', () => {
  it('holds the fault as active while the guard runs; its abort on a failing probe counts by reason, the revert by the guard, and the coverage', async () => {
    const { id, m, acts } = setup();
    const env = activityEnv('fleet');
    const handle = await inActivity(env, () => acts.prepareFault(pause, { id, name: 'api-1' }));
    await inActivity(env, () => acts.injectFault(pause, handle));
    const from = Date.now();
    const input: ObserveInput = {
      guard: guard(),
      faults: [{ index: 0, kind: 'container.pause', handle, endsAt: from + 5_000 }],
      windows: [{ fault: 0, from, to: from + 5_000 }],
      renewEveryMs: 1_000,
      atOnce: true,
    };
    const seen: (number | undefined)[] = [];
    let probed = 0;
    env.on('heartbeat', () => {
      void value(m, 'faultline_faults_active{kind="container.pause",host=""}').then((v) => seen.push(v));
      // A few healthy samples first, then the probe fails and the guard concludes.
      if (++probed === 4) healthy = false;
    });
    try {
      const r = await inActivity(env, () => acts.observe(input));
      expect(r.violated).toBe(true);
    } finally {
      healthy = true;
    }
    expect(seen[0]).toBe(1); // held while the window was open
    expect(await value(m, 'faultline_faults_active{kind="container.pause",host=""}')).toBe(0);
    expect(await value(m, 'faultline_aborts_total{reason="probe"}')).toBe(1);
    expect(await value(m, 'faultline_reverts_total{kind="container.pause",host="",by="guard",result="undone"}')).toBe(
      1,
    );
    expect(await value(m, 'faultline_revert_lag_seconds_count{kind="container.pause",host=""}')).toBe(1);
    expect(await value(m, 'faultline_guard_samples_total{result="failed"}')).toBe(1);
    expect(await value(m, 'faultline_guard_samples_total{result="ok"}')).toBeGreaterThanOrEqual(1);
    expect(await value(m, 'faultline_guard_coverage_ratio_count')).toBe(1);
    expect(await value(m, 'faultline_guard_longest_gap_seconds_count')).toBe(1);
    const slots =
      ((await value(m, 'faultline_guard_slots_total{timing="on-time"}')) ?? 0) +
      ((await value(m, 'faultline_guard_slots_total{timing="late"}')) ?? 0);
    expect(slots).toBeGreaterThanOrEqual(2);
    expect(await value(m, 'faultline_guards_running{role="guard"}')).toBe(0);
  });

  it("a host's holder reverts at its window's end: no abort, the revert counted for its host, then nothing active", async () => {
    const { id, m, acts } = setup();
    const env = activityEnv('fleet@h3');
    const handle = await inActivity(env, () => acts.prepareFault(pause, { id, name: 'api-1' }));
    await inActivity(env, () => acts.injectFault(pause, handle));
    const input: ObserveInput = {
      faults: [{ index: 0, kind: 'container.pause', handle, endsAt: Date.now() + 300 }],
      renewEveryMs: 1_000,
    };
    const running: (number | undefined)[] = [];
    env.on('heartbeat', () => {
      void value(m, 'faultline_guards_running{role="holder"}').then((v) => running.push(v));
    });
    await inActivity(env, () => acts.observe(input));
    expect(running[0]).toBe(1);
    expect(
      await value(m, 'faultline_reverts_total{kind="container.pause",host="h3",by="workflow",result="undone"}'),
    ).toBe(1);
    expect((await samples(m)).filter((l) => l.startsWith('faultline_aborts_total'))).toEqual([]);
    expect(await value(m, 'faultline_faults_active{kind="container.pause",host="h3"}')).toBe(0);
  });

  it('a guard cancelled mid-window (faultline abort, the lever) counts as an abort "cancelled"', async () => {
    const { id, m, acts } = setup();
    const env = activityEnv('fleet');
    const handle = await inActivity(env, () => acts.prepareFault(pause, { id, name: 'api-1' }));
    await inActivity(env, () => acts.injectFault(pause, handle));
    let beats = 0;
    env.on('heartbeat', () => {
      if (++beats === 3) env.cancel();
    });
    const input: ObserveInput = {
      faults: [{ index: 0, kind: 'container.pause', handle, endsAt: Date.now() + 60_000 }],
      renewEveryMs: 100,
    };
    await expect(inActivity(env, () => acts.observe(input))).rejects.toThrow();
    expect(await value(m, 'faultline_aborts_total{reason="cancelled"}')).toBe(1);
    expect(await value(m, 'faultline_faults_active{kind="container.pause",host=""}')).toBe(0);
  });
});

describe('admission and the warden ledger', () => {
  it("counts admission's answers by decision and the releases", async () => {
    const m = createFaultlineMetrics();
    const answers = [
      { admitted: true as const },
      { admitted: false as const, retryable: true, reason: 'held by another run' },
      { admitted: false as const, retryable: false, reason: 'the lever is pulled' },
    ];
    const control = instrumentControl(
      {
        admitRun: async () => answers.shift() ?? { admitted: true },
        releaseRun: async () => undefined,
      } as unknown as ControlActivities,
      m,
    );
    for (let i = 0; i < 3; i++) await control.admitRun({} as never);
    await control.releaseRun('wf', 'run');
    expect(await value(m, 'faultline_admission_decisions_total{decision="admitted"}')).toBe(1);
    expect(await value(m, 'faultline_admission_decisions_total{decision="waiting"}')).toBe(1);
    expect(await value(m, 'faultline_admission_decisions_total{decision="refused"}')).toBe(1);
    expect(await value(m, 'faultline_admission_releases_total')).toBe(1);
  });

  it("reads the warden's heartbeat, its leases and its lapses from the ledger at scrape time", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'faultline-metrics-ledger-'));
    try {
      const m = createFaultlineMetrics();
      m.ledgers.push({ host: 'h1', dir });
      await writeBeat(dir, { pid: 1, startedAt: new Date().toISOString(), at: new Date().toISOString() });
      const ledger = createLeaseLedger(dir);
      const lease = (i: string) => ({ id: i, kind: 'container.pause', handle: {}, leaseMs: 10_000, grantedAt: '' });
      await ledger.grant(lease('a'));
      await settleLease(dir, {
        lease: lease('b'),
        lapsedAt: new Date().toISOString(),
        revertedAt: new Date().toISOString(),
      });
      await settleLease(dir, { lease: lease('c'), lapsedAt: new Date().toISOString(), error: 'no daemon' });
      expect(await value(m, 'faultline_warden_leases{host="h1",state="active"}')).toBe(1);
      expect(await value(m, 'faultline_warden_leases{host="h1",state="reverting"}')).toBe(0);
      expect(await value(m, 'faultline_warden_lapses{host="h1",result="reverted"}')).toBe(1);
      expect(await value(m, 'faultline_warden_lapses{host="h1",result="failed"}')).toBe(1);
      const age = await value(m, 'faultline_warden_heartbeat_age_seconds{host="h1"}');
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(3_600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the --metrics setting', () => {
  it('takes PORT (loopback), HOST:PORT and [IPv6]:PORT; off or empty is no endpoint', () => {
    expect(parseMetricsAddress('9464', '--metrics')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('0.0.0.0:9464', '--metrics')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseMetricsAddress('[::1]:0', '--metrics')).toEqual({ host: '::1', port: 0 });
    expect(parseMetricsAddress('localhost:9464', '--metrics')).toEqual({ host: 'localhost', port: 9464 });
    expect(parseMetricsAddress('off', 'FAULTLINE_METRICS')).toBeUndefined();
    expect(parseMetricsAddress(undefined, 'FAULTLINE_METRICS')).toBeUndefined();
  });

  it('refuses what does not parse, naming where it came from', () => {
    for (const bad of ['abc', '127.0.0.1:', '65536', '127.0.0.1:9464x', 'http://127.0.0.1:9464', '-1']) {
      const e = (() => {
        try {
          parseMetricsAddress(bad, 'FAULTLINE_METRICS');
        } catch (err) {
          return err;
        }
      })();
      expect(e, bad).toBeInstanceOf(InvalidInput);
      expect((e as Error).message).toContain(`FAULTLINE_METRICS "${bad}"`);
    }
  });
});
