// Results where CI reads them: a run, or a game day, as JUnit XML (the format every CI system's test
// report reads: GitHub Actions reporters, GitLab, Jenkins). Written with junit-report-builder.
//
// An experiment is one test case: its hypothesis. `passed` passes; `refuted` and `aborted` are failures (the
// hypothesis did not hold); `not-started`, `failed` and `inconclusive` are errors (nobody could say whether it
// holds), so none of them reads as a pass, and a pipeline fails on each. A game day is a suite with one test
// case per step (notes and skipped steps are skipped test cases; a step that never ran because the game day
// stopped is an error), each with the step's own verdict.
import { accessSync, constants, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import junitExport from 'junit-report-builder';
import type { Builder, TestCase } from 'junit-report-builder';
import type { Journal, Verdict } from '../experiments/journal.ts';
import type { GameDayJournal } from '../experiments/gameday-types.ts';

/**
 * The package's CommonJS export is the builder itself (Node's default import), its types describe an ES
 * default export (what a bundler resolving its `module` build gets): either way, the builder.
 */
const junit = ((junitExport as unknown as { default?: Builder }).default ?? junitExport) as unknown as Builder;

const seconds = (from?: string, to?: string): number | undefined =>
  from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : undefined;

/** How a verdict reads in JUnit: a pass, a failure (the hypothesis did not hold) or an error (no answer). */
export function junitOutcome(v: Verdict | undefined): 'pass' | 'failure' | 'error' {
  if (v === 'passed') return 'pass';
  if (v === 'refuted' || v === 'aborted') return 'failure';
  return 'error';
}

function mark(tc: TestCase, verdict: Verdict | undefined, reason: string | undefined): void {
  const outcome = junitOutcome(verdict);
  const message = `${verdict ?? 'no verdict'}${reason ? `: ${reason}` : ''}`;
  if (outcome === 'failure') tc.failure(message, verdict);
  else if (outcome === 'error') tc.error(message, verdict ?? 'no-verdict');
}

function experimentCase(b: Builder, j: Journal): void {
  const suite = b.testSuite().name(j.experiment.title).timestamp(j.startedAt);
  const t = seconds(j.startedAt, j.finishedAt);
  if (t !== undefined) suite.time(t);
  suite
    .property('faultline.workflowId', j.workflowId)
    .property('faultline.runId', j.runId)
    .property('faultline.verdict', j.verdict ?? 'none');
  if (j.file) suite.property('faultline.file', j.file);
  const tc = suite.testCase().className(`faultline.${j.experiment.title}`).name(j.experiment.hypothesis.statement);
  if (t !== undefined) tc.time(t);
  if (j.file) tc.file(j.file);
  mark(tc, j.verdict, j.reason);
  const faults = j.faults.map(
    (f) =>
      `${f.summary}: ${f.revertedAt ? `reverted ${f.revertedAt}${f.revertedBy ? ` by ${f.revertedBy}` : ''}` : f.status}`,
  );
  tc.standardOutput(
    [
      `verdict: ${j.verdict ?? 'none'}${j.reason ? ` (${j.reason})` : ''}`,
      `workflow: ${j.workflowId} run ${j.runId}`,
      `guard: ${j.guardSamples.count} samples, ${j.guardSamples.failed} failing`,
      ...(faults.length ? ['faults:', ...faults.map((f) => `  ${f}`)] : []),
    ].join('\n'),
  );
}

/** One run as JUnit XML: one suite, one test case (its hypothesis). */
export function runJunit(j: Journal): string {
  const b = junit.newBuilder().name('faultline');
  experimentCase(b, j);
  return b.build();
}

/** A game day as JUnit XML: one suite, one test case per step, each with its own verdict. */
export function gameDayJunit(g: GameDayJournal): string {
  const b = junit.newBuilder().name('faultline');
  const suite = b.testSuite().name(g.title).timestamp(g.startedAt);
  const t = seconds(g.startedAt, g.finishedAt);
  if (t !== undefined) suite.time(t);
  suite.property('faultline.workflowId', g.workflowId).property('faultline.verdict', g.verdict ?? 'none');
  for (const s of g.steps) {
    const tc = suite.testCase().className(`faultline.gameday.${g.title}`).name(`${s.name} (${s.kind})`);
    const st = seconds(s.startedAt, s.finishedAt);
    if (st !== undefined) tc.time(st);
    if (s.kind === 'note' || s.status === 'skipped') tc.skipped();
    else if (s.verdict) mark(tc, s.verdict, s.reason);
    else
      tc.error(
        `${s.status}: the step has no verdict${g.verdict ? ` (the game day ended ${g.verdict}${g.reason ? `: ${g.reason}` : ''})` : ''}`,
        'no-verdict',
      );
    const children = s.children.map(
      (c) => `${c.title} (${c.workflowId}): ${c.verdict ?? 'no verdict'}${c.reason ? `: ${c.reason}` : ''}`,
    );
    if (children.length) tc.standardOutput(children.join('\n'));
  }
  return b.build();
}

/** Writes XML to file (its folder made); returns the absolute path. */
export function writeJunit(xml: string, file: string): string {
  const out = path.resolve(file);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, xml);
  return out;
}

/**
 * Why file cannot take the JUnit XML (checked before a run starts, so a typo costs no run): a folder, or a
 * folder that cannot be made or written. Undefined when it can.
 */
export function junitPathProblem(file: string): string | undefined {
  const out = path.resolve(file);
  if (existsSync(out) && statSync(out).isDirectory()) return `${file} is a folder`;
  let dir = path.dirname(out);
  while (!existsSync(dir)) dir = path.dirname(dir); // the nearest folder that exists must be writable
  if (!statSync(dir).isDirectory()) return `${dir} is not a folder`;
  try {
    accessSync(existsSync(out) ? out : dir, constants.W_OK);
  } catch {
    return `${existsSync(out) ? out : dir} is not writable`;
  }
  return undefined;
}
