// activities/control.ts names the admission workflow's messages without importing workflows/ (layering);
// this keeps those names and the definitions in step.
import { expect, it } from 'vitest';
import { ADMIT_UPDATE, RELEASE_SIGNAL } from '../../activities/control.ts';
import { admitUpdate, releaseSignal } from '../../workflows/admission-definitions.ts';

it('the admit update and release signal have the names the activities use', () => {
  expect(admitUpdate.name).toBe(ADMIT_UPDATE);
  expect(releaseSignal.name).toBe(RELEASE_SIGNAL);
});
