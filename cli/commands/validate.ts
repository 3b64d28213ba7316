// faultline validate FILE...: exit 0 when every file is valid, 2 with one line per problem. Every file's
// result is reported: a file that cannot be read is one problem among the others, never an exit 3.
import { safe } from '../../experiments/document.ts';
import { validateAnyFile } from '../../experiments/any.ts';
import { formatProblem, type Problem } from '../../errors.ts';
import type { Io } from '../io.ts';

export async function validateCommand(files: string[], opts: { json?: boolean }, io: Io): Promise<number> {
  const problems: Problem[] = [];
  const valid: string[] = [];
  for (const f of files) {
    const r = await validateAnyFile(f); // experiments, policies, schedules and game days
    if (!r.problems.length) valid.push(f);
    else problems.push(...r.problems);
  }
  if (opts.json) io.out(JSON.stringify({ valid, problems }, null, 2));
  else {
    for (const p of problems) io.err(formatProblem(p));
    for (const f of valid) io.out(`${safe(f)}: valid`);
  }
  return problems.length ? 2 : 0;
}
