// The bounds of the CLI's waits (cli/workers.ts), without a server: `within` returns what its calls return,
// or gives up after its bound, cancelling them (the abort signal reaches the Temporal calls) with one line
// saying what goes on, and says it still waits meanwhile; --timeout values are checked like any flag; the
// default bound of `run --wait` covers the longest the run itself can take.
import { describe, expect, it } from 'vitest';
import type { Io } from '../../cli/io.ts';
import { noWorkerMessage, runSpanMs, timeoutOption, WaitTimedOut, within } from '../../cli/workers.ts';

type FaultlineClient = Parameters<typeof within>[0];
import { InvalidInput } from '../../errors.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import { PROBE_ACTIVITY_MS } from '../../faults/limits.ts';

/** A client whose withAbortSignal hands the signal to the calls, as the real one hands it to its RPCs. */
function fakeClient() {
  const signals: AbortSignal[] = [];
  const fc = {
    client: {
      withAbortSignal: <R>(signal: AbortSignal, fn: () => Promise<R>) => (signals.push(signal), fn()),
    },
  } as unknown as FaultlineClient;
  return { fc, signals };
}

function memoryIo() {
  const err: string[] = [];
  const io: Io = { out: () => undefined, err: (t) => void err.push(t), live: () => undefined, isTTY: false };
  return { io, err };
}

describe('within', () => {
  it('returns what the calls return', async () => {
    const { fc, signals } = fakeClient();
    const { io, err } = memoryIo();
    await expect(within(fc, { what: 'x', timeoutMs: 60_000, io }, async () => 42)).resolves.toBe(42);
    expect(signals[0]?.aborted).toBe(false);
    expect(err).toEqual([]);
  });

  it('passes a failure of the calls through', async () => {
    const { fc } = fakeClient();
    await expect(
      within(fc, { what: 'x', timeoutMs: 60_000 }, () => Promise.reject(new Error('refused'))),
    ).rejects.toThrow('refused');
  });

  it('gives up after its bound: cancels the calls, says what goes on, and said meanwhile that it waits', async () => {
    const { fc, signals } = fakeClient();
    const { io, err } = memoryIo();
    const never = () =>
      new Promise<never>((_, reject) => {
        // Like a gRPC call: it ends only when its signal aborts it.
        setTimeout(() => signals[0]?.addEventListener('abort', () => reject(new Error('cancelled'))));
      });
    const e = await within(
      fc,
      { what: 'policy apply', timeoutMs: 300, progressMs: 50, io, after: 'check with faultline policy show' },
      never,
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WaitTimedOut);
    expect((e as WaitTimedOut).exitCode).toBe(3);
    expect((e as Error).message).toBe('policy apply: no answer within 300ms; check with faultline policy show');
    expect(signals[0]?.aborted).toBe(true);
    expect(err.length).toBeGreaterThan(0);
    for (const line of err) expect(line).toMatch(/^still waiting for policy apply \(\d+ms of at most 300ms\)$/);
  });
});

describe('--timeout', () => {
  it('a duration, or the default when absent; anything else exits 2 naming the flag', () => {
    expect(timeoutOption(undefined, 30_000)).toBe(30_000);
    expect(timeoutOption('90s', 30_000)).toBe(90_000);
    expect(timeoutOption('1h', 30_000)).toBe(3_600_000);
    for (const bad of ['soon', '10', '-1s', '0s', '']) expect(() => timeoutOption(bad, 30_000)).toThrow(InvalidInput);
    expect(() => timeoutOption('soon', 1)).toThrow('--timeout: "soon" is not a duration (e.g. 30s, 5m, 1h)');
  });
});

it('the message names the task queue and how to start a worker there', () => {
  expect(noWorkerMessage('faultline', 'policy apply')).toBe(
    'no worker polls task queue faultline: policy apply needs one; start one with `faultline worker` (or `faultline dev`)',
  );
  expect(noWorkerMessage('q1', 'lever pull')).toBe(
    'no worker polls task queue q1: lever pull needs one; start one with `faultline worker --task-queue q1`',
  );
});

it("run --wait's default bound covers the admission wait, baseline, longest fault and recovery, plus 10 minutes", () => {
  const r = parseExperiment(
    `
title: span
hypothesis: { statement: s, probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ] }
targets: { names: [ a ], mode: one }
method:
  - { kind: container.pause, duration: 90s }
  - { kind: container.pause, duration: 2m }
admission: { wait: 5m }
afterCheck: { recoveryTimeout: 45s }
blastRadius: { maxTargets: 2 }
`,
    'span.yaml',
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  expect(runSpanMs(r.experiment)).toBe(5 * 60_000 + 2 * PROBE_ACTIVITY_MS + 2 * 60_000 + 45_000 + 10 * 60_000);
});
