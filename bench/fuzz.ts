// npm run bench:fuzz [-- --files N --seed S --admin-requests N --document-files N]: bad input never hurts, measured.
// Experiment files: N generated files (plausible, invalid, adversarial: aliases, bombs, deep nesting,
// control characters, huge, random bytes; test/experiment-fuzz.ts) through parse + validate in-process,
// every accepted one through planning against the in-memory fleet and proxy, and a sample through the real
// CLI (`node bin/faultline.mjs validate`). Counts accepted, rejected with a position, rejected without one,
// crashed and hung, the worst parse time per KB, and a linearity check (time against size for growing
// inputs). Policies, schedules and game days: N of each kind through their parsers (test/document-fuzz.ts), the
// same counts. Admin API: fuzzAdmin() from bench/fuzz-admin.ts (generated requests against a real proxy).
// Writes bench/results/fuzz.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parseExperiment } from '../experiments/parse.ts';
import { PROJECT_ROOT } from '../config.ts';
import {
  adversarialText,
  invalidExperiment,
  planDefects,
  plausibleExperiment,
  problemDefect,
  render,
} from '../test/experiment-fuzz.ts';
import type { FuzzAdminResult } from './fuzz-admin.ts';
import type { Problem } from '../errors.ts';
import { parsePolicy } from '../experiments/policy.ts';
import { parseSchedule } from '../experiments/schedule.ts';
import { parseGameDay } from '../experiments/gameday.ts';
import * as documentFuzz from '../test/document-fuzz.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('files', 10_000);
const SEED = arg('seed', 20_261_125);
const ADMIN = arg('admin-requests', 10_000);
const CLI_SAMPLE = arg('cli-files', 200);
const DOCUMENTS = arg('document-files', 2_000); // per kind: policies, schedules, game days
/** A parse slower than this counts as hung (the CLI sample also runs under a hard timeout). */
const HANG_MS = 5_000;

interface Input {
  family: 'plausible' | 'invalid' | 'adversarial';
  kind: string;
  text: string;
  file: string;
}

function inputs(): Input[] {
  const n = { plausible: Math.round(FILES * 0.45), invalid: Math.round(FILES * 0.35) };
  const adversarial = FILES - n.plausible - n.invalid;
  const fmt = fc.constantFrom<'yaml' | 'json'>('yaml', 'json');
  const out: Input[] = [];
  for (const [[d, f], i] of fc
    .sample(fc.tuple(plausibleExperiment, fmt), { seed: SEED, numRuns: n.plausible })
    .map((x, i) => [x, i] as const))
    out.push({ family: 'plausible', kind: f, text: render(d, f), file: `plausible-${i}.${f}` });
  for (const [[d, f], i] of fc
    .sample(fc.tuple(invalidExperiment, fmt), { seed: SEED + 1, numRuns: n.invalid })
    .map((x, i) => [x, i] as const))
    out.push({ family: 'invalid', kind: f, text: render(d, f), file: `invalid-${i}.${f}` });
  for (const [a, i] of fc
    .sample(adversarialText(0.5), { seed: SEED + 2, numRuns: adversarial })
    .map((x, i) => [x, i] as const))
    out.push({ family: 'adversarial', kind: a.kind, text: a.text, file: `adversarial-${i}.yaml` });
  return out;
}

interface Counts {
  files: number;
  accepted: number;
  rejectedWithPosition: number;
  rejectedWithoutPosition: number;
  crashed: number;
  hung: number;
  /** Accepted files whose plan broke a promise (selector, blast radius, timers, proxy limits). */
  unsafePlans: number;
  /** Invalid-by-construction files that were accepted. */
  invalidAccepted: number;
}

const bytesOf = (t: string) => Buffer.byteLength(t);

/** What is wrong with a refusal as a user reads it: internal text first (a crash), else the first defect. */
function refusalDefect(problems: Problem[]): string | undefined {
  const defects = problems.map(problemDefect).filter((x): x is string => x !== undefined);
  return defects.find((d) => d.startsWith('internal text')) ?? defects[0];
}

async function inProcess(all: Input[]) {
  const counts: Counts = {
    files: all.length,
    accepted: 0,
    rejectedWithPosition: 0,
    rejectedWithoutPosition: 0,
    crashed: 0,
    hung: 0,
    unsafePlans: 0,
    invalidAccepted: 0,
  };
  const byFamily: Record<string, { files: number; accepted: number; rejected: number; ms: number }> = {};
  const examples: string[] = [];
  let worst = { msPerKB: 0, ms: 0, kb: 0, kind: '' };
  let slowest = { ms: 0, kb: 0, kind: '' };
  let bytes = 0;
  const perKB: number[] = [];
  const t0 = performance.now();
  for (const [i, inp] of all.entries()) {
    const kb = bytesOf(inp.text) / 1024;
    bytes += kb * 1024;
    const s = performance.now();
    let r;
    try {
      r = parseExperiment(inp.text, inp.file);
    } catch (e) {
      counts.crashed++;
      examples.push(`${inp.file} (${inp.kind}): threw ${(e as Error).name}: ${(e as Error).message}`);
      continue;
    }
    const ms = performance.now() - s;
    const fam = (byFamily[inp.family] ??= { files: 0, accepted: 0, rejected: 0, ms: 0 });
    fam.files++;
    fam.ms += ms;
    if (ms > HANG_MS) {
      counts.hung++;
      examples.push(`${inp.file} (${inp.kind}, ${kb.toFixed(0)} KB): ${ms.toFixed(0)} ms`);
    }
    if (kb >= 8) perKB.push(ms / kb);
    if (kb >= 8 && ms / kb > worst.msPerKB) worst = { msPerKB: ms / kb, ms, kb, kind: inp.kind };
    if (ms > slowest.ms) slowest = { ms, kb, kind: inp.kind };
    if (r.ok) {
      counts.accepted++;
      fam.accepted++;
      if (inp.family === 'invalid') {
        counts.invalidAccepted++;
        examples.push(`${inp.file}: invalid by construction but accepted`);
      }
      const d = await planDefects(r.experiment, SEED + i);
      if (d.length) {
        counts.unsafePlans++;
        examples.push(`${inp.file}: ${d.join('; ')}`);
      }
      continue;
    }
    fam.rejected++;
    const defect = refusalDefect(r.problems);
    counts[
      defect ? (defect.startsWith('internal text') ? 'crashed' : 'rejectedWithoutPosition') : 'rejectedWithPosition'
    ]++;
    if (defect && examples.length < 20) examples.push(`${inp.file} (${inp.kind}): ${defect}`);
  }
  const totalMs = performance.now() - t0;
  perKB.sort((a, b) => a - b);
  const medianMsPerKB = perKB.length ? (perKB[Math.floor(perKB.length / 2)] as number) : 0;
  return {
    counts,
    byFamily,
    worst,
    medianMsPerKB,
    slowest,
    totalMs,
    mb: bytes / 2 ** 20,
    examples: examples.slice(0, 20),
  };
}

/**
 * The other kinds of file (test/document-fuzz.ts), DOCUMENTS each through its own parser (the same pipeline):
 * plausible, invalid by one mutation (an invalid inline experiment among them), adversarial texts.
 */
async function documentFiles() {
  type Parse = (text: string, file: string) => Promise<{ ok: true } | { ok: false; problems: Problem[] }>;
  const kinds: [string, Parse, fc.Arbitrary<unknown>, fc.Arbitrary<unknown>][] = [
    ['Policy', parsePolicy, documentFuzz.plausiblePolicy, documentFuzz.invalidPolicy],
    ['Schedule', parseSchedule, documentFuzz.plausibleSchedule, documentFuzz.invalidSchedule],
    ['GameDay', parseGameDay, documentFuzz.plausibleGameDay, documentFuzz.invalidGameDay],
  ];
  const fmt = fc.constantFrom<'yaml' | 'json'>('yaml', 'json');
  const out = [];
  const examples: string[] = [];
  for (const [k, [kind, parse, plausible, invalid]] of kinds.entries()) {
    const n = { plausible: Math.round(DOCUMENTS * 0.45), invalid: Math.round(DOCUMENTS * 0.35) };
    const sample = (a: fc.Arbitrary<unknown>, family: string, numRuns: number, seed: number) =>
      fc.sample(fc.tuple(a, fmt), { seed, numRuns }).map(([d, f], i) => ({
        family,
        text: render(d, f),
        file: `${family}-${i}.${f}`,
      }));
    const items = [
      ...sample(plausible, 'plausible', n.plausible, SEED + 10 + k),
      ...sample(invalid, 'invalid', n.invalid, SEED + 20 + k),
      ...fc
        .sample(adversarialText(0.5), { seed: SEED + 30 + k, numRuns: DOCUMENTS - n.plausible - n.invalid })
        .map((a, i) => ({ family: 'adversarial', text: a.text, file: `adversarial-${i}.yaml` })),
    ];
    const c = {
      kind,
      files: items.length,
      accepted: 0,
      rejectedWithPosition: 0,
      rejectedWithoutPosition: 0,
      crashed: 0,
      hung: 0,
      invalidAccepted: 0,
      plausibleRejected: 0,
      worstMs: 0,
      totalMs: 0,
    };
    for (const inp of items) {
      const s = performance.now();
      let r;
      try {
        r = await parse(inp.text, inp.file);
      } catch (e) {
        c.crashed++;
        examples.push(`${kind} ${inp.file}: threw ${(e as Error).name}: ${(e as Error).message}`);
        continue;
      }
      const ms = performance.now() - s;
      c.totalMs += ms;
      c.worstMs = Math.max(c.worstMs, ms);
      if (ms > HANG_MS) c.hung++;
      if (r.ok) {
        c.accepted++;
        if (inp.family === 'invalid') c.invalidAccepted++;
        continue;
      }
      if (inp.family === 'plausible') c.plausibleRejected++;
      const defect = refusalDefect(r.problems);
      c[
        defect ? (defect.startsWith('internal text') ? 'crashed' : 'rejectedWithoutPosition') : 'rejectedWithPosition'
      ]++;
      if (defect && examples.length < 20) examples.push(`${kind} ${inp.file}: ${defect}`);
    }
    out.push({ ...c, worstMs: +c.worstMs.toFixed(1), totalMs: +c.totalMs.toFixed(0) });
  }
  return { kinds: out, examples };
}

/** Time against size for growing inputs of each shape: log-log slope ~1 is linear, ~2 quadratic. */
function linearity() {
  const shapes: Record<string, (n: number) => string> = {
    'block mapping keys': (n) => Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n'),
    'JSON object keys': (n) => `{${Array.from({ length: n }, (_, i) => `"k${i}": ${i}`).join(',')}}`,
    'flow list items': (n) => `title: t\ntags: [${Array.from({ length: n }, (_, i) => `t${i}`).join(', ')}]\n`,
    'alias uses': (n) => `title: &t t\ntags: [${Array(n).fill('*t').join(', ')}]\n`,
    'unknown probe fields': (n) =>
      `title: t\nhypothesis:\n  statement: s\n  probes:\n    - name: p\n      type: http\n      url: http://127.0.0.1:1/\n${Array.from({ length: n }, (_, i) => `      x${i}: ${i}`).join('\n')}\nmethod: [ { kind: container.pause, duration: 1s } ]\n`,
  };
  // Shapes with an item per line stop at MAX_LINES (beyond it a file is refused before parsing).
  const sizesFor = (shape: string) =>
    /block|probe/.test(shape) ? [1_000, 2_000, 4_000, 9_000] : [2_500, 5_000, 10_000, 20_000, 40_000];
  const out: { shape: string; points: { n: number; kb: number; ms: number }[]; slope: number; linear: boolean }[] = [];
  for (const [shape, make] of Object.entries(shapes)) {
    const points = sizesFor(shape).map((n) => {
      const text = make(n);
      const runs = [0, 1, 2].map(() => {
        const s = performance.now();
        parseExperiment(text, 'lin.yaml');
        return performance.now() - s;
      });
      return { n, kb: +(bytesOf(text) / 1024).toFixed(1), ms: +runs.sort((a, b) => a - b)[1]!.toFixed(1) };
    });
    const a = points[1]!; // skip the smallest: fixed costs and the JIT dominate it
    const b = points.at(-1)!;
    const slope = Math.log(b.ms / a.ms) / Math.log(b.n / a.n);
    out.push({ shape, points, slope: +slope.toFixed(2), linear: slope < 1.35 });
  }
  return out;
}

/** A sample through the real CLI, in batches (one process per batch), with a hard timeout per batch. */
function throughCli(all: Input[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-fuzz-'));
  const picked = fc.sample(fc.constantFrom(...all.filter((x) => bytesOf(x.text) < 200_000)), {
    seed: SEED + 3,
    numRuns: CLI_SAMPLE,
  });
  const res = { files: 0, exit0: 0, exit2: 0, exit3: 0, hung: 0, unpositionedLines: 0, stackTraces: 0, batches: 0 };
  try {
    for (let i = 0; i < picked.length; i += 50) {
      const batch = picked.slice(i, i + 50).map((inp, j) => {
        const f = `${i + j}-${inp.file}`;
        writeFileSync(path.join(dir, f), inp.text);
        return f;
      });
      const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), 'validate', ...batch], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
      });
      res.batches++;
      res.files += batch.length;
      if (r.error || r.status === null) res.hung++;
      else if (r.status === 0) res.exit0++;
      else if (r.status === 2) res.exit2++;
      else res.exit3++;
      for (const line of r.stderr.split('\n').filter(Boolean))
        if (!/^\S+?(:\d+:\d+ \S+)?: \S/.test(line)) res.unpositionedLines++;
      if (/\n\s+at |Error:/.test(r.stderr)) res.stackTraces++;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

async function main(): Promise<void> {
  console.log(`bench:fuzz: ${FILES} experiment files, seed ${SEED}, ${os.cpus().length} CPUs, Node ${process.version}`);
  const all = inputs();
  const files = await inProcess(all);
  const cli = throughCli(all);
  const lin = linearity();
  const documents = await documentFiles();
  const c = files.counts;
  console.log(
    `\nexperiment files (in-process parse + validate, ${files.mb.toFixed(1)} MB in ${(files.totalMs / 1000).toFixed(1)} s)`,
  );
  console.log('| figure | count | target |');
  console.log('|---|---|---|');
  const row = (label: string, v: number | string, target = '') => console.log(`| ${label} | ${v} | ${target} |`);
  row('files', c.files);
  row('accepted', c.accepted);
  row('rejected with a position (or a file-level message)', c.rejectedWithPosition);
  row('rejected without a position', c.rejectedWithoutPosition, '0');
  row('crashed (threw, or internal text in a message)', c.crashed, '0');
  row(`hung (a parse over ${HANG_MS / 1000} s)`, c.hung, '0');
  row('accepted, but the plan broke a promise', c.unsafePlans, '0');
  row('invalid by construction, but accepted', c.invalidAccepted, '0');
  row(
    'parse time per KB (inputs >= 8 KB): worst / median',
    `${files.worst.msPerKB.toFixed(3)} ms/KB (${files.worst.kind}, ${files.worst.kb.toFixed(0)} KB) / ${files.medianMsPerKB.toFixed(3)} ms/KB`,
  );
  row('slowest parse', `${files.slowest.ms.toFixed(0)} ms (${files.slowest.kind}, ${files.slowest.kb.toFixed(0)} KB)`);
  console.log('\n| family | files | accepted | rejected | mean ms |');
  console.log('|---|---|---|---|---|');
  for (const [f, v] of Object.entries(files.byFamily))
    console.log(`| ${f} | ${v.files} | ${v.accepted} | ${v.rejected} | ${(v.ms / v.files).toFixed(2)} |`);
  console.log(`\nthrough the CLI (${cli.files} files in ${cli.batches} processes)`);
  console.log(
    `processes exiting 0: ${cli.exit0} · 2: ${cli.exit2} · 3: ${cli.exit3} (target 0) · hung: ${cli.hung} (target 0) · lines without a position: ${cli.unpositionedLines} (target 0) · stack traces: ${cli.stackTraces} (target 0)`,
  );
  console.log('\nlinearity: parse time against input size (median of 3; slope of log time / log size, 1 = linear)');
  console.log('| shape | items: ms / KB, growing | slope | linear |');
  console.log('|---|---|---|---|');
  for (const l of lin)
    console.log(
      `| ${l.shape} | ${l.points.map((p) => `${p.n}: ${p.ms} ms / ${p.kb} KB`).join(' · ')} | ${l.slope} | ${l.linear ? 'yes' : 'NO'} |`,
    );
  console.log(`\npolicy, schedule and game-day files (${DOCUMENTS} of each kind, in-process, the same pipeline)`);
  console.log(
    '| kind | files | accepted | rejected with a position | without | crashed | hung | invalid accepted | plausible rejected | worst ms |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const d of documents.kinds)
    console.log(
      `| ${d.kind} | ${d.files} | ${d.accepted} | ${d.rejectedWithPosition} | ${d.rejectedWithoutPosition} | ${d.crashed} | ${d.hung} | ${d.invalidAccepted} | ${d.plausibleRejected} | ${d.worstMs} |`,
    );
  const examples = [...files.examples, ...documents.examples];
  if (examples.length) console.log(`\nexamples:\n${examples.join('\n')}`);
  const out = path.join(PROJECT_ROOT, 'bench', 'results', 'fuzz.json');
  const save = (admin: unknown) => {
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(
      out,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: { cpus: os.cpus().length, node: process.version, load: os.loadavg() },
          seed: SEED,
          experimentFiles: { ...files, worst: { ...files.worst, msPerKB: +files.worst.msPerKB.toFixed(4) } },
          cli,
          linearity: lin,
          documentFiles: documents,
          admin,
        },
        null,
        2,
      )}\n`,
    );
  };
  save('running');

  const { admin, note } = ADMIN > 0 ? adminFuzz() : { admin: undefined, note: 'skipped (--admin-requests 0)' };
  if (admin) {
    console.log(`\nadmin API (${admin.requests} generated requests against a real proxy, ${note})`);
    console.log(
      `2xx: ${admin.ok2xx} · JSON 4xx: ${admin.rejected4xx} · 500 port in use: ${admin.conflict500} · other 5xx: ${admin.server5xx} · no answer: ${admin.silent} · crashed: ${admin.crashed} · bad answers: ${admin.badAnswers} · state differs: ${admin.inconsistent} · worst ${admin.worstMs} ms`,
    );
  } else console.log(`\nadmin API: ${note}`);
  save(admin ?? note);
  console.log(`\nwrote ${path.relative(PROJECT_ROOT, out)}`);
}

/**
 * The admin half (bench/fuzz-admin.ts, fuzzAdmin) in a child process, so a failure of its harness (an
 * unhandled socket error, a hang) is reported here instead of taking the file results down with it.
 */
function adminFuzz(): { admin?: FuzzAdminResult; note: string } {
  const t = performance.now();
  const script = `import { register } from 'tsx/esm/api'; register();
const m = await import('./bench/fuzz-admin.ts');
const r = await m.fuzzAdmin({ requests: ${ADMIN}, seed: ${SEED} });
process.stdout.write('\\nFUZZ-ADMIN ' + JSON.stringify(r) + '\\n');
process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 30 * 60_000,
    maxBuffer: 64 << 20,
  });
  const secs = `${((performance.now() - t) / 1000).toFixed(1)} s`;
  const line = r.stdout.split('\n').find((l) => l.startsWith('FUZZ-ADMIN '));
  if (line) return { admin: JSON.parse(line.slice('FUZZ-ADMIN '.length)) as FuzzAdminResult, note: secs };
  const why = r.error ? r.error.message : (r.stderr.split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.status}`);
  return { note: `the admin fuzz harness failed after ${secs}: ${why.trim()}` };
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e);
    process.exit(1);
  },
);
