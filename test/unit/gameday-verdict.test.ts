// The game day's verdict as a pure function over its steps (workflows/gameday-verdict.ts), with a table:
// a failed step makes it `refuted` (or `aborted`) whatever its failure policy let it go on to do, the
// reason names every failed step, and the summary starts with the verdict and counts what the verdict
// counts. Also every combination of step outcomes over three steps: passed only when none failed.
import { describe, expect, it } from 'vitest';
import type { GameDayEvent, StepRecord, StepStatus } from '../../experiments/gameday-types.ts';
import type { Verdict } from '../../experiments/journal.ts';
import { decideGameDay, stepVerdict } from '../../workflows/gameday-verdict.ts';

const exp = (name: string, status: StepStatus, children: Verdict[] = [], extra: Partial<StepRecord> = {}) =>
  ({
    name,
    kind: 'experiments',
    status,
    children: children.map((v, i) => ({ workflowId: `gd-${name}-${i}`, title: `${name}-${i}`, verdict: v })),
    ...extra,
  }) as StepRecord;
const gate = (name: string, status: StepStatus): StepRecord => ({ name, kind: 'gate', status, children: [] });
const note = (name: string): StepRecord => ({ name, kind: 'note', status: 'done', children: [] });
const approvals = (n: number): GameDayEvent[] =>
  Array.from({ length: n }, () => ({ at: '2026-01-01T00:00:00Z', who: 'bob', what: 'approve' as const }));

// The shipped example's shape (experiments/examples/gameday.yaml): warm-up, go-no-go, a parallel step under
// `ask`, a note.
const failedPar = (onFailure: StepRecord['onFailure']) =>
  exp('latency-and-pause', 'failed', ['aborted', 'aborted'], {
    reason: 'latency-and-pause-0: aborted, latency-and-pause-1: aborted',
    onFailure,
  });

const table: {
  name: string;
  steps: StepRecord[];
  abort?: { who: string; reason: string };
  verdict: Verdict;
  reason: RegExp;
  summary: string;
}[] = [
  {
    name: 'every step passed',
    steps: [exp('warm-up', 'passed', ['passed']), gate('go-no-go', 'passed'), note('step-4')],
    verdict: 'passed',
    reason: /^every step passed$/,
    summary: 't: passed · 2 passed, 0 failed, 0 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'the shipped example: both children aborted, `ask` approved by bob, the game day went on',
    steps: [
      exp('warm-up', 'passed', ['passed']),
      gate('go-no-go', 'passed'),
      failedPar({ policy: 'ask', wentOn: true, by: 'bob' }),
      note('step-4'),
    ],
    verdict: 'refuted',
    reason:
      /^step latency-and-pause failed \(latency-and-pause-0: aborted, latency-and-pause-1: aborted\); on failure: ask, bob said go on, so the game day went on$/,
    summary: 't: refuted · 2 passed, 1 failed (latency-and-pause), 0 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'onFailure continue: a refuted step and a passed one after it',
    steps: [
      exp('breaks', 'failed', ['refuted'], {
        reason: 'breaks-0: refuted',
        onFailure: { policy: 'continue', wentOn: true },
      }),
      exp('after', 'passed', ['passed']),
    ],
    verdict: 'refuted',
    reason: /^step breaks failed \(breaks-0: refuted\); on failure: continue, so the game day went on$/,
    summary: 't: refuted · 1 passed, 1 failed (breaks), 0 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'onFailure stop: the rest skipped',
    steps: [
      exp('breaks', 'failed', ['passed', 'refuted'], {
        reason: 'breaks-1: refuted',
        onFailure: { policy: 'stop', wentOn: false },
      }),
      gate('never', 'skipped'),
    ],
    verdict: 'refuted',
    reason: /^step breaks failed \(breaks-1: refuted\); on failure: stop, so the game day stopped$/,
    summary: 't: refuted · 0 passed, 1 failed (breaks), 1 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'ask answered by a skip: stopped',
    steps: [
      exp('breaks', 'failed', ['refuted'], { onFailure: { policy: 'ask', wentOn: false } }),
      gate('g', 'skipped'),
    ],
    verdict: 'refuted',
    reason: /^step breaks failed \(breaks-0: refuted\); on failure: ask, no go-ahead, so the game day stopped$/,
    summary: 't: refuted · 0 passed, 1 failed (breaks), 1 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'a deadline passed under continue, and two failed steps both named',
    steps: [
      exp('slow', 'failed', ['aborted'], {
        reason: 'deadline 5m passed; its experiments were aborted and reverted',
        onFailure: { policy: 'continue', wentOn: true },
      }),
      exp('breaks', 'failed', ['failed'], { onFailure: { policy: 'continue', wentOn: true } }),
      exp('ok', 'passed', ['passed']),
    ],
    verdict: 'refuted',
    reason:
      /^step slow failed \(deadline 5m passed; .*\); on failure: continue, .*; step breaks failed \(breaks-0: failed\); on failure: continue/,
    summary: 't: refuted · 1 passed, 2 failed (slow, breaks), 0 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'aborted by an operator after a failed step went on: aborted, naming the failed step',
    steps: [
      exp('breaks', 'failed', ['refuted'], { onFailure: { policy: 'continue', wentOn: true } }),
      exp('long', 'aborted', ['aborted'], { reason: 'aborted by alice: incident' }),
      note('after'),
    ],
    abort: { who: 'alice', reason: 'incident' },
    verdict: 'aborted',
    reason: /^aborted by alice: incident; before that, step breaks failed \(breaks-0: refuted\)/,
    summary: 't: aborted · 0 passed, 1 failed (breaks), 0 skipped, 1 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'aborted at the ask of a failed step',
    steps: [exp('breaks', 'failed', ['refuted'], { onFailure: { policy: 'ask', wentOn: false } }), exp('x', 'skipped')],
    abort: { who: 'alice', reason: 'enough' },
    verdict: 'aborted',
    reason: /^aborted by alice: enough; before that, step breaks failed/,
    summary: 't: aborted · 0 passed, 1 failed (breaks), 1 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'a step recorded passed with a child not passed is refuted all the same',
    steps: [exp('odd', 'passed', ['passed', 'not-started'])],
    verdict: 'refuted',
    reason: /^step odd failed \(odd-0: passed, odd-1: not-started\)$/,
    summary: 't: refuted · 0 passed, 1 failed (odd), 0 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'a skipped step is no failure',
    steps: [exp('a', 'passed', ['passed']), exp('b', 'skipped', ['aborted']), gate('g', 'skipped')],
    verdict: 'passed',
    reason: /^every step that ran passed; skipped: b, g$/,
    summary: 't: passed · 1 passed, 0 failed, 2 skipped, 0 aborted · 1 approvals, 0 notes',
  },
  {
    name: 'no experiment ran: not a pass',
    steps: [gate('g', 'passed'), exp('a', 'skipped'), exp('b', 'skipped')],
    verdict: 'not-started',
    reason: /^no experiment ran; skipped: a, b$/,
    summary: 't: not-started · 1 passed, 0 failed, 2 skipped, 0 aborted · 1 approvals, 0 notes',
  },
];

describe('the game-day verdict', () => {
  it.each(table)('$name: $verdict', (row) => {
    const out = decideGameDay({ title: 't', steps: row.steps, events: approvals(1), abort: row.abort });
    expect(out.verdict).toBe(row.verdict);
    expect(out.reason).toMatch(row.reason);
    expect(out.summary).toBe(row.summary);
  });

  it('every combination of three step outcomes: passed only when no step failed or aborted', () => {
    const outcomes: [StepStatus, Verdict[]][] = [
      ['passed', ['passed']],
      ['failed', ['refuted']],
      ['failed', ['aborted', 'passed']],
      ['failed', ['not-started']],
      ['skipped', []],
      ['aborted', ['aborted']],
    ];
    const policies = [undefined, { policy: 'continue', wentOn: true }, { policy: 'ask', wentOn: true, by: 'bob' }];
    let n = 0;
    for (const a of outcomes)
      for (const b of outcomes)
        for (const c of outcomes)
          for (const p of policies) {
            const steps = [a, b, c].map(([status, kids], i) =>
              exp(`s${i}`, status, kids, status === 'failed' && p ? { onFailure: p as StepRecord['onFailure'] } : {}),
            );
            const aborted = steps.some((s) => s.status === 'aborted');
            const abort = aborted ? { who: 'alice', reason: 'why' } : undefined;
            const out = decideGameDay({ title: 't', steps, events: [], abort });
            const failed = steps.filter((s) => s.status === 'failed');
            const want: Verdict = aborted
              ? 'aborted'
              : failed.length
                ? 'refuted'
                : steps.some((s) => s.status === 'passed')
                  ? 'passed'
                  : 'not-started';
            expect(out.verdict, JSON.stringify(steps.map((s) => s.status))).toBe(want);
            for (const f of failed) expect(out.reason).toContain(`step ${f.name} failed`);
            expect(out.summary.startsWith(`t: ${want} · `)).toBe(true);
            expect(out.summary).toContain(`${failed.length} failed`);
            if (want !== 'passed') expect(out.summary).not.toMatch(/passed ·|every step passed/);
            n++;
          }
    expect(n).toBe(6 ** 3 * 3);
  });

  it("a step's own verdict", () => {
    expect(stepVerdict(exp('a', 'passed', ['passed', 'passed']))).toBe('passed');
    expect(stepVerdict(exp('a', 'failed', ['passed', 'refuted']))).toBe('refuted');
    expect(stepVerdict(exp('a', 'aborted', ['aborted']))).toBe('aborted');
    expect(stepVerdict(exp('a', 'skipped', ['aborted']))).toBeUndefined();
    expect(stepVerdict(exp('a', 'running', []))).toBeUndefined();
    expect(stepVerdict(gate('g', 'passed'))).toBe('passed');
    expect(stepVerdict(gate('g', 'waiting'))).toBeUndefined();
    expect(stepVerdict(note('n'))).toBeUndefined();
  });
});
