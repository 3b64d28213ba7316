// The one parsing pipeline for every kind of file in the language (experiments, and kind: Schedule |
// GameDay | Policy). Each kind is a DocumentKind (a zod schema, small named rules, optional wording for
// its own unions); the stages are the same for all:
//   1. read: bounded in size, never blocking on special files (readDocumentFile);
//   2. text -> plain data with positions (parseTree): size, line and nesting-depth guards before the
//      YAML parser runs (it recurses, and overflows its stack on deep input), then one pass over the YAML
//      tree that resolves aliases with a cap on the values they expand to, refuses duplicate and
//      non-scalar keys, and indexes every mapping so a position is found in O(depth);
//   3. data -> value (checkKind): the schema, with zod's issues in words for the person who wrote the
//      file, then the kind's rules. No positions here, so a document embedded in another (an inline
//      experiment in a game day) is checked by the same code with its path prefixed (checkEmbedded);
//   4. every problem positioned in the file (FILE:LINE:COL field.path: message), escaped, at most
//      MAX_PROBLEMS then a count.
// Messages never carry control characters nor internal error text.
import { constants } from 'node:fs';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import type { z } from 'zod';
import { formatProblem, type Problem } from '../errors.ts';

export type Path = (string | number)[];
export interface Violation {
  path: Path;
  message: string;
  /** Point at the key rather than its value (an unknown field). */
  key?: boolean;
}
/** A cross-field check: small, named, returns the violations it finds. Runs after the schema. */
export interface Rule<T> {
  name: string;
  check(value: T): Violation[];
}

/** A kind of file in the language, plugged into the pipeline. */
export interface DocumentKind<T> {
  /** What a file of this kind is called in messages: "experiment", "game day". */
  noun: string;
  /** The message when the top level is not a mapping. */
  notAMapping: string;
  schema: z.ZodType<T>;
  rules: readonly Rule<T>[];
  /** The kind's own wording for an issue (a union it knows); undefined: the common wording. */
  explain?(issue: z.core.$ZodIssue, path: Path, data: unknown): Violation[] | undefined;
  /** A nudge after `unknown field "x"` (a fault kind written as a key, say); '' for none. */
  unknownFieldHint?(key: string, path: Path): string;
  /**
   * Reads the files the document names before the schema runs (an experiment's SLO files), replacing each
   * reference by what it resolves to. Its violations are positioned in this file; `problems` are the named
   * files' own, positioned in them. Synchronous, bounded reads (readDocumentFileSync).
   */
  resolve?(data: unknown, file: string): Resolved;
}

/** What a kind's resolve step made of the data: the new data, or why a named file could not be used. */
export interface Resolved {
  data: unknown;
  violations: Violation[];
  problems: Problem[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };
export type Checked<T> = { ok: true; value: T } | { ok: false; violations: Violation[] };

/** Largest file, bytes (and characters for text given directly). */
export const MAX_FILE_BYTES = 1 << 20;
/** Nesting depth of mappings and lists; an experiment needs about 6, an inline one in a game day 9. */
export const MAX_DEPTH = 64;
/** Values in the file once aliases are expanded (an alias bomb stops here). */
export const MAX_VALUES = 100_000;
/** Lines in a file: an experiment is tens of lines; this refuses a runaway generator before parsing. */
export const MAX_LINES = 10_000;
/** Problems reported per file; the rest are counted in one last line. */
export const MAX_PROBLEMS = 50;

// --- stage 1: reading ------------------------------------------------------------------------------------

/**
 * Reads one file: bounded in size, never blocking (opened non-blocking and checked with fstat before any
 * read, so a FIFO or a device is refused instead of waited on). File-level problems have no line and
 * column: they are about the file, not a place in it.
 */
export async function readDocumentFile(file: string, noun = 'experiment'): Promise<Parsed<string>> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return fileProblem(file, openError(e));
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) return fileProblem(file, `is a directory, not ${withArticle(noun)} file`);
    if (!st.isFile()) return fileProblem(file, `is ${specialKind(st)}, not a regular file`);
    if (st.size > MAX_FILE_BYTES)
      return fileProblem(file, `is too large: ${st.size} bytes; the limit is ${MAX_FILE_BYTES} (1 MiB)`);
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_FILE_BYTES) return fileProblem(file, `is too large: more than ${MAX_FILE_BYTES} bytes (1 MiB)`);
    }
    try {
      return { ok: true, value: new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n)) };
    } catch {
      return fileProblem(file, 'is not UTF-8 text');
    }
  } catch (e) {
    return fileProblem(file, `cannot be read: ${errnoText(e)}`);
  } finally {
    // closing a file opened only for reading: its content was read or the error was returned
    await fh.close().catch(() => undefined);
  }
}

/** readDocumentFile, synchronously: the same bounds, never blocking on a special file (for a kind's resolve step). */
export function readDocumentFileSync(file: string, noun: string): Parsed<string> {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return fileProblem(file, openError(e));
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return fileProblem(file, `is a directory, not ${withArticle(noun)}`);
    if (!st.isFile()) return fileProblem(file, `is ${specialKind(st)}, not a regular file`);
    if (st.size > MAX_FILE_BYTES)
      return fileProblem(file, `is too large: ${st.size} bytes; the limit is ${MAX_FILE_BYTES} (1 MiB)`);
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const bytesRead = readSync(fd, buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_FILE_BYTES) return fileProblem(file, `is too large: more than ${MAX_FILE_BYTES} bytes (1 MiB)`);
    }
    try {
      return { ok: true, value: new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n)) };
    } catch {
      return fileProblem(file, 'is not UTF-8 text');
    }
  } catch (e) {
    return fileProblem(file, `cannot be read: ${errnoText(e)}`);
  } finally {
    closeSync(fd);
  }
}

/** What an open() failure means for the person who named the file. */
export function openError(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: the file cannot be read';
    case 'ENOTDIR':
      return 'no such file (a part of the path is not a directory)';
    case 'ELOOP':
      return 'cannot be opened: too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'cannot be opened: the name is too long';
    case 'ENXIO':
      return 'is a socket or a device without a reader, not a regular file';
    default:
      return `cannot be opened: ${errnoText(e)}`;
  }
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : 'unknown error';
}

function specialKind(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  return 'a special file';
}

/** A file named in another file, resolved relative to the directory of the file that names it. */
export function resolveRelative(from: string, ref: string): string {
  return path.resolve(path.dirname(from), ref);
}

/**
 * A file of another kind named in a file (`ref`, relative to `from`), read and parsed. When it fails, `message`
 * is for the field that names it, in the naming file; `problems` are the referenced file's own, positioned in it.
 */
export async function loadReferenced<R>(
  from: string,
  ref: string,
  noun: string,
  parse: (text: string, file: string) => Parsed<R> | Promise<Parsed<R>>,
): Promise<{ ok: true; value: R; file: string } | { ok: false; message: string; problems: Problem[] }> {
  const file = resolveRelative(from, ref);
  const t = await readDocumentFile(file, noun);
  if (!t.ok) return { ok: false, message: `${ref}: ${t.problems[0]?.message} (looked for ${file})`, problems: [] };
  const r = await parse(t.value, file);
  if (!r.ok) return { ok: false, message: `${ref} is not a valid ${noun}`, problems: r.problems };
  return { ok: true, value: r.value, file };
}

// --- the pipeline ----------------------------------------------------------------------------------------

/** Stages 2 to 4: text -> the kind's value, or every problem positioned in `file`. */
export function parseDocumentText<T>(text: string, file: string, kind: DocumentKind<T>): Parsed<T> {
  return guarded(file, () => {
    const t = parseTree(text, file, kind.noun);
    if (!t.ok) return t;
    const r = kind.resolve?.(t.value.data, file);
    if (r && (r.violations.length || r.problems.length))
      return { ok: false, problems: [...t.value.place(r.violations), ...r.problems] };
    const c = checkKind(kind, r ? r.data : t.value.data);
    return c.ok ? c : { ok: false, problems: t.value.place(c.violations) };
  });
}

/**
 * The same, with a step that reads other files (the experiments a game day or a schedule names). It runs
 * once the schema holds, next to the rules, so one pass reports both; its violations are positioned in
 * `file`, the problems it found in other files are reported after them as they are.
 */
export async function compileDocumentText<T, R>(
  text: string,
  file: string,
  kind: DocumentKind<T>,
  compile: (value: T) => Promise<{ value: R; violations: Violation[]; problems: Problem[] }>,
): Promise<Parsed<R>> {
  let tree: Tree | undefined;
  let value: T | undefined;
  const first = guarded(file, () => {
    const t = parseTree(text, file, kind.noun);
    if (!t.ok) return t;
    tree = t.value;
    const s = checkSchema(kind, t.value.data);
    if (!s.ok) return { ok: false, problems: t.value.place(s.violations) };
    value = s.value;
    return { ok: true, value: undefined };
  });
  if (!first.ok || !tree) return first as Parsed<R>;
  let c: Awaited<ReturnType<typeof compile>>;
  try {
    c = await compile(value as T);
  } catch (e) {
    return internalProblem(file, e);
  }
  const t = tree;
  return guarded(file, () => {
    const violations = [...runRules(kind, value as T), ...c.violations];
    return violations.length || c.problems.length
      ? { ok: false, problems: [...t.place(violations), ...c.problems] }
      : { ok: true, value: c.value };
  });
}

/** Stage 3: the schema in human words, then the rules. Positions are the caller's. */
export function checkKind<T>(kind: DocumentKind<T>, data: unknown): Checked<T> {
  const s = checkSchema(kind, data);
  if (!s.ok) return s;
  const violations = runRules(kind, s.value);
  return violations.length ? { ok: false, violations } : s;
}

/**
 * A document of `kind` inside another, at `at`: its violations carry their full path in the outer file. The
 * files it names are resolved relative to `file` (the outer file); their own problems are told in the
 * violation of the field that names them.
 */
export function checkEmbedded<T>(kind: DocumentKind<T>, data: unknown, at: Path, file = '<input>'): Checked<T> {
  const r = kind.resolve?.(data, file);
  if (r && (r.violations.length || r.problems.length)) {
    const told = r.problems.map(formatProblem).join('; ');
    const violations = r.violations.map((v, i) => ({
      ...v,
      path: [...at, ...v.path],
      message: i === 0 && told ? `${v.message}: ${told}` : v.message,
    }));
    return { ok: false, violations };
  }
  const c = checkKind(kind, r ? r.data : data);
  return c.ok ? c : { ok: false, violations: c.violations.map((v) => ({ ...v, path: [...at, ...v.path] })) };
}

function checkSchema<T>(kind: DocumentKind<T>, data: unknown): Checked<T> {
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    return { ok: false, violations: [{ path: [], message: kind.notAMapping }] };
  const parsed = kind.schema.safeParse(data);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, violations: parsed.error.issues.flatMap((i) => explainIssue(kind, i, data)) };
}

function runRules<T>(kind: DocumentKind<T>, value: T): Violation[] {
  return kind.rules.flatMap((r) => r.check(value));
}

/** Runs a stage; the guards make a throw unreachable, but if one happens its text never reaches the user. */
function guarded<T>(file: string, stage: () => Parsed<T>): Parsed<T> {
  try {
    return capped(stage());
  } catch (e) {
    return internalProblem(file, e);
  }
}

function internalProblem<T>(file: string, e: unknown): Parsed<T> {
  return fail(
    safe(file),
    1,
    1,
    '',
    e instanceof RangeError
      ? 'the file is nested too deeply to read'
      : 'internal error: the file could not be checked (please report it with the file)',
  );
}

// --- stage 2: text -> data with positions ------------------------------------------------------------------

/** The file's data, and where in the file each path is. */
export interface Tree {
  data: unknown;
  place(violations: Violation[]): Problem[];
}

/** A problem found while reading the tree that stops the parse (too deep, too many values). */
class Stop extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

export function parseTree(text: string, file: string, noun = 'experiment'): Parsed<Tree> {
  if (text.length > MAX_FILE_BYTES)
    return fileProblem(file, `is too large: ${text.length} characters; the limit is ${MAX_FILE_BYTES}`);
  const lineCounter = new LineCounter();
  const posOf = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  // The YAML parser is not run on input that is too deep or too long: find line and column by hand.
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    const p = lineColumn(text, deep);
    return fail(file, p.line, p.column, '', `nested more than ${MAX_DEPTH} levels deep`);
  }
  const longAt = nthNewline(text, MAX_LINES);
  if (longAt !== -1 && longAt + 1 < text.length) {
    return fail(
      file,
      MAX_LINES + 1,
      1,
      '',
      `more than ${MAX_LINES} lines; ${withArticle(noun)} needs far fewer (split it, or generate fewer entries)`,
    );
  }
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const syntax = /\.json$/i.test(file) ? 'JSON' : 'YAML';
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        file,
        ...posOf(e.pos[0]),
        path: '',
        message: `${syntax} syntax: ${syntaxMessage(e.message, noun)}`,
      })),
    };
  }
  const reader = new TreeReader();
  const root = doc.contents as Node | null;
  let data: unknown;
  try {
    data = reader.value(root, 0);
  } catch (e) {
    if (e instanceof Stop) return { ok: false, problems: [{ file, ...posOf(e.offset), path: '', message: e.message }] };
    throw e;
  }
  if (reader.problems.length)
    return {
      ok: false,
      problems: reader.problems.map((p) => ({ file, ...posOf(p.offset), path: '', message: p.message })),
    };
  const place = (violations: Violation[]): Problem[] =>
    violations.map((v) => ({
      file: safe(file),
      ...posOf(reader.offsetOf(root, v.path, v.key ?? false)),
      path: safe(v.path.join('.')),
      message: safe(v.message),
    }));
  return { ok: true, value: { data, place } };
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function fileProblem<T>(file: string, message: string): Parsed<T> {
  return { ok: false, problems: [{ file: safe(file), path: '', message: safe(message) }] };
}

function fail<T>(file: string, line: number, column: number, path: string, message: string): Parsed<T> {
  return { ok: false, problems: [{ file, line, column, path, message }] };
}

/** Offset of the n-th newline, or -1 when the text has fewer. */
function nthNewline(text: string, n: number): number {
  let i = -1;
  for (let k = 0; k < n; k++) {
    i = text.indexOf('\n', i + 1);
    if (i === -1) return -1;
  }
  return i;
}

/** At most MAX_PROBLEMS problems, then one that counts the rest (exactly); every text escaped. */
function capped<T>(r: Parsed<T>): Parsed<T> {
  if (r.ok) return r;
  const shown = r.problems.slice(0, MAX_PROBLEMS);
  const rest = r.problems.length - shown.length;
  const out = shown.map((p) => ({ ...p, file: safe(p.file), path: safe(p.path), message: safe(p.message) }));
  if (rest > 0) {
    const next = r.problems[MAX_PROBLEMS] as Problem;
    out.push({ ...next, file: safe(next.file), path: '', message: `and ${rest} more problem(s) not shown` });
  }
  return { ok: false, problems: out };
}

/**
 * Control characters (newlines, ANSI escapes, C1, bidi and line separators) shown as escapes, so a key
 * or a file name can never forge an output line or drive the terminal.
 */
export function safe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * A linear over-estimate-free scan of how deep the text nests (block indentation levels plus open flow
 * brackets), so input the YAML parser would recurse on too deeply never reaches it. Returns the offset
 * where the depth first passes MAX_DEPTH, or undefined. Quoted scalars, comments and block scalars
 * (| and >) are skipped.
 */
export function tooDeepAt(text: string): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | '' = '';
  let blockScalarIndent = -1; // lines indented more than this belong to a block scalar
  let i = 0;
  const n = text.length;
  while (i < n) {
    let end = text.indexOf('\n', i);
    if (end === -1) end = n;
    let indent = 0;
    while (i + indent < end && text.charCodeAt(i + indent) === 32) indent++;
    const first = i + indent;
    const blank = first >= end || text[first] === '\r' || text[first] === '#';
    if (blockScalarIndent >= 0 && (blank || indent > blockScalarIndent)) {
      i = end + 1;
      continue;
    }
    blockScalarIndent = -1;
    if (blank && !quote) {
      i = end + 1;
      continue;
    }
    let depth = 0;
    let j = first;
    if (!quote && flow === 0) {
      while (indents.length && (indents[indents.length - 1] as number) >= indent) indents.pop();
      indents.push(indent);
      // compact nesting on one line: "- - - x", "? - x"
      while (j + 1 < end && (text[j] === '-' || text[j] === '?') && text[j + 1] === ' ') {
        depth++;
        j += 2;
        while (j < end && text[j] === ' ') j++;
      }
    }
    let prev = j > i ? text[j - 1] : ' ';
    let lastSignificant = '';
    for (; j < end; j++) {
      const c = text[j] as string;
      if (quote) {
        if (quote === '"' && c === '\\') j++;
        else if (c === quote) {
          if (quote === "'" && text[j + 1] === "'") j++;
          else quote = '';
        }
        prev = c;
        continue;
      }
      if (c === '#' && (prev === ' ' || prev === '\t')) break;
      if ((c === '"' || c === "'") && /[\s[{,:-]/.test(prev ?? ' ')) quote = c;
      else if (c === '[' || c === '{') {
        flow++;
        if (indents.length + depth + flow > MAX_DEPTH) return j;
      } else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
      if (c !== ' ' && c !== '\t' && c !== '\r') lastSignificant = c;
      prev = c;
    }
    if (indents.length + depth + flow > MAX_DEPTH) return first;
    // "key: |" or "- >-" starts a block scalar: the lines indented more than this one are its text
    if (
      !quote &&
      flow === 0 &&
      (lastSignificant === '|' ||
        lastSignificant === '>' ||
        /[|>][-+0-9]*\s*$/.test(text.slice(Math.max(i, end - 8), end)))
    )
      blockScalarIndent = indent;
    i = end + 1;
  }
  return undefined;
}

/** Turns the YAML tree into plain data in one pass, and answers position lookups for it. */
class TreeReader {
  readonly problems: { offset: number; message: string }[] = [];
  private readonly anchors = new Map<string, Node>();
  private readonly done = new Map<Node, unknown>();
  private readonly sizes = new Map<Node, number>();
  private readonly building = new Set<Node>();
  private readonly keys = new WeakMap<YAMLMap, Map<string, Pair>>();
  private values = 0;

  value(node: Node | null | undefined, depth: number): unknown {
    if (node === null || node === undefined) return null;
    const at = node.range?.[0] ?? 0;
    if (depth > MAX_DEPTH) throw new Stop(at, `nested more than ${MAX_DEPTH} levels deep`);
    if (isAlias(node)) {
      const target = this.anchors.get(node.source);
      if (!target) {
        this.problems.push({
          offset: at,
          message: `alias *${node.source} refers to no anchor: define &${node.source} before using it`,
        });
        return null;
      }
      if (this.building.has(target)) {
        this.problems.push({ offset: at, message: `alias *${node.source} refers to the value that contains it` });
        return null;
      }
      this.count(at, this.sizes.get(target) ?? 1, `alias *${node.source} expands`);
      return this.done.get(target);
    }
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) this.anchors.set(anchor, node);
    const before = this.values;
    this.count(at, 1, 'this value');
    this.building.add(node);
    let out: unknown;
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      const index = new Map<string, Pair>();
      for (const pair of node.items) {
        const k = pair.key as Node | null;
        const kAt = k?.range?.[0] ?? at;
        if (!isScalar(k) || k.value === null || typeof k.value === 'object') {
          this.problems.push({
            offset: kAt,
            message: 'a key must be a plain name (not a list, a mapping, an alias or empty)',
          });
          continue;
        }
        const name = String(k.value);
        const first = index.get(name);
        if (first) {
          this.problems.push({ offset: kAt, message: `duplicate key "${name}"` });
          continue;
        }
        index.set(name, pair as Pair);
        const v = this.value(pair.value as Node | null, depth + 1);
        if (name === '__proto__') Object.defineProperty(obj, name, { value: v, enumerable: true, writable: true });
        else obj[name] = v;
      }
      this.keys.set(node, index);
      out = obj;
    } else if (isSeq(node)) {
      out = node.items.map((item) => this.value(item as Node | null, depth + 1));
    } else if (isScalar(node)) {
      out = typeof node.value === 'bigint' ? Number(node.value) : node.value;
    } else {
      out = null;
    }
    this.building.delete(node);
    this.sizes.set(node, this.values - before);
    this.done.set(node, out);
    return out;
  }

  private count(at: number, n: number, what: string): void {
    this.values += n;
    if (this.values > MAX_VALUES)
      throw new Stop(
        at,
        `${what} past ${MAX_VALUES} values in the file once aliases are expanded (an alias bomb?); a file needs far fewer`,
      );
  }

  /** Offset of the node at `path` (its key when `key`), or of the deepest ancestor that exists. */
  offsetOf(root: Node | null, path: Path, key: boolean): number {
    let node: unknown = root;
    let best = root?.range?.[0] ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = this.keys.get(node)?.get(String(seg));
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
      } else {
        return best; // an alias or a scalar: its own position is the best there is
      }
    }
    return best;
  }
}

// --- stage 3: zod's issues in words for the person who wrote the file ------------------------------------

function explainIssue<T>(kind: DocumentKind<T>, issue: z.core.$ZodIssue, data: unknown): Violation[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const own = kind.explain?.(issue, path, data);
  if (own) return own;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({
      path: [...path, k],
      key: true,
      message: `unknown field "${k}"${kind.unknownFieldHint?.(k, path) ?? ''}`,
    }));
  }
  return [{ path, message: humanMessage(issue, valueAt(data, path), path) }];
}

/** zod's wording is for programmers; these are for the person who wrote the file. */
function humanMessage(issue: z.core.$ZodIssue, value: unknown, path: Path): string {
  const field = path.at(-1);
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined)
        return `required field${typeof field === 'string' ? ` "${field}"` : ''} is missing (expected ${article(issue.expected)})`;
      return `must be ${article(issue.expected)}, not ${show(value)}`;
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}`;
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters long`;
      if (typeof value === 'number' && value < 0) return `must not be negative (at least ${issue.minimum})`;
      return `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${issue.minimum}, not ${show(value)}`;
    case 'too_big':
      if (issue.origin === 'array') return `has more than ${issue.maximum} entries`;
      if (issue.origin === 'string') return `is longer than ${issue.maximum} characters`;
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}, not ${show(value)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${show(issue.values[0])}, not ${show(value)}`
        : `must be one of ${issue.values.map(show).join(', ')}, not ${show(value)}`;
    case 'invalid_format':
      if (
        typeof value === 'string' &&
        value.trim().startsWith('-') &&
        /duration|interval|timeout|latency|delay/i.test(String(field))
      )
        return 'must not be negative: a duration such as 250ms, 30s or 2m';
      return /^Invalid/.test(issue.message) ? `is not a valid ${issue.format}: ${show(value)}` : issue.message;
    case 'invalid_union':
      return `${show(value)} is not allowed here`;
    default:
      // custom checks (refine) carry our own messages; anything else gets zod's, which names no internals
      return issue.message;
  }
}

/** The YAML library's message, minus internals and advice meant for programmers. */
function syntaxMessage(m: string, noun: string): string {
  const first = m.split('\n')[0] as string;
  if (/call stack|RangeError|allocation/i.test(first)) return 'nested too deeply';
  if (/multiple documents/i.test(first)) return `one ${noun} per file: remove the second document (after ---)`;
  return first.replace(/\s*at line \d+, column \d+:?$/, '');
}

function article(t: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    object: 'a mapping',
    record: 'a mapping',
    array: 'a list',
    null: 'null',
  };
  return names[t] ?? t;
}

function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

/** A value as the user wrote it, short: "slow", 42, a list, a mapping. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (empty)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  return String(v);
}

/** The value at `path` in plain data, own properties only (undefined when absent). */
export function valueAt(data: unknown, path: Path): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}
