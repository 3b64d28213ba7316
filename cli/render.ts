// Text rendering of journals, progress and history for the terminal. Pure: returns strings.
import type { NotifyRecord } from '../experiments/notify.ts';
import {
  revertedByText,
  wardenLine,
  type GuardCoverage,
  type GuardProgress,
  type Journal,
  type ProbeSample,
} from '../experiments/journal.ts';
import { formatMs } from '../faults/duration.ts';
import { budgetText } from '../judge/budget.ts';
import type { GameDayJournal } from '../experiments/gameday-types.ts';
import type { HistoryRow } from './client.ts';

const time = (iso?: string) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

export function sampleLine(s?: ProbeSample): string {
  if (!s) return 'no sample yet';
  return `${s.probe} ${s.ok ? 'ok' : 'FAIL'} · ${s.requests} req · err ${(s.errorRate * 100).toFixed(0)}% · p50 ${s.p50Ms}ms p95 ${s.p95Ms}ms p99 ${s.p99Ms}ms${s.violations.length ? ` · ${s.violations.join('; ')}` : ''}`;
}

export function progressLine(j: Journal | undefined, g: GuardProgress | undefined, nowMs = Date.now()): string {
  if (!j) return 'waiting for a worker to pick the run up…';
  const left =
    j.windowEndsAt && j.phase === 'observing'
      ? ` · ${formatMs(Math.max(0, Date.parse(j.windowEndsAt) - nowMs))} left`
      : '';
  const c = g?.coverage;
  // Live: the gap since the guard's last sample counts even while no guard runs (the heartbeat is its last word).
  const live = c
    ? ` · ${c.taken} of ${Math.max(c.taken, Math.ceil((Math.min(nowMs, c.end) - c.anchor) / c.cadenceMs))} samples due, ${c.onTime} on time, saw ${formatMs(Math.max(0, nowMs - (c.lastSeen ?? c.anchor)))} ago`
    : '';
  const guard =
    j.phase === 'observing' && g
      ? ` · guard #${g.samples}${g.consecutiveFailures ? ` (${g.consecutiveFailures} failing)` : ''}${live}: ${sampleLine(g.last)}`
      : '';
  const x = j.exposure;
  const k = x ? x.steps.findIndex((st) => st.status === 'running') : -1;
  const step = x && k >= 0 ? ` · exposure step ${k + 1} of ${x.steps.length}: ${x.steps[k]?.share}%` : '';
  return `[${j.phase}]${left}${step}${guard}`;
}

/** A progressive exposure, one line per step: its share, hold, status, when it began and ended, and why. */
export function exposureLines(j: Journal): string[] {
  const x = j.exposure;
  if (!x) return [];
  const f = j.faults[x.fault];
  return [
    `  exposure of ${f?.summary ?? `fault ${x.fault}`}:`,
    ...x.steps.map(
      (st, k) =>
        `    step ${k + 1}  ${`${st.share}%`.padEnd(6)} hold ${formatMs(st.holdMs).padEnd(6)} ${st.status.padEnd(11)}${st.startedAt ? ` ${time(st.startedAt)}` : ''}${st.endedAt ? ` → ${time(st.endedAt)}` : ''}${st.note ? `  ${st.note}` : ''}`,
    ),
  ];
}

const pct = (x: number) => `${+(x * 100).toFixed(1)}%`;

/** The guard's coverage in one line, then one per fault window below its share (status and run --wait). */
export function coverageLines(c: GuardCoverage): string[] {
  const lines = [
    `  guard coverage: ${c.taken} of ${c.due} samples due taken, ${c.onTime} on time (±50 ms); longest gap ${formatMs(c.longestGap.ms)} (maxGap ${formatMs(c.maxGapMs)}); watched ${pct(c.share)} of the least-watched window (min ${pct(c.minCoverage)})`,
  ];
  if ((c.slowestSampleMs ?? 0) > c.intervalMs)
    lines.push(
      `    its slowest sample took ${formatMs(c.slowestSampleMs ?? 0)}, longer than the interval: the samples after it were late`,
    );
  if (c.blind)
    lines.push(`    blind: saw nothing for ${formatMs(c.blind.ms)}, ${time(c.blind.from)} to ${time(c.blind.to)}`);
  for (const w of c.windows)
    if (w.share < c.minCoverage) lines.push(`    fault ${w.fault}: watched ${pct(w.share)} of its window`);
  return lines;
}

export function summary(j: Journal, url?: string): string {
  const lines: string[] = [];
  const dur = j.finishedAt ? formatMs(Date.parse(j.finishedAt) - Date.parse(j.startedAt)) : 'running';
  lines.push(`${(j.verdict ?? 'running').toUpperCase()}  ${j.experiment.title}  (${dur})`);
  if (j.reason) lines.push(`  ${j.reason}`);
  lines.push(`  hypothesis: ${j.experiment.hypothesis.statement}`);
  if (j.selection) {
    lines.push(
      `  targets: ${j.selection.selected.map((t) => t.name).join(', ') || 'none'} (of ${j.selection.matched.length} matched, seed ${j.selection.seed}${j.selection.protectedSkipped.length ? `, protected skipped: ${j.selection.protectedSkipped.join(', ')}` : ''})`,
    );
  }
  if (j.faults.length) {
    lines.push('  faults:');
    for (const f of j.faults) {
      lines.push(
        `    ${f.status.padEnd(12)} ${f.summary}  injected ${time(f.injectedAt)}  reverted ${time(f.revertedAt)}${f.revertedBy ? ` ${revertedByText(f.revertedBy)}` : ''}${f.errors.length ? `  errors: ${f.errorCount ?? f.errors.length}` : ''}`,
      );
      if (f.warden) lines.push(`      ${wardenLine(f.warden)}`);
      if (f.revertNote) lines.push(`      ${f.revertNote}`);
    }
  }
  lines.push(...exposureLines(j));
  if (j.stuck)
    lines.push(
      `  REVERT STUCK${j.stuckSince ? ` since ${time(j.stuckSince)}` : ''}: a fault may still be applied; retried with backoff until it is reverted${j.stuckReason ? ` (${j.stuckReason})` : ''}`,
    );
  for (const s of j.steadyStateBefore) lines.push(`  before: ${sampleLine(s)}`);
  if (j.guardSamples.count)
    lines.push(
      `  guard: ${j.guardSamples.count} samples, ${j.guardSamples.failed} failing; worst: ${sampleLine(j.guardSamples.worst)}`,
    );
  if (j.guardSamples.coverage) lines.push(...coverageLines(j.guardSamples.coverage));
  if (j.abort)
    lines.push(
      `  abort: by ${j.abort.by}${j.abort.who ? ` (${j.abort.who})` : ''} at ${time(j.abort.at)}: ${j.abort.reason}`,
    );
  if (j.judge) lines.push(...judgeLines(j));
  if (j.detectToRevertMs !== undefined) lines.push(`  detect → all reverted: ${j.detectToRevertMs} ms`);
  for (const s of j.steadyStateAfter) lines.push(`  after: ${sampleLine(s)}`);
  lines.push(...notifyLines(j.notify));
  lines.push(`  workflow: ${j.workflowId}`);
  if (url) lines.push(`  history: ${url}`);
  return lines.join('\n');
}

/** The judge in a few lines: the score, then each metric's class, events and the ticks it had no data for. */
function judgeLines(j: Journal): string[] {
  const r = j.judge;
  if (!r) return [];
  const pctOf = (a: number, b: number) => (b ? `${Math.round((100 * a) / b)}%` : '-');
  const lines = [`  judge: score ${r.scorecard.score} (${r.scorecard.result})`];
  for (const m of r.metrics) {
    const n = m.tests[0]?.n ?? 0;
    const noData = m.noDataTicks
      ? `, no data ${m.noDataTicks} of ${m.ticks} ticks (${pctOf(m.noDataTicks, m.ticks)}${m.maxNoData !== undefined ? `, at most ${Math.round(m.maxNoData * 100)}%` : ''})`
      : '';
    lines.push(`    ${m.name} (${m.direction}): ${m.classification}, ${n} events${noData}`);
    if (m.slo)
      lines.push(
        `      SLO ${m.slo.name} (${m.slo.file}, objective ${+(m.slo.objective * 100).toPrecision(6)}%): ${budgetText(m.slo)}`,
      );
  }
  return lines;
}

export function historyTable(rows: HistoryRow[]): string {
  if (!rows.length) return 'no experiments yet';
  const head = ['ID', 'EXPERIMENT', 'VERDICT', 'STATUS', 'START', 'DURATION'];
  const body = rows.map((r) => [
    // A game day's children are indented under it (they share its FaultlineGameDay attribute).
    r.kind === 'game day' ? `[game day] ${r.workflowId}` : r.gameDay ? `  ${r.workflowId}` : r.workflowId,
    r.experiment ?? '-',
    r.verdict ?? '-',
    r.stuck ? `${r.status} (revert stuck)` : r.status,
    time(r.start),
    r.durationMs === undefined ? 'running' : formatMs(r.durationMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  return [head, ...body]
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Each step with its own verdict (its status while it has none), its reason and its failure policy's outcome. */
export function renderGameDay(j: GameDayJournal): string {
  const lines = [`${j.title} (${j.workflowId}) · owner ${j.owner}${j.verdict ? ` · ${j.verdict}: ${j.reason}` : ''}`];
  for (const s of j.steps) {
    const f = s.onFailure;
    const policy = f
      ? ` (on failure: ${f.policy}${f.by ? `, ${f.by} said go on` : ''}; ${f.wentOn ? 'went on' : 'stopped'})`
      : '';
    lines.push(
      `  ${(s.verdict ?? s.status).padEnd(11)} ${s.name}${s.reason ? `: ${s.reason}` : ''}${policy}${j.waitingAt === s.name ? `  <- waiting: faultline gameday approve ${j.workflowId} --step ${s.name} --who NAME` : ''}`,
    );
    for (const c of s.children) lines.push(`                ${c.workflowId} ${c.verdict ?? 'running'}`);
  }
  for (const e of j.events)
    lines.push(`  ${e.at} ${e.who} ${e.what}${e.step ? ` [${e.step}]` : ''}${e.text ? `: ${e.text}` : ''}`);
  lines.push(...notifyLines(j.notify));
  if (j.summary) lines.push(j.summary);
  return lines.join('\n');
}

/** The notifications (a run's or a game day's): how many were delivered, and each one given up on (3 at most). */
export function notifyLines(n: NotifyRecord | undefined): string[] {
  if (!n) return [];
  const lines = [`  notifications: ${n.delivered} delivered, ${n.failed.length} given up`];
  for (const f of n.failed.slice(0, 3)) lines.push(`    ${f.receiver} ${f.type} ${f.id}: ${f.error}`);
  if (n.failed.length > 3) lines.push(`    and ${n.failed.length - 3} more (status --json)`);
  return lines;
}
