// Moved to definitions/gameday.ts (issue 17 item 2). This re-export keeps the game day's tests unchanged
// through the refactor that moved it; remove it once they import definitions/gameday.ts.
export * from '../definitions/gameday.ts';
