// Moved to definitions/admission.ts (issue 17 item 2), which activities may import too. This re-export
// keeps workflows/admission*.ts and their tests compiling while other branches change them; remove it once
// nothing imports this path.
export * from '../definitions/admission.ts';
