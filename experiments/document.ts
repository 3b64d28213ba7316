// Positioned parsing for the other kinds of file in the language (kind: Schedule | GameDay | Policy):
// YAML or JSON text -> a value checked by a zod schema and small named rules, or every problem with
// file, line, column and field path, formatted like the experiment's (FILE:LINE:COL field.path: message).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import type { Problem } from '../errors.ts';
import { MAX_FILE_BYTES, openError, safe, tooDeepAt } from './parse.ts';

export type Path = (string | number)[];
export type Located<T> = { ok: true; value: T; doc: Document } | { ok: false; problems: Problem[] };

export interface DocRule<T> {
  name: string;
  check(value: T): { path: Path; message: string }[] | Promise<{ path: Path; message: string }[]>;
}

/** The file's top-level `kind`, read without validating anything else (undefined for experiments). */
export function kindOf(text: string): string | undefined {
  try {
    const data = parseDocument(text).toJS() as unknown;
    if (data && typeof data === 'object' && !Array.isArray(data)) {
      const k = (data as Record<string, unknown>).kind;
      return typeof k === 'string' ? k : undefined;
    }
  } catch {
    /* the real parser reports syntax errors with positions */
  }
  return undefined;
}

/** Reads a file as the experiment parser does: regular files only, bounded, never blocking on a FIFO. */
export async function readText(file: string): Promise<{ ok: true; text: string } | { ok: false; problems: Problem[] }> {
  const problem = (message: string) => ({
    ok: false as const,
    problems: [{ file: safe(file), path: '', message }],
  });
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return problem(openError(e));
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return problem('is not a regular file');
    if (st.size > MAX_FILE_BYTES) return problem(`is too large: ${st.size} bytes; the limit is ${MAX_FILE_BYTES}`);
    return { ok: true, text: await fh.readFile('utf8') };
  } catch {
    return problem('cannot be read');
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Parses `text` with positions, checks it against `schema`, then runs `rules` on the parsed value. */
export async function parseWith<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  rules: DocRule<z.infer<S>>[],
  what: string,
): Promise<Located<z.infer<S>>> {
  // The experiment parser's bounds: size and nesting are checked before the YAML parser runs, and toJS
  // caps alias expansion (maxAliasCount), so no file here can exhaust the stack or memory.
  if (text.length > MAX_FILE_BYTES)
    return { ok: false, problems: [{ file: safe(file), path: '', message: 'is too large (1 MiB limit)' }] };
  if (tooDeepAt(text) !== undefined)
    return { ok: false, problems: [{ file: safe(file), line: 1, column: 1, path: '', message: 'nested too deeply' }] };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = at(e.pos[0]);
        const syntax = /JSON/i.test(file) ? 'JSON' : 'YAML';
        return {
          file,
          line: pos.line,
          column: pos.col,
          path: '',
          message: `${syntax} syntax: ${e.message.split('\n')[0]}`,
        };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, problems: [{ file, line: 1, column: 1, path: '', message: safe((e as Error).message) }] };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, problems: [{ file, line: 1, column: 1, path: '', message: `a ${what} must be a mapping` }] };
  }
  const locate = (path: Path, key = false) => {
    const pos = at(offsetOf(doc, path, key));
    return { line: pos.line, column: pos.col };
  };
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.flatMap((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        if (issue.code === 'unrecognized_keys')
          return issue.keys.map((k) => ({
            file,
            ...locate([...path, k], true),
            path: [...path, k].join('.'),
            message: `unknown field "${k}"`,
          }));
        const value = valueAt(data, path);
        const message =
          value === undefined && issue.code === 'invalid_type'
            ? `required field is missing (expected ${issue.expected})`
            : issue.message;
        return [{ file, ...locate(path), path: path.join('.'), message }];
      }),
    };
  }
  const problems: Problem[] = [];
  for (const rule of rules) {
    for (const v of await rule.check(parsed.data as z.infer<S>))
      problems.push({ file, ...locate(v.path), path: v.path.join('.'), message: v.message });
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: parsed.data as z.infer<S>, doc };
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
      const keyNode = pair.key as Node | null;
      if (i === path.length - 1 && key && keyNode?.range) return keyNode.range[0];
      node = pair.value;
      const r = (pair.value as Node | null)?.range ?? keyNode?.range;
      if (r) best = r[0];
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      const r = (node as Node | null)?.range;
      if (!r) return best;
      best = r[0];
    } else return best;
  }
  return best;
}

/** A file named in another file, resolved relative to the directory of the file that names it. */
export function resolveRelative(from: string, ref: string): string {
  return path.resolve(path.dirname(from), ref);
}
