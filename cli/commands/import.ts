// faultline import ctk FILE [--out F] [--json] [--duration D] [--partial]: a Chaos Toolkit experiment (JSON or
// YAML) as a Faultline experiment file (experiments/ctk.ts maps it). Whatever has no Faultline equivalent is
// listed, positioned in the source (FILE:LINE:COL path: message, and its JSON path), and nothing is written
// (exit 2); --partial writes what maps all the same, the list in the file's header. Exit 0 written.
import { stringify } from 'yaml';
import { checkKind, parseTree, readDocumentFile, safe, type Path, type Violation } from '../../experiments/document.ts';
import { experimentKind } from '../../experiments/parse.ts';
import { importCtk, jsonPath } from '../../experiments/ctk.ts';
import { durationMs, isDuration } from '../../faults/duration.ts';
import { MAX_FAULT_MS, MIN_FAULT_MS } from '../../faults/limits.ts';
import { formatProblem, InvalidInput, type Problem } from '../../errors.ts';
import type { Io } from '../io.ts';
import { writeOut } from '../write-out.ts';

export interface ImportOptions {
  out?: string;
  json?: boolean;
  duration?: string;
  partial?: boolean;
}

interface Listed extends Problem {
  jsonPath: string;
}

const NOUN = 'Chaos Toolkit experiment';

export async function importCommand(format: string, file: string, opts: ImportOptions, io: Io): Promise<number> {
  if (format !== 'ctk') throw new InvalidInput(`import: unknown format ${safe(format)}; known: ctk (Chaos Toolkit)`);
  const duration = opts.duration ?? '30s';
  if (!isDuration(duration) || durationMs(duration) < MIN_FAULT_MS || durationMs(duration) > MAX_FAULT_MS)
    throw new InvalidInput(`--duration: must be a duration from 100ms to 24h, such as 30s (got ${safe(duration)})`);
  const read = await readDocumentFile(file, NOUN);
  const tree = read.ok ? parseTree(read.value, file, NOUN) : read;
  if (!tree.ok)
    return refused(
      file,
      tree.problems.map((p) => ({ ...p, jsonPath: '$' })),
      [],
      opts,
      io,
    );

  const r = importCtk(tree.value.data, { defaultDuration: duration });
  const place = (vs: Violation[]): Listed[] =>
    tree.value.place(vs).map((p, i) => ({ ...p, jsonPath: safe(jsonPath(vs[i]!.path)) }));
  const unmapped = place(r.unmapped);
  const notes = place(r.notes);
  if (unmapped.length && !opts.partial) return refused(file, unmapped, notes, opts, io);

  // What was mapped must be a valid Faultline experiment (its own schema and rules), or nothing is written.
  const checked = r.experiment ? checkKind(experimentKind, r.experiment) : undefined;
  if (!checked?.ok) {
    const invalid: Listed[] = (checked?.violations ?? []).map((v) => ({
      file: '(imported experiment)',
      line: 1,
      path: safe(v.path.join('.')),
      jsonPath: safe(jsonPath(v.path as Path)),
      message: safe(v.message),
    }));
    return refused(file, [...unmapped, ...invalid], notes, opts, io);
  }
  const header = [
    `Imported from ${safe(file)} by faultline import ctk.`,
    ...notes.map((n) => `note: ${n.path} (line ${n.line ?? '?'}): ${n.message}`),
    ...unmapped.map((u) => `NOT IMPORTED: ${u.path} (line ${u.line ?? '?'}): ${u.message}`),
  ];
  const text = `${header.map((h) => `# ${h}`).join('\n')}\n${stringify(r.experiment, { lineWidth: 0 })}`;
  if (opts.out) writeOut(opts.out, text);
  if (opts.json)
    io.out(JSON.stringify({ file, written: opts.out ?? null, experiment: r.experiment, unmapped, notes }, null, 2));
  else {
    for (const n of notes) io.err(`${formatProblem(n)} (note)`);
    for (const u of unmapped) io.err(`${formatProblem(u)} (not imported)`);
    if (opts.out) io.out(`written: ${safe(opts.out)}`);
    else io.out(text);
  }
  return 0;
}

function refused(
  file: string,
  unmapped: Listed[],
  notes: Listed[],
  opts: ImportOptions,
  io: Io,
  why: 'unmapped' | 'unreadable' = 'unmapped',
): number {
  if (opts.json) io.out(JSON.stringify({ file, written: null, unmapped, notes }, null, 2));
  else {
    io.err(
      why === 'unreadable'
        ? `faultline: ${safe(file)}: not imported: it is not a readable ${NOUN}`
        : `faultline: ${safe(file)}: not imported: ${unmapped.length} part${unmapped.length === 1 ? '' : 's'} of it ha${unmapped.length === 1 ? 's' : 've'} no Faultline equivalent (--partial writes the rest)`,
    );
    for (const u of unmapped) io.err(formatProblem(u));
  }
  return 2;
}
