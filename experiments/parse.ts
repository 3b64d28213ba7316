// Parsing at the boundary: YAML or JSON text -> a valid Experiment, or every problem with its file,
// line, column and field path. Cross-field checks are small named rules run after the schema.
//
// Robust and linear by construction: the text is bounded in size and pre-scanned for nesting depth
// before the YAML parser sees it (the parser recurses, and overflows its stack on deep input); the YAML
// tree is turned into plain data here rather than by `toJS`, in one pass that resolves aliases with a
// cap on the values they expand to, refuses duplicate and non-scalar keys, and indexes every mapping so
// a problem's position is found in O(depth) (no per-key scans). Messages never carry control characters
// (escaped) nor internal error text.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import type { z } from 'zod';
import { experimentSchema, type Experiment } from './schema.ts';
import { faultKinds, faultKind } from '../faults/registry.ts';
import type { Problem } from '../errors.ts';
import { rules } from './rules.ts';

export type ParseResult = { ok: true; experiment: Experiment } | { ok: false; problems: Problem[] };

type Path = (string | number)[];

/** Largest experiment file, bytes (and characters for text given directly). */
export const MAX_FILE_BYTES = 1 << 20;
/** Nesting depth of mappings and lists; an experiment needs about 6. */
export const MAX_DEPTH = 64;
/** Values in the file once aliases are expanded (an alias bomb stops here). */
export const MAX_VALUES = 100_000;
/** Lines in a file: an experiment is tens of lines; this refuses a runaway generator before parsing. */
export const MAX_LINES = 10_000;
/** Problems reported per file; the rest are counted in one last line. */
export const MAX_PROBLEMS = 50;

/** A problem found while reading the tree that stops the parse (too deep, too many values). */
class Stop extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

export function parseExperiment(text: string, file = '<input>'): ParseResult {
  try {
    return capped(parseText(text, file));
  } catch (e) {
    // The limits above are meant to make this unreachable; never show the internal error text.
    const deep = e instanceof RangeError;
    return fail(
      file,
      1,
      1,
      '',
      deep
        ? 'the file is nested too deeply to read'
        : 'internal error: the file could not be checked (please report it with the file)',
    );
  }
}

function parseText(text: string, file: string): ParseResult {
  if (text.length > MAX_FILE_BYTES)
    return fileProblem(file, `is too large: ${text.length} characters; the limit is ${MAX_FILE_BYTES}`);
  const lineCounter = new LineCounter();
  const posOf = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  // The YAML parser is not run on input that is too deep or too long: find line and column by hand.
  const at = (offset: number) => {
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return { line, column: offset - lineStart + 1 };
  };
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    const p = at(deep);
    return fail(file, p.line, p.column, '', `nested more than ${MAX_DEPTH} levels deep`);
  }
  const longAt = nthNewline(text, MAX_LINES);
  if (longAt !== -1 && longAt + 1 < text.length) {
    return fail(
      file,
      MAX_LINES + 1,
      1,
      '',
      `more than ${MAX_LINES} lines; an experiment needs far fewer (split it, or generate fewer entries)`,
    );
  }
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const syntax = /\.json$/i.test(file) ? 'JSON' : 'YAML';
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.slice(0, MAX_PROBLEMS + 1).map((e) => ({
        file,
        ...posOf(e.pos[0]),
        path: '',
        message: `${syntax} syntax: ${syntaxMessage(e.message)}`,
      })),
    };
  }
  const tree = new Tree();
  let data: unknown;
  try {
    data = tree.value(doc.contents as Node | null, 0);
  } catch (e) {
    if (e instanceof Stop) return { ok: false, problems: [{ file, ...posOf(e.offset), path: '', message: e.message }] };
    throw e;
  }
  if (tree.problems.length)
    return {
      ok: false,
      problems: tree.problems.map((p) => ({ file, ...posOf(p.offset), path: '', message: p.message })),
    };
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    return fail(file, 1, 1, '', 'an experiment must be a mapping with title, hypothesis and method');

  const locate = (path: Path, key = false) => posOf(tree.offsetOf(doc.contents as Node | null, path, key));
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

/**
 * Reads one experiment file: bounded in size, never blocking (opened non-blocking and checked with fstat
 * before any read, so a FIFO or a device is refused instead of waited on). File-level problems have no
 * line and column: they are about the file, not a place in it.
 */
export async function parseExperimentFile(file: string): Promise<ParseResult> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return fileProblem(file, openError(e));
  }
  let text: string;
  try {
    const st = await fh.stat();
    if (st.isDirectory()) return fileProblem(file, 'is a directory, not an experiment file');
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
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n));
    } catch {
      return fileProblem(file, 'is not UTF-8 text');
    }
  } catch (e) {
    return fileProblem(file, `cannot be read: ${errnoText(e)}`);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return parseExperiment(text, file);
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

function fileProblem(file: string, message: string): ParseResult {
  return { ok: false, problems: [{ file: safe(file), path: '', message: safe(message) }] };
}

function fail(file: string, line: number, column: number, path: string, message: string): ParseResult {
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

/** At most MAX_PROBLEMS problems, then one that counts the rest; every text escaped. */
function capped(r: ParseResult): ParseResult {
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
class Tree {
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
        `${what} past ${MAX_VALUES} values in the file once aliases are expanded (an alias bomb?); an experiment needs far fewer`,
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

function issueProblems(
  issue: z.core.$ZodIssue,
  file: string,
  locate: (p: Path, key?: boolean) => { line: number; column: number },
  data: unknown,
): Problem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.slice(0, MAX_PROBLEMS + 1).map((k) => ({
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
        : `unknown fault kind ${show(kind)}; known kinds: ${known}`;
    return [{ file, ...locate([...path, 'kind']), path: [...path, 'kind'].join('.'), message }];
  }
  if (issue.code === 'invalid_union' && issue.discriminator === 'type') {
    if (path.at(-1) === 'type') path.pop();
    const type = valueAt(data, [...path, 'type']);
    const message =
      type === undefined ? 'missing "type"; one of: http' : `unknown probe type ${show(type)}; known types: http`;
    return [{ file, ...locate([...path, 'type']), path: [...path, 'type'].join('.'), message }];
  }
  return [{ file, ...locate(path), path: path.join('.'), message: humanMessage(issue, valueAt(data, path), path) }];
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
function syntaxMessage(m: string): string {
  const first = m.split('\n')[0] as string;
  if (/call stack|RangeError|allocation/i.test(first)) return 'nested too deeply';
  if (/multiple documents/i.test(first)) return 'one experiment per file: remove the second document (after ---)';
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

/** A value as the user wrote it, short: "slow", 42, a list, a mapping. */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (empty)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  return String(v);
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
    if (!Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}
