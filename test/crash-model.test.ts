// The randomized crash model: many seeded runs of the real workflow and activities on the dev server with
// in-memory ports. Each run gets random fault kinds and durations and maybe an operator abort or a guard
// violation; in each batch the worker dies at a random moment (it freezes: no calls, heartbeats or
// completions) and a new one takes over. Then invariants are checked over every recorded port call.
// FAULTLINE_MODEL_RUNS=N runs more; a failure prints its seed; FAULTLINE_MODEL_SEED=S replays that one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experiment, harness, type Harness } from './support/workflow-harness.ts';
import type { Call } from './support/memory-ports.ts';
import { VERDICTS, type FaultRecord, type Journal } from '../experiments/journal.ts';
import { mulberry32 } from '../judge/random.ts';

const RUNS = Number(process.env.FAULTLINE_MODEL_RUNS ?? 24);
const REPLAY = process.env.FAULTLINE_MODEL_SEED;
const BATCH = 6;
const REVERT_OPS = ['removeToxic', 'enable', 'unpause', 'start', 'connect'];

let h: Harness;
let workerSeq = 0;
let current = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Per run: is the service at /run-SEED broken right now? */
const broken = new Map<string, () => boolean>();
const takeovers: number[] = [];

async function newWorker(): Promise<void> {
  current = `m${++workerSeq}`;
  await h.startWorker(current);
}

beforeAll(async () => {
  h = await harness('model');
  h.setHealth((path) => (broken.get(path)?.() ? 'error' : 'ok'));
  await newWorker();
});

afterAll(async () => {
  if (takeovers.length) {
    const s = [...takeovers].sort((a, b) => a - b);
    console.log(
      `crash model: revert of a fault held when its worker died, past max(death, its end), n=${s.length}: p50 ${s[Math.floor(s.length / 2)]} ms, max ${s[s.length - 1]} ms`,
    );
  }
  await h?.close();
});

interface Plan {
  seed: number;
  yaml: string;
  scenario: 'none' | 'abort' | 'violation';
  abortAfterMs: number;
  path: string;
  proxies: string[];
  containers: string[];
  network?: string;
}

const KINDS = [
  'proxy.latency',
  'proxy.partition',
  'http.abort',
  'container.pause',
  'container.stop',
  'container.kill',
  'network.partition',
];

function plan(seed: number): Plan {
  const r = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const n = 1 + Math.floor(r() * 3);
  const path = `/run-${seed}`;
  const proxies: string[] = [];
  const containers: string[] = [];
  let network: string | undefined;
  const lines: string[] = [];
  let containerUsed = false;
  for (let i = 0; i < n; i++) {
    let kind = pick(KINDS);
    if (kind.startsWith('container') || kind === 'network.partition') {
      if (containerUsed) kind = 'proxy.latency';
      containerUsed = true;
    }
    const duration = `${600 + Math.floor(r() * 2400)}ms`;
    const proxy = `p${seed}-${i}`;
    switch (kind) {
      case 'proxy.latency':
        proxies.push(proxy);
        lines.push(`{ kind: proxy.latency, proxy: ${proxy}, latency: 50ms, duration: ${duration} }`);
        break;
      case 'proxy.partition':
        proxies.push(proxy);
        lines.push(
          `{ kind: proxy.partition, proxy: ${proxy}, mode: ${pick(['down', 'timeout'])}, duration: ${duration} }`,
        );
        break;
      case 'http.abort':
        proxies.push(proxy);
        lines.push(`{ kind: http.abort, proxy: ${proxy}, status: 503, duration: ${duration} }`);
        break;
      case 'network.partition':
        network = `net${seed}`;
        lines.push(`{ kind: network.partition, network: ${network}, duration: ${duration} }`);
        break;
      case 'container.stop':
        lines.push(`{ kind: container.stop, gracePeriod: 0, duration: ${duration} }`);
        break;
      default:
        lines.push(`{ kind: ${kind}, duration: ${duration} }`);
    }
  }
  if (containerUsed) containers.push(`c${seed}`);
  const scenario = pick(['none', 'abort', 'violation'] as const);
  const probe = `{ name: p, type: http, url: "\${URL}${path.slice(1)}", requests: 1, timeout: 500ms, tolerance: { maxErrorRate: 0 } }`;
  const yaml = `
title: model run ${seed}
hypothesis:
  statement: the service answers
  probes: [ ${probe} ]
${containerUsed ? `targets: { names: [ c${seed} ], mode: one }` : ''}
method:
${lines.map((l) => `  - ${l}`).join('\n')}
blastRadius: { maxTargets: 5 }
guard: { interval: 100ms, failuresToAbort: ${1 + Math.floor(r() * 2)}, probes: [ ${probe} ] }
afterCheck: { recoveryTimeout: 3s }
`;
  return { seed, yaml, scenario, abortAfterMs: Math.floor(r() * 3500), path, proxies, containers, network };
}

/** The resources a fault record's handle touches, as memory-port call keys. */
function keysOf(rec: FaultRecord): string[] {
  const hd = rec.handle as Record<string, unknown> | undefined;
  if (!hd) return [];
  if (Array.isArray(hd.proxies)) {
    const proxies = hd.proxies as string[];
    const toxics = (hd.toxics as { name: string }[]).map((t) => t.name);
    return [
      ...proxies.flatMap((p) => toxics.map((t) => `toxic:${p}/${t}`)),
      ...(hd.disable ? proxies.map((p) => `proxy:${p}`) : []),
    ];
  }
  if (typeof hd.network === 'string') return [`net:${String(hd.containerId)}:${hd.network}`];
  return [`container:${String(hd.containerId)}`];
}

function checkInvariants(p: Plan, j: Journal, calls: Call[], killedAt: number | undefined): string[] {
  const bad: string[] = [];
  if (!j.verdict || !VERDICTS.includes(j.verdict)) bad.push(`no verdict (${j.verdict})`);
  if (j.verdict === 'failed' || j.verdict === 'not-started') bad.push(`verdict ${j.verdict}: ${j.reason}`);
  const reported = calls.some((c) => c.op === 'reportViolation' && c.key === `run:${j.workflowId}`);
  if (reported && j.verdict !== 'aborted') bad.push(`a violation was reported but the verdict is ${j.verdict}`);
  if (j.abort && j.verdict !== 'aborted') bad.push(`an abort by ${j.abort.by} but the verdict is ${j.verdict}`);
  const abortAt = j.abort?.by === 'operator' ? Date.parse(j.abort.at) : undefined;
  for (const rec of j.faults) {
    for (const key of keysOf(rec)) {
      const on = calls.filter((c) => c.key === key && c.worker !== 'proxy');
      const applies = on.filter((c) => c.effect === 'apply');
      const lastApply = applies.at(-1);
      if (lastApply && !on.some((c) => c.effect === 'revert' && c.t >= lastApply.t))
        bad.push(`${key}: applied at ${lastApply.t} and never reverted after`);
      const revertBegan = on.find((c) => REVERT_OPS.includes(c.op));
      if (revertBegan) {
        const late = on.filter((c) => c.t > revertBegan.t && (c.effect === 'apply' || c.effect === 'renew'));
        if (late.length)
          bad.push(
            `${key}: ${late.map((c) => `${c.op} by ${c.worker}/${c.activity}`).join(', ')} after its revert began`,
          );
      }
      for (const c of applies) {
        if (c.activity === 'observe') bad.push(`${key}: re-applied by the guard (${c.op})`); // no rule is ever lost here
        // An inject attempt scheduled after the abort must not apply (500 ms: abort.at is the workflow
        // task's time, taken before the cancellation is sent).
        if (
          abortAt &&
          ['injectFault', 'injectFaults'].includes(c.activity ?? '') &&
          (c.scheduledAt ?? 0) > abortAt + 500
        )
          bad.push(`${key}: inject attempt ${c.attempt} scheduled after the abort applied`);
      }
      // The journal matches the calls.
      if (applies.length && rec.status !== 'reverted') bad.push(`${key}: applied but journaled ${rec.status}`);
      if (applies.length && rec.status === 'reverted') {
        const eff = on.find((c) => c.effect === 'revert' && c.t >= applies[0]!.t);
        if (!rec.revertedAt || (eff && Date.parse(rec.revertedAt) < eff.t - 5))
          bad.push(`${key}: journal revertedAt ${rec.revertedAt} before the effective revert at ${eff?.t}`);
        // A revert that found a container fault undone already (a dead worker's attempt did it) keeps the
        // daemon's time of the undo, never its own later one; who did it is named.
        if (!rec.revertedBy) bad.push(`${key}: reverted, but the journal does not say by whom`);
        if (
          eff &&
          key.startsWith('container:') &&
          rec.revertedBy !== 'workflow' &&
          Date.parse(rec.revertedAt ?? '') !== eff.t
        )
          bad.push(
            `${key}: journal revertedAt ${rec.revertedAt} by ${rec.revertedBy}, but it was undone at ${new Date(eff.t).toISOString()}`,
          );
        // How late past its own end a fault held at the crash was reverted (runs ending by time only).
        if (killedAt && !j.abort && rec.endsAt && applies[0]!.t < killedAt && eff && eff.t > killedAt)
          takeovers.push(eff.t - Math.max(killedAt, Date.parse(rec.endsAt)));
      }
      if (rec.status === 'not-applied' && applies.length) bad.push(`${key}: journaled not-applied but applied`);
    }
  }
  const left = h.world
    .leftovers()
    .filter(
      (l) =>
        p.proxies.some((x) => l.includes(`:${x}/`) || l === `proxy:${x}`) || p.containers.some((c) => l.includes(c)),
    );
  if (left.length) bad.push(`left behind: ${left.join(', ')}`);
  return bad;
}

async function batch(seeds: number[]): Promise<string[]> {
  const plans = seeds.map(plan);
  const since = Date.now();
  for (const p of plans) {
    for (const x of p.proxies) h.world.addProxy(x);
    for (const c of p.containers) h.world.addContainer(c, p.network ? { [p.network]: ['svc'] } : { bridge: [] });
    const ids = p.containers.map((c) => `${c}-id`);
    broken.set(p.path, () => p.scenario === 'violation' && h.world.disturbed(p.proxies, ids, p.network));
  }
  const r = mulberry32(seeds[0]! * 7919);
  const crashAt = Math.floor(r() * 4000);
  let killedAt: number | undefined;
  const crash = (async () => {
    await sleep(crashAt);
    killedAt = Date.now();
    h.kill(current);
    await sleep(Math.floor(r() * 500));
    await newWorker();
  })();
  const runs = plans.map(async (p) => {
    const e = experiment(p.yaml, h.url);
    const run = await h.start(e, { id: `model-${p.seed}-${Date.now().toString(36)}` });
    if (p.scenario === 'abort') {
      await sleep(p.abortAfterMs);
      await h.abort(run, `model abort ${p.seed}`).catch(() => undefined); // the run may be over already
    }
    const j = await Promise.race([
      h.result(run),
      sleep(120_000).then(() => Promise.reject(new Error('no result within 120 s'))),
    ]);
    return { p, j };
  });
  const results = await Promise.allSettled(runs);
  await crash;
  const failures: string[] = [];
  for (const [i, res] of results.entries()) {
    const p = plans[i]!;
    if (res.status === 'rejected') {
      failures.push(`seed ${p.seed} (batch ${seeds[0]}): ${(res.reason as Error).message}`);
      continue;
    }
    const calls = h.world.calls.filter((c) => c.t >= since);
    const bad = checkInvariants(p, res.value.j, calls, killedAt);
    if (bad.length)
      failures.push(
        `seed ${p.seed} (batch ${seeds[0]}, scenario ${p.scenario}, crash at ${crashAt} ms):\n  ${bad.join('\n  ')}\n${p.yaml}`,
      );
  }
  return failures;
}

describe('randomized crash model', () => {
  it(`${REPLAY ? `replays the batch of seed ${REPLAY}` : `${RUNS} seeded runs`}: no fault outlives its run, whatever crashes when`, async () => {
    const base = REPLAY ? Number(REPLAY) : 1 + (Date.now() % 100_000) * 10;
    // A batch is its first seed and the next BATCH - 1: replaying a seed replays its batch.
    const seeds = Array.from({ length: REPLAY ? BATCH : RUNS }, (_, i) => base + i);
    const failures: string[] = [];
    for (let i = 0; i < seeds.length; i += BATCH) failures.push(...(await batch(seeds.slice(i, i + BATCH))));
    if (failures.length)
      console.log(`crash model failures (replay with FAULTLINE_MODEL_SEED=<batch>):\n${failures.join('\n')}`);
    expect(failures).toEqual([]);
  }, 900_000);
});
