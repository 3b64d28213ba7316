// Moved to definitions/experiment.ts (issue 17 item 2), which activities may import too. This re-export
// is left for test/unit/admission-wait.test.ts alone, which another branch is changing; remove it once that
// test imports definitions/experiment.ts.
export * from '../definitions/experiment.ts';
