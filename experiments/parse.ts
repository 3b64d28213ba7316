// Parsing at the boundary: YAML or JSON text -> a valid Experiment, or every problem with its file,
// line, column and field path. Cross-field checks are small named rules run after the schema.
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { experimentSchema, type Experiment } from './schema.ts';
import { faultKinds, faultKind } from '../faults/registry.ts';
import type { Problem } from '../errors.ts';
import { rules } from './rules.ts';

export type ParseResult = { ok: true; experiment: Experiment } | { ok: false; problems: Problem[] };

type Path = (string | number)[];

export function parseExperiment(text: string, file = '<input>'): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = at(e.pos[0]);
        return {
          file,
          line: pos.line,
          column: pos.col,
          path: '',
          message: `${/JSON/i.test(file) ? 'JSON' : 'YAML'} syntax: ${e.message.split('\n')[0]}`,
        };
      }),
    };
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      problems: [
        {
          file,
          line: 1,
          column: 1,
          path: '',
          message: 'an experiment must be a mapping with title, hypothesis and method',
        },
      ],
    };
  }
  const locate = (path: Path, key = false) => {
    const pos = at(offsetOf(doc, path, key));
    return { line: pos.line, column: pos.col };
  };
  const parsed = experimentSchema.safeParse(data);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.flatMap((i) => issueProblems(i, file, locate, data)) };
  }
  const problems: Problem[] = [];
  for (const rule of rules) {
    for (const v of rule.check(parsed.data)) {
      problems.push({ file, ...locate(v.path), path: v.path.join('.'), message: v.message });
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, experiment: parsed.data };
}

export async function parseExperimentFile(file: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ok: false,
      problems: [
        {
          file,
          line: 0,
          column: 0,
          path: '',
          message: code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(e)}`,
        },
      ],
    };
  }
  return parseExperiment(text, file);
}

function issueProblems(
  issue: z.core.$ZodIssue,
  file: string,
  locate: (p: Path, key?: boolean) => { line: number; column: number },
  data: unknown,
): Problem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({
      file,
      ...locate([...path, k], true),
      path: [...path, k].join('.'),
      message: `unknown field "${k}"${hint(k, path)}`,
    }));
  }
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
        : `unknown fault kind "${String(kind)}"; known kinds: ${known}`;
    return [{ file, ...locate([...path, 'kind']), path: [...path, 'kind'].join('.'), message }];
  }
  const value = valueAt(data, path);
  let message = issue.message;
  if (value === undefined && issue.code === 'invalid_type')
    message = `required field is missing (expected ${issue.expected})`;
  else if (issue.code === 'too_small' && typeof value === 'number' && value < 0)
    message = `must not be negative (${issue.message})`;
  else if (typeof value === 'string' && value.trim().startsWith('-') && path.at(-1) === 'duration')
    message = 'must not be negative: a duration such as 250ms, 30s or 2m';
  return [{ file, ...locate(path), path: path.join('.'), message }];
}

/** A nudge for common typos: "durations" -> "duration". */
function hint(key: string, path: Path): string {
  if (path.at(-2) === 'method') {
    const kindNames: string[] = faultKinds.map((k) => k.name);
    if (kindNames.includes(key)) return ` (did you mean kind: ${key}?)`;
  }
  return faultKind(key) ? ` (fault kinds go in method[].kind)` : '';
}

function valueAt(data: unknown, path: Path): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** Offset of the node at `path` (its key when `key`), or of the deepest ancestor that exists. */
function offsetOf(doc: Document, path: Path, key: boolean): number {
  let node: unknown = doc.contents;
  let best = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === seg);
      if (!pair) return best;
      const last = i === path.length - 1;
      const keyNode = pair.key as Node | null;
      if (last && key && keyNode?.range) return keyNode.range[0];
      node = pair.value;
      const r = (pair.value as Node | null)?.range ?? keyNode?.range;
      if (r) best = r[0];
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      const r = (node as Node | null)?.range;
      if (!r) return best;
      best = r[0];
    } else {
      return best;
    }
  }
  return best;
}
