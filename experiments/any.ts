// Every kind of file in the language, by its top-level `kind`: experiments (no kind), Policy,
// Schedule, GameDay; and the SLO files experiments name (OpenSLO, Sloth). Used by `faultline validate`; each command parses the kind it needs itself.
import type { Problem } from '../errors.ts';
import { parseTree, readDocumentFile } from './document.ts';
import { parseExperiment } from './parse.ts';
import { parsePolicy } from './policy.ts';
import { parseSchedule } from './schedule.ts';
import { parseGameDay } from './gameday.ts';
import { parseSloText } from './slo.ts';

export const KINDS = ['Experiment', 'Policy', 'Schedule', 'GameDay'] as const;

export async function validateAnyFile(file: string): Promise<{ kind: string; problems: Problem[] }> {
  const t = await readDocumentFile(file);
  if (!t.ok) return { kind: 'unknown', problems: t.problems };
  // SLO files (an experiment's judged metrics may name them): OpenSLO, possibly several documents, or Sloth.
  if (/^(apiVersion:\s*["']?(openslo|sloth\.slok\.dev)\/|version:\s*["']?prometheus\/v1)/m.test(t.value)) {
    const r = parseSloText(t.value, file);
    return { kind: 'SLO', problems: r.ok ? [] : r.problems };
  }
  // The kind is read through the same guarded pipeline; a file that cannot be read as a tree has problems
  // that do not depend on its kind (syntax, aliases, depth), reported as they are.
  const tree = parseTree(t.value, file);
  if (!tree.ok) return { kind: 'unknown', problems: tree.problems };
  const data = tree.value.data;
  const declared =
    data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>).kind : undefined;
  const kind = typeof declared === 'string' ? declared : 'Experiment';
  switch (kind) {
    case 'Policy': {
      const r = await parsePolicy(t.value, file);
      return { kind, problems: r.ok ? [] : r.problems };
    }
    case 'Schedule': {
      const r = await parseSchedule(t.value, file);
      return { kind, problems: r.ok ? [] : r.problems };
    }
    case 'GameDay': {
      const r = await parseGameDay(t.value, file);
      return { kind, problems: r.ok ? [] : r.problems };
    }
    case 'Experiment': {
      const r = parseExperiment(t.value, file);
      return { kind, problems: r.ok ? [] : r.problems };
    }
    default:
      return {
        kind,
        problems: tree.value.place([
          { path: ['kind'], message: `unknown kind "${kind}"; one of: ${KINDS.join(', ')}` },
        ]),
      };
  }
}
