// The game day's compiled input and its journal: plain records (workflow-safe, no imports at run time).
import type { Experiment } from './schema.ts';
import type { Verdict } from './journal.ts';
import type { NotifyRecord, Receiver } from './notify.ts';

export type OnFailure = 'stop' | 'continue' | 'ask';

export type GameDayStep =
  | { name: string; kind: 'gate'; text: string }
  | { name: string; kind: 'note'; text: string }
  | {
      name: string;
      kind: 'experiments';
      experiments: { experiment: Experiment; file: string }[];
      deadline?: string;
      onFailure: OnFailure;
    };

export interface GameDayInput {
  title: string;
  description?: string;
  file?: string;
  owner: string;
  approvers: string[];
  observers: string[];
  steps: GameDayStep[];
  searchAttributes: boolean;
  /** Webhooks for the game day's events and its children's (experiments/notify.ts). */
  notify?: Receiver[];
}

export type StepStatus = 'pending' | 'running' | 'waiting' | 'passed' | 'failed' | 'skipped' | 'aborted' | 'done';

export interface StepRecord {
  name: string;
  kind: GameDayStep['kind'];
  status: StepStatus;
  /**
   * The step's own verdict once it ended (workflows/gameday-verdict.ts): an experiment step `passed` when
   * every experiment passed, `refuted` when one did not or its deadline passed, `aborted` when the game
   * day was aborted during it; a gate `passed` once opened. None for notes and skipped steps.
   */
  verdict?: Verdict;
  startedAt?: string;
  finishedAt?: string;
  children: { workflowId: string; title: string; verdict?: Verdict; reason?: string }[];
  /** Why it ended as it did (a refuted child, a deadline, a skip). */
  reason?: string;
  /** A failed experiment step: its policy and what came of it (went on, or stopped the game day). */
  onFailure?: { policy: OnFailure; wentOn: boolean; by?: string };
}

export interface GameDayEvent {
  at: string;
  who: string;
  what: 'approve' | 'note' | 'skip' | 'abort';
  step?: string;
  text?: string;
}

export interface GameDayJournal {
  title: string;
  workflowId: string;
  owner: string;
  approvers: string[];
  observers: string[];
  startedAt: string;
  finishedAt?: string;
  steps: StepRecord[];
  /** Approvals, notes, skips and aborts, with who and when. */
  events: GameDayEvent[];
  /** The step waiting at a gate or for an ask. */
  waitingAt?: string;
  /** passed: every experiment passed; refuted: a step failed; aborted: an operator aborted it. */
  verdict?: Verdict;
  reason?: string;
  summary?: string;
  /** Its notifications: delivered, and those given up on. */
  notify?: NotifyRecord;
}
