// Faultline's search attributes: defined once, used by the workflow, the client and server setup.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const EXPERIMENT_KEY = defineSearchAttributeKey('FaultlineExperiment', SearchAttributeType.KEYWORD);
export const VERDICT_KEY = defineSearchAttributeKey('FaultlineVerdict', SearchAttributeType.KEYWORD);
export const PHASE_KEY = defineSearchAttributeKey('FaultlinePhase', SearchAttributeType.KEYWORD);
/** 'true' while a revert keeps failing (after a few attempts); 'false' once it succeeded. */
export const STUCK_KEY = defineSearchAttributeKey('FaultlineStuck', SearchAttributeType.KEYWORD);
export const FAULT_KINDS_KEY = defineSearchAttributeKey('FaultlineFaultKinds', SearchAttributeType.KEYWORD_LIST);
/** The game day a run belongs to (its workflow ID), on the game day itself and on each of its children. */
export const GAME_DAY_KEY = defineSearchAttributeKey('FaultlineGameDay', SearchAttributeType.KEYWORD);

/** name -> type for `temporal server start-dev --search-attribute` and the operator API. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList'> = {
  FaultlineExperiment: 'Keyword',
  FaultlineVerdict: 'Keyword',
  FaultlinePhase: 'Keyword',
  FaultlineStuck: 'Keyword',
  FaultlineFaultKinds: 'KeywordList',
  FaultlineGameDay: 'Keyword',
};
