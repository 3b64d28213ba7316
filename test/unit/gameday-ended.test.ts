// An approval that reaches a game day after it ended is refused in the words a running game day uses
// (workflows/gameday-state.ts, endedApprovalProblem; the CLI's `gameday approve --step` says it), not
// "no game day with ID": the late approval of test/gameday.test.ts reads the same whichever came first.
import { expect, it } from 'vitest';
import type { GameDayJournal } from '../../experiments/gameday-types.ts';
import { endedApprovalProblem } from '../../workflows/gameday-state.ts';

const journal: GameDayJournal = {
  title: 'gate and stop',
  workflowId: 'gd',
  owner: 'alice',
  approvers: ['bob'],
  observers: [],
  startedAt: '2026-12-07T22:00:00.000Z',
  verdict: 'refuted',
  steps: [
    { name: 'warm-up', kind: 'experiments', status: 'passed', children: [] },
    { name: 'go-no-go', kind: 'gate', status: 'passed', children: [] },
    { name: 'breaks', kind: 'experiments', status: 'failed', children: [] },
    { name: 'never', kind: 'experiments', status: 'skipped', children: [] },
  ],
  events: [
    { at: '2026-12-07T22:01:00.000Z', who: 'carol', what: 'note', step: 'go-no-go', text: 'fine' },
    { at: '2026-12-07T22:01:01.000Z', who: 'bob', what: 'approve', step: 'go-no-go' },
  ],
};

it('a late approval of an opened gate names its status and who approved it, and that the game day ended', () => {
  expect(endedApprovalProblem(journal, 'go-no-go')).toBe(
    'step go-no-go is not waiting for an approval (it is passed, approved by bob); the game day has ended (refuted); nothing waits',
  );
});

it('a step nobody approved, and a step that does not exist', () => {
  expect(endedApprovalProblem(journal, 'never')).toBe(
    'step never is not waiting for an approval (it is skipped); the game day has ended (refuted); nothing waits',
  );
  expect(endedApprovalProblem(journal, 'nope')).toBe(
    'no step named nope (steps: warm-up, go-no-go, breaks, never); the game day has ended (refuted); nothing waits',
  );
});
