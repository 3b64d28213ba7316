// Results where CI reads them (report/junit.ts): what a JUnit parser (junit2json, the one CI report actions
// build on) reads from a run's and a game day's XML. No verdict but `passed` may read as a pass.
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, type TestSuites } from 'junit2json';
import { gameDayJunit, junitPathProblem, runJunit, writeJunit } from '../../report/junit.ts';
import { VERDICTS, type Journal, type Verdict } from '../../experiments/journal.ts';
import type { GameDayJournal, StepRecord } from '../../experiments/gameday-types.ts';

const journal = (verdict: Verdict | undefined, reason?: string): Journal =>
  ({
    experiment: { title: 'kill one backend', hypothesis: { statement: 'the front keeps answering' } },
    file: 'experiments/examples/kill-one-backend.yaml',
    workflowId: 'exp-1',
    runId: 'run-1',
    startedAt: '2026-12-07T10:00:00.000Z',
    finishedAt: '2026-12-07T10:00:42.500Z',
    phase: 'done',
    faults: [
      {
        index: 0,
        faultIndex: 0,
        kind: 'container.kill',
        summary: 'container.kill on backend-2',
        status: 'reverted',
        revertedAt: '2026-12-07T10:00:31.000Z',
        revertedBy: 'workflow',
        errors: [],
        revertAttempts: 1,
      },
    ],
    steadyStateBefore: [],
    guardSamples: { count: 80, failed: 3 },
    steadyStateAfter: [],
    ...(verdict ? { verdict } : {}),
    ...(reason ? { reason } : {}),
  }) as unknown as Journal;

const read = async (xml: string) => (await parse(xml)) as TestSuites;

describe('JUnit XML of a run', () => {
  it('a refuted run reads as one failed test, named after its hypothesis, with the reason', async () => {
    const r = await read(runJunit(journal('refuted', 'p95 412 ms > 250 ms')));
    expect([r.tests, r.failures, r.errors]).toEqual([1, 1, 0]);
    const tc = r.testsuite?.[0]?.testcase?.[0];
    expect(tc?.name).toBe('the front keeps answering');
    expect(tc?.time).toBe(42.5);
    expect(tc?.failure?.[0]).toMatchObject({ message: 'refuted: p95 412 ms > 250 ms', type: 'refuted' });
    expect(tc?.['system-out']?.[0]).toContain(
      'container.kill on backend-2: reverted 2026-12-07T10:00:31.000Z by workflow',
    );
    expect(r.testsuite?.[0]?.properties).toContainEqual({ name: 'faultline.workflowId', value: 'exp-1' });
  });

  it('every verdict but passed fails the pipeline: a failure when the hypothesis did not hold, an error when nobody can say', async () => {
    for (const v of [...VERDICTS, undefined]) {
      const r = await read(runJunit(journal(v, 'why')));
      const want = v === 'passed' ? [0, 0] : v === 'refuted' || v === 'aborted' ? [1, 0] : [0, 1];
      expect([r.failures, r.errors], String(v)).toEqual(want);
      expect(r.tests).toBe(1);
    }
  });

  it('text from the run (a reason with markup, quotes, a CDATA end) survives the XML', async () => {
    const reason = `a <b>"bold"</b> & 'odd' reason ]]> with a CDATA end`;
    const r = await read(runJunit(journal('aborted', reason)));
    expect(r.testsuite?.[0]?.testcase?.[0]?.failure?.[0]?.message).toBe(`aborted: ${reason}`);
  });
});

describe('JUnit XML of a game day', () => {
  const step = (
    name: string,
    kind: StepRecord['kind'],
    status: StepRecord['status'],
    verdict?: Verdict,
  ): StepRecord => ({
    name,
    kind,
    status,
    children: kind === 'experiments' ? [{ workflowId: `${name}-1`, title: name, verdict: verdict ?? 'passed' }] : [],
    ...(verdict ? { verdict } : {}),
    startedAt: '2026-12-07T10:00:00.000Z',
    finishedAt: '2026-12-07T10:01:00.000Z',
  });
  const gameDay = (steps: StepRecord[], verdict: Verdict): GameDayJournal => ({
    title: 'payments game day',
    workflowId: 'gd-1',
    owner: 'alice',
    approvers: ['bob'],
    observers: [],
    startedAt: '2026-12-07T10:00:00.000Z',
    finishedAt: '2026-12-07T10:05:00.000Z',
    steps,
    events: [],
    verdict,
  });

  it('one test case per step with its own verdict: a refuted step fails, a gate passes, a note is skipped, a step never reached is an error', async () => {
    const r = await read(
      gameDayJunit(
        gameDay(
          [
            step('warm-up', 'note', 'done'),
            step('go-no-go', 'gate', 'passed', 'passed'),
            step('latency', 'experiments', 'failed', 'refuted'),
            step('pause', 'experiments', 'pending'),
          ],
          'refuted',
        ),
      ),
    );
    expect([r.tests, r.failures, r.errors]).toEqual([4, 1, 1]);
    const cases = r.testsuite?.[0]?.testcase ?? [];
    expect(cases.map((c) => c.name)).toEqual([
      'warm-up (note)',
      'go-no-go (gate)',
      'latency (experiments)',
      'pause (experiments)',
    ]);
    expect(cases[0]?.skipped).toBeDefined();
    expect(cases[1]?.failure ?? cases[1]?.error).toBeUndefined();
    expect(cases[2]?.failure?.[0]?.type).toBe('refuted');
    expect(cases[3]?.error?.[0]?.message).toMatch(/pending: the step has no verdict \(the game day ended refuted\)/);
  });
});

describe('where the XML goes', () => {
  it('writes into a folder it makes; refuses a folder and an unwritable place before anything runs', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-junit-'));
    const file = path.join(dir, 'deep', 'er', 'result.xml');
    expect(junitPathProblem(file)).toBeUndefined();
    expect(writeJunit(runJunit(journal('passed')), file)).toBe(file);
    expect(readFileSync(file, 'utf8')).toContain('<testsuites name="faultline" tests="1" failures="0" errors="0"');
    mkdirSync(path.join(dir, 'a-folder'));
    expect(junitPathProblem(path.join(dir, 'a-folder'))).toMatch(/is a folder/);
    expect(junitPathProblem('/proc/1/nope/result.xml')).toMatch(/not (writable|a folder)/);
  });
});
