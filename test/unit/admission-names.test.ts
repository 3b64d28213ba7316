// activities/control.ts and activities/sweep.ts name workflow messages without importing workflows/
// (layering); this keeps those names and the definitions in step.
import { expect, it } from 'vitest';
import { ADMIT_UPDATE, RELEASE_SIGNAL } from '../../activities/control.ts';
import { admissionStateQuery, admitUpdate, releaseSignal } from '../../workflows/admission-definitions.ts';
import { ADMISSION_STATE_QUERY, EXPERIMENT_WORKFLOW_TYPE, JOURNAL_QUERY } from '../../activities/sweep.ts';
import { journalQuery, WORKFLOW_TYPE } from '../../workflows/definitions.ts';

it('the admit update and release signal have the names the activities use', () => {
  expect(admitUpdate.name).toBe(ADMIT_UPDATE);
  expect(releaseSignal.name).toBe(RELEASE_SIGNAL);
  expect(admissionStateQuery.name).toBe(ADMISSION_STATE_QUERY);
});

it('the experiment workflow type and journal query have the names the sweep activities use', () => {
  expect(WORKFLOW_TYPE).toBe(EXPERIMENT_WORKFLOW_TYPE);
  expect(journalQuery.name).toBe(JOURNAL_QUERY);
});
