// The guard activity (activities/guard.ts) against a real HTTP service and the in-memory ports, outside
// Temporal (its context is a plain object: attempt, heartbeat details, heartbeat, cancellation): a guard
// that was gone, or stalled, for longer than guard.maxGap while its fault is active concludes on the gap at
// once, reverts the fault before its window's end and reports the gap durably first.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshProgress, runGuard, type ObserveInput, type RunLink } from '../../activities/guard.ts';
import { coveragePlan, sampled, startCoverage, type CoverageWindow } from '../../experiments/coverage.ts';
import type { GuardProgress, GuardViolation } from '../../experiments/journal.ts';
import type { Guard } from '../../experiments/schema.ts';
import { faultKind } from '../../faults/registry.ts';
import type { AnyFaultKind } from '../../faults/types.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { httpGuard } from './support/http-guard.ts';

let server: http.Server;
let url = '';
beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const guard = (interval: string): Guard => httpGuard(url, { interval, failuresToAbort: 2, minCoverage: 0.95 });

function context(attempt: number, details?: GuardProgress) {
  const beats: GuardProgress[] = [];
  const ctx = {
    info: { attempt, heartbeatDetails: details },
    heartbeat: (d: GuardProgress) => beats.push(structuredClone(d)),
    cancellationSignal: new AbortController().signal,
  } as unknown as Context;
  return { ctx, beats };
}

function link() {
  const reported: GuardViolation[] = [];
  const l: RunLink = {
    reportViolation: async (v) => void reported.push(v),
    guardRecord: async () => ({}),
  };
  return { l, reported };
}

/** A paused in-memory container, held by the guard until `endsAt`. */
async function pausedContainer(world: MemoryWorld, name: string, endsAt: number) {
  const id = world.addContainer(name);
  const ports = world.ports('w');
  const kind = faultKind('container.pause') as AnyFaultKind;
  const spec = { kind: 'container.pause', duration: '10s' };
  const handle = await kind.prepare(ports, spec, { container: { id, name } });
  await kind.inject(ports, spec, handle);
  expect(world.containers.get(id)?.state).toBe('paused');
  return { id, ports, fault: { index: 0, kind: 'container.pause', handle, endsAt } };
}
const kindOf = (n: string) => faultKind(n) as AnyFaultKind;
const unpausedAt = (world: MemoryWorld, id: string) =>
  world.calls.find((c) => c.op === 'unpause' && c.key === `container:${id}` && c.effect === 'revert')?.t;

describe('the guard activity and its coverage', () => {
  it('a retried guard whose last sample was 3 s ago, its fault active for 4 s more: reverts at once and reports the blind gap', async () => {
    const world = new MemoryWorld();
    const now = Date.now();
    const windows: CoverageWindow[] = [{ fault: 0, from: now - 5_000, to: now + 4_000 }];
    const g = guard('500ms');
    const plan = coveragePlan(g, windows);
    // The first attempt's last heartbeat: samples on schedule until 3 s ago, then its worker died.
    const cov = startCoverage(plan);
    for (let t = now - 5_000; t <= now - 3_000; t += 500) sampled(plan, cov, t);
    const details: GuardProgress = { ...freshProgress(), samples: 5, coverage: cov };
    const { id, ports, fault } = await pausedContainer(world, 'c1', now + 4_000);
    const { ctx } = context(2, details);
    const { l, reported } = link();
    const input: ObserveInput = { guard: g, faults: [fault], windows, renewEveryMs: 3_000 };

    const r = await runGuard(ports, kindOf, l, input, ctx);

    expect(r.violated).toBe(true);
    expect(r.violation?.blind).toMatchObject({ from: new Date(now - 3_000).toISOString(), maxGapMs: 1_500 });
    expect(r.violation!.blind!.ms).toBeGreaterThanOrEqual(3_000);
    expect(r.violation!.failing.violations[0]).toMatch(
      /^the guard saw nothing for 3(\.\d)?s \(.* to .*\), longer than guard\.maxGap 1\.5s$/,
    );
    expect(reported).toEqual([r.violation]); // durable first
    expect(r.samples).toBe(5); // no sample taken: the gap was concluded before one
    expect(world.containers.get(id)?.state).toBe('running');
    expect(unpausedAt(world, id)).toBeLessThan(fault.endsAt); // reverted for the gap, not at its window's end
  });

  it('a guard whose worker stalls (event loop blocked 2 s, maxGap 1 s) concludes on the gap when it runs again and reverts', async () => {
    const world = new MemoryWorld();
    const now = Date.now();
    const windows: CoverageWindow[] = [{ fault: 0, from: now, to: now + 8_000 }];
    const { id, ports, fault } = await pausedContainer(world, 'c2', now + 8_000);
    const { ctx, beats } = context(1);
    const { l, reported } = link();
    const stall = setTimeout(() => {
      for (const end = Date.now() + 2_000; Date.now() < end;); // the whole process stalls
    }, 600);
    const r = await runGuard(
      ports,
      kindOf,
      l,
      { guard: guard('100ms'), faults: [fault], windows, renewEveryMs: 3_000 },
      ctx,
    );
    clearTimeout(stall);

    expect(r.violated).toBe(true);
    expect(r.violation?.blind?.maxGapMs).toBe(1_000);
    expect(r.violation!.blind!.ms).toBeGreaterThan(1_000);
    expect(reported).toHaveLength(1);
    expect(world.containers.get(id)?.state).toBe('running');
    expect(unpausedAt(world, id)).toBeLessThan(fault.endsAt);
    // The heartbeat carries the coverage a retried guard would resume from.
    expect(beats.at(-1)?.coverage?.taken).toBeGreaterThan(0);
    expect(beats.at(-1)?.coverage?.lastSeen).toBeLessThanOrEqual(Date.parse(r.violation!.blind!.from));
  });

  it("a host's holder reverts each fault when it is due, beside a slow revert of an earlier one", async () => {
    const world = new MemoryWorld();
    const now = Date.now();
    const a = await pausedContainer(world, 'a', now + 200);
    const b = await pausedContainer(world, 'b', now + 500);
    // The daemon takes 1.5 s to unpause a: b's window ends meanwhile.
    world.onCall = async (c) => {
      if (c.op === 'unpause' && c.key === `container:${a.id}`) await new Promise((r) => setTimeout(r, 1_500));
    };
    const { ctx } = context(1);
    const { l } = link();
    const faults = [a.fault, { ...b.fault, index: 1 }];
    const r = await runGuard(a.ports, kindOf, l, { faults, renewEveryMs: 3_000 }, ctx);
    expect(Object.keys(r.reverted).sort()).toEqual(['0', '1']);
    expect(world.containers.get(a.id)?.state).toBe('running');
    expect(world.containers.get(b.id)?.state).toBe('running');
    // b was unpaused at its own end, not after a's unpause completed.
    expect(unpausedAt(world, b.id)).toBeLessThan(unpausedAt(world, a.id) as number);
  });
});
