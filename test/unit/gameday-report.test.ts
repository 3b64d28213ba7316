// The game-day report (report/html.ts) and `gameday status` (cli/commands/gameday.ts) show each step's own
// verdict, and the report's badge is the game day's: the shipped example's shape with both children of
// the parallel step aborted and its `ask` approved is `refuted`, never a green `passed`.
import { expect, it } from 'vitest';
import type { GameDayJournal } from '../../experiments/gameday-types.ts';
import { renderGameDayReport } from '../../report/html.ts';
import { renderGameDay } from '../../cli/render.ts';
import { decideGameDay } from '../../workflows/gameday-verdict.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s)).toISOString();

function shippedExample(): GameDayJournal {
  const j: GameDayJournal = {
    title: 'Backend resilience game day',
    workflowId: 'gd-1',
    owner: 'alice',
    approvers: ['bob'],
    observers: ['carol'],
    startedAt: at(0),
    finishedAt: at(60),
    steps: [
      {
        name: 'warm-up',
        kind: 'experiments',
        status: 'passed',
        verdict: 'passed',
        startedAt: at(0),
        finishedAt: at(10),
        children: [{ workflowId: 'gd-1-warm-up', title: 'kill one backend', verdict: 'passed' }],
      },
      {
        name: 'go-no-go',
        kind: 'gate',
        status: 'passed',
        verdict: 'passed',
        startedAt: at(10),
        finishedAt: at(20),
        children: [],
      },
      {
        name: 'latency-and-pause',
        kind: 'experiments',
        status: 'failed',
        verdict: 'refuted',
        startedAt: at(20),
        finishedAt: at(50),
        reason: 'latency: aborted, pause: aborted',
        onFailure: { policy: 'ask', wentOn: true, by: 'bob' },
        children: [
          { workflowId: 'gd-1-latency-and-pause', title: 'latency', verdict: 'aborted' },
          { workflowId: 'gd-1-latency-and-pause-2', title: 'pause', verdict: 'aborted' },
        ],
      },
      { name: 'step-4', kind: 'note', status: 'done', startedAt: at(50), finishedAt: at(50), children: [] },
    ],
    events: [
      { at: at(15), who: 'bob', what: 'approve', step: 'go-no-go' },
      { at: at(45), who: 'bob', what: 'approve', step: 'latency-and-pause' },
    ],
  };
  Object.assign(j, decideGameDay({ title: j.title, steps: j.steps, events: j.events }));
  return j;
}

it("the report's badge is the game day's verdict and each step shows its own", () => {
  const html = renderGameDayReport(shippedExample(), {}, '/* chart.js */');
  expect(html).toContain('<span class="verdict v-refuted">refuted</span> step latency-and-pause failed');
  expect(html).not.toContain('v-passed">passed</span> every step passed');
  const row = html.split('<tr>').find((r) => r.startsWith('<td>latency-and-pause</td>'));
  expect(row).toContain('<span class="verdict v-refuted">refuted</span>');
  expect(row).toContain('on failure: ask, bob said go on, went on');
  const warm = html.split('<tr>').find((r) => r.startsWith('<td>warm-up</td>'));
  expect(warm).toContain('<span class="verdict v-passed">passed</span>');
  expect(html).toContain('refuted · 2 passed, 1 failed (latency-and-pause)');
});

it('gameday status: each step with its own verdict, the policy outcome, and the approve command while one waits', () => {
  const j = shippedExample();
  const text = renderGameDay(j);
  expect(text.split('\n')[0]).toBe(
    'Backend resilience game day (gd-1) · owner alice · refuted: step latency-and-pause failed (latency: aborted, pause: aborted); on failure: ask, bob said go on, so the game day went on',
  );
  expect(text).toContain(
    '  refuted     latency-and-pause: latency: aborted, pause: aborted (on failure: ask, bob said go on; went on)',
  );
  expect(text).toContain('  passed      warm-up');
  expect(text).toContain('  done        step-4');
  const waiting = { ...j, verdict: undefined, reason: undefined, summary: undefined, waitingAt: 'go-no-go' };
  waiting.steps = j.steps.map((s) => (s.name === 'go-no-go' ? { ...s, status: 'waiting', verdict: undefined } : s));
  expect(renderGameDay(waiting)).toContain(
    '  waiting     go-no-go  <- waiting: faultline gameday approve gd-1 --step go-no-go --who NAME',
  );
});
