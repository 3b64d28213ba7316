// Every kind of file in the language, by its top-level `kind`: experiments (no kind), Policy,
// Schedule, GameDay. Used by `faultline validate`; each command parses the kind it needs itself.
import type { Problem } from '../errors.ts';
import { kindOf, readText } from './document.ts';
import { parseExperimentFile } from './parse.ts';
import { parsePolicy } from './policy.ts';
import { parseSchedule } from './schedule.ts';
import { parseGameDay } from './gameday.ts';

export const KINDS = ['Experiment', 'Policy', 'Schedule', 'GameDay'] as const;

export async function validateAnyFile(file: string): Promise<{ kind: string; problems: Problem[] }> {
  const t = await readText(file);
  if (!t.ok) {
    const r = await parseExperimentFile(file); // the experiment reader's precise file-level messages
    return { kind: 'unknown', problems: r.ok ? t.problems : r.problems };
  }
  const kind = kindOf(t.text) ?? 'Experiment';
  switch (kind) {
    case 'Policy': {
      const r = await parsePolicy(t.text, file);
      return { kind, problems: r.ok ? [] : r.problems };
    }
    case 'Schedule': {
      const r = await parseSchedule(t.text, file);
      return { kind, problems: r.ok ? [] : r.problems };
    }
    case 'GameDay': {
      const r = await parseGameDay(t.text, file);
      return { kind, problems: r.ok ? [] : r.problems };
    }
    case 'Experiment': {
      const r = await parseExperimentFile(file); // its own bounded, hardened reader
      return { kind, problems: r.ok ? [] : r.problems };
    }
    default:
      return {
        kind,
        problems: [
          { file, line: 1, column: 1, path: 'kind', message: `unknown kind "${kind}"; one of: ${KINDS.join(', ')}` },
        ],
      };
  }
}
