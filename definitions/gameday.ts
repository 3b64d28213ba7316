// The game-day workflow's contract, defined once: its type and every query and update, imported alike by
// the workflow (workflows/gameday.ts), the client (cli/gamedays.ts) and tests.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { GameDayJournal } from '../experiments/gameday-types.ts';

export const GAME_DAY_TYPE = 'runGameDay';

export const gameDayQuery = defineQuery<GameDayJournal>('gameDay');
/**
 * Opens the gate (or answers the `ask` of a failed step) named `step`, only while that step waits; only an
 * approver or the owner. Refused, with what is waiting, when `step` is not waiting. Without `step` (older
 * clients name none) it approves the one step waiting.
 */
export const approveGateUpdate = defineUpdate<GameDayJournal, [{ who: string; step?: string }]>('approveGate');
export const addNoteUpdate = defineUpdate<GameDayJournal, [{ who: string; text: string }]>('addNote');
/** Skips a pending or waiting step, or stops a running one (its experiments abort and revert). */
export const skipStepUpdate = defineUpdate<GameDayJournal, [{ step: string; who: string }]>('skipStep');
/** Returns once every running child experiment has reverted. */
export const abortGameDayUpdate = defineUpdate<GameDayJournal, [{ reason: string; who: string }]>('abortGameDay');
