// Guard coverage with the real workflow and activities on the dev server and in-memory ports: workers that
// die (no more polls, calls or heartbeats) during the fault window. A window the guard did not watch is never
// `passed`: the guard reverts for a gap longer than guard.maxGap when it is back while the fault is still
// active (aborted, naming the gap), and a run whose guard was not back before the window ended is
// `inconclusive`, naming the gap after its last sample. The journal records due, taken, on time, the longest
// gap and each window's watched share. A worker whose event loop stalls is blind for as long.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experiment, harness, type Harness } from './support/workflow-harness.ts';
import type { Journal } from '../experiments/journal.ts';
import { summary } from '../cli/render.ts';

let h: Harness;
let seq = 0;
let current = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newWorker(): Promise<void> {
  current = `cov${++seq}`;
  await h.startWorker(current);
}

beforeAll(async () => {
  h = await harness('coverage');
  h.setHealth(() => 'ok'); // the service holds: only the guard's coverage can keep a run from passing
  await newWorker();
});

afterAll(async () => {
  await h?.close();
});

/** Every replica paused, a 500 ms guard that needs two failures in a row (the torture run's shape). */
function pauseAll(name: string, duration: string) {
  h.world.addContainer(`${name}-1`);
  h.world.addContainer(`${name}-2`);
  return experiment(
    `
title: pause every replica (${name})
hypothesis:
  statement: the service answers
  probes: [ { name: ok, type: http, url: "\${URL}", requests: 2, timeout: 300ms } ]
targets: { names: [ ${name}-1, ${name}-2 ], mode: all }
method: [ { kind: container.pause, duration: ${duration} } ]
blastRadius: { maxTargets: 2 }
guard:
  interval: 500ms
  failuresToAbort: 2
  probes: [ { name: g, type: http, url: "\${URL}", requests: 1, timeout: 300ms } ]
afterCheck: { recoveryTimeout: 2s }
`,
    h.url,
  );
}

/** The run's faults once they are injected (their window has begun). */
async function injected(run: Awaited<ReturnType<Harness['start']>>): Promise<Journal> {
  for (let i = 0; i < 1200; i++) {
    const j = await h.journal(run).catch(() => undefined);
    if (j?.phase === 'observing' && j.faults.every((f) => f.injectedAt)) return j;
    await sleep(25);
  }
  throw new Error('the faults were never injected');
}

const paused = (name: string) =>
  [`${name}-1-id`, `${name}-2-id`].map((id) => h.world.containers.get(id)?.state).filter((s) => s === 'paused');

describe('guard coverage', () => {
  it('a fully watched window passes, and the journal and status say how much was watched', async () => {
    const j = await h.result(await h.start(pauseAll('full', '3s')));
    expect(j.verdict, j.reason).toBe('passed');
    const c = j.guardSamples.coverage!;
    console.log(`coverage of a healthy 3 s window: ${JSON.stringify(c)}`);
    expect(c).toMatchObject({ intervalMs: 500, maxGapMs: 1_500, minCoverage: 0.95 });
    expect(c.due).toBeGreaterThanOrEqual(6); // 3 s at 500 ms, and the second inject a little later
    expect(c.taken).toBeGreaterThan(0);
    expect(c.taken).toBeLessThanOrEqual(c.due);
    expect(c.blind).toBeUndefined();
    expect(c.windows.map((w) => w.fault)).toEqual([0, 1]);
    expect(j.reason).toMatch(
      /the guard took \d+ of \d+ samples due and watched at least \d+(\.\d)?% of every fault window$/,
    );
    expect(summary(j)).toMatch(
      /guard coverage: \d+ of \d+ samples due taken, \d+ on time \(±50 ms\); longest gap \d+(\.\d)?m?s \(maxGap 1\.5s\)/,
    );
  });

  it('the worker dies 7 s into a 9 s window and is not back before its end: inconclusive, naming the blind gap to the end', async () => {
    const run = await h.start(pauseAll('late', '9s'));
    const j0 = await injected(run);
    const start = Math.min(...j0.faults.map((f) => Date.parse(f.injectedAt!)));
    const end = Date.parse(j0.windowEndsAt!);
    await sleep(start + 7_000 - Date.now());
    h.kill(current);
    await sleep(end + 1_000 - Date.now());
    expect(paused('late')).toHaveLength(2); // nobody holds or watches the faults now
    await newWorker();
    const j = await h.result(run);
    expect(j.verdict, j.reason).toBe('inconclusive');
    expect(j.reason).toMatch(
      /^observing: the fault window was not watched as scheduled: the guard saw nothing for (\d\.\d|\d) s \(\S+ to \S+\), longer than guard\.maxGap 1\.5 s/,
    );
    const c = j.guardSamples.coverage!;
    expect(c.blind?.to).toBe(j.windowEndsAt); // the span after the last sample, to the window's end, counted
    expect(c.blind!.ms).toBeGreaterThan(1_500);
    expect(Date.parse(c.blind!.from)).toBeLessThanOrEqual(start + 7_000);
    expect(c.due).toBeGreaterThanOrEqual(18);
    expect(c.taken).toBeLessThan(c.due);
    expect(c.share).toBeLessThan(0.95);
    expect(paused('late')).toEqual([]); // reverted all the same
    expect(j.faults.map((f) => f.status)).toEqual(['reverted', 'reverted']);
  });

  it("the guard's worker stalls (its event loop blocked for 5 s) 2 s into a 20 s window: the faults are reverted for the gap, aborted naming it", async () => {
    const run = await h.start(pauseAll('stall', '20s'));
    const j0 = await injected(run);
    const start = Math.min(...j0.faults.map((f) => Date.parse(f.injectedAt!)));
    await sleep(start + 2_000 - Date.now());
    const stalledAt = Date.now();
    for (const end = Date.now() + 5_000; Date.now() < end;); // worker, guard and service in this process
    const j = await h.result(run);
    expect(j.verdict, j.reason).toBe('aborted');
    expect(j.reason).toMatch(
      /^the guard aborted the experiment during observing: the guard was blind: the guard saw nothing for \d+(\.\d)?s \(\S+ to \S+\), longer than guard\.maxGap 1\.5s; every fault was reverted/,
    );
    const c = j.guardSamples.coverage!;
    expect(c.blind!.ms).toBeGreaterThanOrEqual(5_000);
    expect(Date.parse(c.blind!.from)).toBeLessThanOrEqual(stalledAt);
    for (const f of j.faults) expect(Date.parse(f.revertedAt!)).toBeLessThan(Date.parse(j.windowEndsAt!));
    expect(paused('stall')).toEqual([]);
  });

  it('the worker dies 2 s into a 20 s window and a new one takes over: the guard reverts at once for the gap, aborted naming it', async () => {
    const run = await h.start(pauseAll('back', '20s'));
    const j0 = await injected(run);
    const start = Math.min(...j0.faults.map((f) => Date.parse(f.injectedAt!)));
    await sleep(start + 2_000 - Date.now());
    const killedAt = Date.now();
    h.kill(current);
    await newWorker();
    const j = await h.result(run);
    expect(j.verdict, j.reason).toBe('aborted');
    expect(j.abort).toMatchObject({ by: 'guard', phase: 'observing' });
    expect(j.reason).toMatch(
      /^the guard aborted the experiment during observing: the guard was blind: the guard saw nothing for \d+(\.\d)?s \(\S+ to \S+\), longer than guard\.maxGap 1\.5s; every fault was reverted/,
    );
    const c = j.guardSamples.coverage!;
    expect(c.blind!.ms).toBeGreaterThan(1_500);
    expect(Date.parse(c.blind!.from)).toBeLessThanOrEqual(killedAt);
    expect(c.to).toBe(j.abort!.at); // nothing was due after the guard concluded
    // Reverted for the gap, long before the window's end.
    for (const f of j.faults) expect(Date.parse(f.revertedAt!)).toBeLessThan(Date.parse(j.windowEndsAt!));
    expect(paused('back')).toEqual([]);
  });
});
