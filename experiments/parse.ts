// The experiment kind of the parsing pipeline (document.ts): YAML or JSON text -> a valid Experiment, or
// every problem with its file, line, column and field path. Cross-field checks are the named rules of
// rules.ts; what is particular to experiments here is the wording for the fault-kind and probe-type unions.
import { experimentSchema, probeSchema, type Experiment } from './schema.ts';
import { faultKinds, faultKind } from '../faults/registry.ts';
import type { Problem } from '../errors.ts';
import { rules } from './rules.ts';
import { resolveSloRefs } from './slo.ts';
import {
  loadReferenced,
  parseDocumentText,
  readDocumentFile,
  show,
  valueAt,
  type DocumentKind,
  type Path,
} from './document.ts';

// The pipeline's bounds and helpers, where callers have always found them.
export {
  MAX_DEPTH,
  MAX_FILE_BYTES,
  MAX_LINES,
  MAX_PROBLEMS,
  MAX_VALUES,
  openError,
  safe,
  tooDeepAt,
} from './document.ts';

export type ParseResult = { ok: true; experiment: Experiment } | { ok: false; problems: Problem[] };

const PROBE_TYPES = probeSchema.options.map((o) => o.shape.type.value).join(', ');

export const experimentKind: DocumentKind<Experiment> = {
  noun: 'experiment',
  notAMapping: 'an experiment must be a mapping with title, hypothesis and method',
  schema: experimentSchema,
  rules,
  explain(issue, p, data) {
    const path = [...p];
    if (
      issue.code === 'invalid_union' &&
      (path.at(-2) === 'method' || (path.at(-3) === 'method' && path.at(-1) === 'kind'))
    ) {
      if (path.at(-1) === 'kind') path.pop();
      const kind = valueAt(data, [...path, 'kind']);
      const known = faultKinds.map((k) => k.name).join(', ');
      const message =
        kind === undefined
          ? `missing "kind"; one of: ${known}`
          : `unknown fault kind ${show(kind)}; known kinds: ${known}`;
      return [{ path: [...path, 'kind'], message }];
    }
    if (issue.code === 'invalid_union' && issue.discriminator === 'type') {
      if (path.at(-1) === 'type') path.pop();
      const type = valueAt(data, [...path, 'type']);
      const message =
        type === undefined
          ? `missing "type"; one of: ${PROBE_TYPES}`
          : `unknown probe type ${show(type)}; known types: ${PROBE_TYPES}`;
      return [{ path: [...path, 'type'], message }];
    }
    return undefined;
  },
  unknownFieldHint,
  resolve: resolveSloRefs,
};

/** A nudge for common typos: a fault kind written as a key. */
function unknownFieldHint(key: string, path: Path): string {
  if (path.at(-2) === 'method') {
    const kindNames: string[] = faultKinds.map((k) => k.name);
    if (kindNames.includes(key)) return ` (did you mean kind: ${key}?)`;
  }
  return faultKind(key) ? ` (fault kinds go in method[].kind)` : '';
}

export function parseExperiment(text: string, file = '<input>'): ParseResult {
  const r = parseDocumentText(text, file, experimentKind);
  return r.ok ? { ok: true, experiment: r.value } : r;
}

/** Reads one experiment file (bounded, never blocking) and parses it. */
export async function parseExperimentFile(file: string): Promise<ParseResult> {
  const t = await readDocumentFile(file, 'experiment');
  return t.ok ? parseExperiment(t.value, file) : t;
}

/** What a schedule or a game day runs: an experiment, validated, with the file it came from. */
export interface ExperimentRef {
  experiment: Experiment;
  file: string;
}

/** An experiment file named in another file (relative to it), read and validated. */
export async function loadExperimentRef(
  from: string,
  ref: string,
): Promise<{ ok: true; value: ExperimentRef } | { ok: false; message: string; problems: Problem[] }> {
  const r = await loadReferenced(from, ref, 'experiment', (text, file) =>
    parseDocumentText(text, file, experimentKind),
  );
  return r.ok ? { ok: true, value: { experiment: r.value, file: r.file } } : r;
}
