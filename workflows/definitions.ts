// Moved to definitions/experiment.ts (issue 17 item 2), which activities may import too. This re-export
// keeps workflows/experiment.ts and its tests compiling while other branches change them; remove it once
// nothing imports this path.
export * from '../definitions/experiment.ts';
