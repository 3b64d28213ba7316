// A guard retried on a live worker after its worker died (issue 16 item 4): it resumes from its earlier
// attempt's heartbeat and asks its run for a conclusion that heartbeat may not carry. The run's worker answers
// that query, and when the worker that died was the run's worker too, the answer takes seconds (the sticky
// queue's schedule-to-start, then a replay on the survivor); the guard must watch meanwhile, not after. The
// guard activity (activities/guard.ts) against a real HTTP service and the in-memory ports, outside Temporal.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blindViolation, freshProgress, runGuard, type GuardRecord, type RunLink } from '../../activities/guard.ts';
import { coveragePlan, sampled, startCoverage, type CoverageWindow } from '../../experiments/coverage.ts';
import type { GuardProgress, GuardViolation } from '../../experiments/journal.ts';
import { faultKind } from '../../faults/registry.ts';
import type { AnyFaultKind } from '../../faults/types.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { httpGuard } from './support/http-guard.ts';

/** What happened, in order: each guard request the service answered, and the run's answer to the guard. */
let events: string[] = [];
let server: http.Server;
let url = '';
beforeAll(async () => {
  server = http.createServer((_req, res) => {
    events.push('sample');
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const kindOf = (n: string) => faultKind(n) as AnyFaultKind;

/** A retried attempt's context: its earlier attempt's heartbeat, a heartbeat sink, no cancellation. */
function context(details: GuardProgress) {
  return {
    info: { attempt: 2, heartbeatDetails: details },
    heartbeat: () => undefined,
    cancellationSignal: new AbortController().signal,
  } as unknown as Context;
}

/** The run's record, answered once the guard has sampled (or after 3 s: a guard that waits for it never does). */
function slowRecord(answer: GuardRecord) {
  const reported: GuardViolation[] = [];
  const link: RunLink = {
    reportViolation: async (v) => void reported.push(v),
    guardRecord: async () => {
      for (const end = Date.now() + 3_000; !events.includes('sample') && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 10));
      events.push('record');
      return answer;
    },
  };
  return { link, reported };
}

/** A paused in-memory container held by the guard until endsAt; the earlier attempt saw the system 200 ms ago. */
async function resumed(name: string, windowMs: number) {
  const world = new MemoryWorld();
  const now = Date.now();
  const windows: CoverageWindow[] = [{ fault: 0, from: now - 2_000, to: now + windowMs }];
  const guard = httpGuard(url, { interval: '250ms' });
  const plan = coveragePlan(guard, windows);
  const cov = startCoverage(plan);
  for (let t = now - 2_000; t <= now - 200; t += 250) sampled(plan, cov, t);
  const id = world.addContainer(name);
  const ports = world.ports('survivor');
  const kind = kindOf('container.pause');
  const spec = { kind: 'container.pause', duration: '10s' };
  const handle = await kind.prepare(ports, spec, { container: { id, name } });
  await kind.inject(ports, spec, handle);
  const fault = { index: 0, kind: 'container.pause', handle, endsAt: now + windowMs };
  const details: GuardProgress = { ...freshProgress(), samples: 8, coverage: cov };
  return { world, id, ports, fault, windows, guard, details };
}

describe('a guard retried after its worker died', () => {
  it('samples at once, before its run has answered whether its window was concluded', async () => {
    events = [];
    const r0 = await resumed('c1', 1_500);
    const { link, reported } = slowRecord({});
    const r = await runGuard(
      r0.ports,
      kindOf,
      link,
      { guard: r0.guard, faults: [r0.fault], windows: r0.windows, renewEveryMs: 3_000, atOnce: true },
      context(r0.details),
    );
    expect(events.slice(0, 2)).toEqual(['sample', 'record']);
    expect(r.violated).toBe(false);
    expect(reported).toEqual([]);
    // Its longest gap is the earlier attempt's last look to the first sample here, within maxGap (1 s).
    expect(r.coverage!.longestGap!.ms).toBeLessThanOrEqual(1_000);
    expect(r0.world.containers.get(r0.id)?.state).toBe('running'); // reverted at its window's end
  });

  it('stops sampling and reverts at once when its run says an earlier attempt concluded', async () => {
    events = [];
    const r0 = await resumed('c2', 5_000);
    const now = Date.now();
    const earlier = blindViolation({ ms: 1_200, from: now - 1_400, to: now - 200 }, 1_000);
    const { link, reported } = slowRecord({ violation: earlier });
    const r = await runGuard(
      r0.ports,
      kindOf,
      link,
      { guard: r0.guard, faults: [r0.fault], windows: r0.windows, renewEveryMs: 3_000, atOnce: true },
      context(r0.details),
    );
    expect(r.violation).toEqual(earlier);
    expect(reported).toEqual([]); // on record already: not reported again
    // No sample after the answer (one in flight may finish), and the fault reverted before its window's end.
    expect(events.slice(events.indexOf('record') + 1).length).toBeLessThanOrEqual(1);
    expect(r0.world.containers.get(r0.id)?.state).toBe('running');
    const unpause = r0.world.calls.find((c) => c.op === 'unpause' && c.effect === 'revert');
    expect(unpause?.t).toBeLessThan(r0.fault.endsAt);
  });
});
