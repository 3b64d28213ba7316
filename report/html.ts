// One self-contained HTML report of a run, rendered from its journal. Pure: the caller passes Chart.js's
// UMD source (read from node_modules), which is inlined, so the file needs no network to be viewed.
// Charts: each judged metric's bad-event rate against its null rate (control-group mode: both groups side
// by side and the allowed multiple of the control) and its e-value against the abort threshold; each probe
// over time (guard series, steady state before and after). Fault windows are shaded, the abort is a red
// line. A game day's report is its timeline (steps, approvals, notes, aborts) and every child run's section.
import { revertedByText, wardenLine, type Journal } from '../experiments/journal.ts';
import type { GameDayJournal } from '../experiments/gameday-types.ts';
import { formatMs } from '../faults/duration.ts';

export interface ChartSpec {
  id: string;
  title: string;
  yLabel: string;
  logY?: boolean;
  datasets: { label: string; points: { x: number; y: number }[]; color: string; dashed?: boolean; step?: boolean }[];
  /** Shaded spans (fault windows) and the abort line, in the chart's x units; set by the section. */
  windows?: { from: number; to: number; label: string }[];
  abortAt?: number | null;
  xmin?: number;
  xmax?: number;
  /** Category labels of the y axis (the game day's timeline: one row per step). */
  yLabels?: string[];
}

const esc = (s: unknown) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, ' ');

const COLORS = ['#2563eb', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2'];

/** Seconds since the run started. */
function sec(j: Journal, iso: string | number): number {
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  return Math.round((t - Date.parse(j.startedAt)) / 100) / 10;
}

export function chartsFor(j: Journal, prefix = ''): ChartSpec[] {
  const charts: ChartSpec[] = [];
  for (const [k, m] of (j.judge?.metrics ?? []).entries()) {
    const buckets = m.series.buckets;
    const rate = buckets
      .filter((b) => (b.v.events ?? 0) > 0)
      .map((b) => ({ x: sec(j, b.t), y: (b.v.bad ?? 0) / (b.v.events as number) }));
    const up = m.tests.find((t) => t.dir === 'up');
    const groups = m.tests[0]?.groups;
    const ends = buckets.length ? [sec(j, buckets[0]!.t), sec(j, buckets[buckets.length - 1]!.t)] : [];
    const datasets: ChartSpec['datasets'] = [
      {
        label: `${m.name}: ${groups ? 'experiment group' : 'bad-event rate per bucket'}`,
        points: rate,
        color: groups ? '#dc2626' : (COLORS[k % COLORS.length] as string),
      },
    ];
    if (groups) {
      const ctl = buckets.filter((b) => (b.v.cEvents ?? 0) > 0);
      datasets.push(
        {
          label: 'control group',
          points: ctl.map((b) => ({ x: sec(j, b.t), y: (b.v.cBad ?? 0) / (b.v.cEvents as number) })),
          color: '#2563eb',
        },
        {
          label: `allowed: ${groups.allowedRatio} x control`,
          points: ctl.map((b) => ({
            x: sec(j, b.t),
            y: Math.min(1, (groups.allowedRatio * (b.v.cBad ?? 0)) / (b.v.cEvents as number)),
          })),
          color: '#6b7280',
          dashed: true,
        },
      );
    } else if (up && ends.length)
      datasets.push({
        label: 'null rate p0',
        points: ends.map((x) => ({ x, y: up.p0 })),
        color: '#6b7280',
        dashed: true,
      });
    if (m.baseline && ends.length && !groups)
      datasets.push({
        label: 'baseline rate',
        points: ends.map((x) => ({ x, y: m.baseline!.rate })),
        color: '#9ca3af',
        dashed: true,
      });
    charts.push({
      id: `${prefix}rate-${k}`,
      title: `${m.name} (${m.classification})${groups ? ': experiment and control groups' : ''}`,
      yLabel: 'bad-event rate',
      datasets,
    });
    const e = buckets
      .filter((b) => b.v.logE !== undefined)
      .map((b) => ({ x: sec(j, b.t), y: Math.exp(b.v.logE as number) }));
    charts.push({
      id: `${prefix}e-${k}`,
      title: `${m.name}: e-value against the abort threshold ${j.judge!.threshold.toFixed(0)}`,
      yLabel: 'e-value (log)',
      logY: true,
      datasets: [
        { label: `${m.name}: E`, points: e, color: '#dc2626', step: true },
        {
          label: 'threshold m/alpha',
          points: ends.map((x) => ({ x, y: j.judge!.threshold })),
          color: '#111827',
          dashed: true,
        },
      ],
    });
  }
  const probes = [
    ...new Set([
      ...j.steadyStateBefore.map((s) => s.probe),
      ...Object.keys(j.guardSeries ?? {}),
      ...j.steadyStateAfter.map((s) => s.probe),
    ]),
  ];
  probes.forEach((name, k) => {
    const color = COLORS[k % COLORS.length] as string;
    const samples = [...j.steadyStateBefore, ...j.steadyStateAfter].filter((s) => s.probe === name);
    const series = j.guardSeries?.[name];
    const guardErr = (series?.buckets ?? []).map((b) => ({ x: sec(j, b.t), y: b.v.errorRate ?? 0 }));
    const guardP95 = (series?.buckets ?? []).map((b) => ({ x: sec(j, b.t), y: b.v.p95Ms ?? 0 }));
    const g = j.guardSamples;
    for (const s of [g.first, g.worst, g.last]) if (s?.probe === name && !series) samples.push(s);
    samples.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    charts.push({
      id: `${prefix}probe-err-${k}`,
      title: `probe ${name}: error rate`,
      yLabel: 'error rate',
      datasets: [
        { label: 'guard (max per bucket)', points: guardErr, color },
        {
          label: 'steady state checks',
          points: samples.map((s) => ({ x: sec(j, s.at), y: s.errorRate })),
          color: '#111827',
        },
      ],
    });
    if (samples.some((s) => s.p95Ms > 0) || guardP95.some((p) => p.y > 0))
      charts.push({
        id: `${prefix}probe-p95-${k}`,
        title: `probe ${name}: p95 latency`,
        yLabel: 'ms',
        datasets: [
          { label: 'guard (max per bucket)', points: guardP95, color },
          {
            label: 'steady state checks',
            points: samples.map((s) => ({ x: sec(j, s.at), y: s.p95Ms })),
            color: '#111827',
          },
        ],
      });
  });
  // Each chart carries its run's marks and x range, so several runs can share one page (game days).
  const windows = faultWindows(j);
  const abortAt = j.abort ? sec(j, j.abort.at) : null;
  const xs = charts.flatMap((c) => c.datasets.flatMap((d) => d.points.map((p) => p.x)));
  const all = xs.concat(windows.flatMap((w) => [w.from, w.to]));
  const xmin = Math.min(0, ...all);
  const xmax = Math.max(1, ...all);
  return charts.map((c) => ({ ...c, windows, abortAt, xmin, xmax }));
}

function faultWindows(j: Journal): { from: number; to: number; label: string }[] {
  const end = j.finishedAt ?? new Date().toISOString();
  return j.faults
    .filter((f) => f.injectedAt)
    .map((f) => ({ from: sec(j, f.injectedAt as string), to: sec(j, f.revertedAt ?? end), label: f.summary }));
}

const fmt = (v: number | undefined, digits = 4) =>
  v === undefined || !Number.isFinite(v)
    ? '–'
    : Math.abs(v) >= 1e6
      ? v.toExponential(2)
      : String(+v.toPrecision(digits));

/** Whether a metric had no data for more than its maxNoData share of the ticks (what makes a run inconclusive). */
const noDataOver = (m: { ticks: number; noDataTicks: number; maxNoData?: number }) =>
  m.maxNoData !== undefined && m.ticks > 0 && m.noDataTicks / m.ticks > m.maxNoData;

function judgeSection(j: Journal): string {
  const r = j.judge;
  if (!r) return '';
  const rows = r.metrics
    .flatMap((m) =>
      m.tests.map(
        (
          t,
        ) => `<tr><td>${esc(m.name)}${t.dir === 'down' ? ' (decrease)' : ''}</td><td>${esc(m.group)}${m.critical ? ' · critical' : ''}</td>
<td class="c-${esc(m.classification)}">${esc(m.classification)}</td>
<td>${m.baseline ? `${m.baseline.x}/${m.baseline.n} = ${fmt(m.baseline.rate)} (upper ${fmt(m.baseline.upper)})` : '–'}</td>
<td>${t.dir === 'down' ? `bad rate ≥ ${fmt(1 - t.p0)}` : fmt(t.p0)}</td><td>${t.n}</td><td>${t.x}</td><td>${fmt(t.e)}</td><td>${fmt(t.pAnytime)}</td><td>${fmt(t.upper)}</td>
<td>${t.crossedAt ? `${sec(j, t.crossedAt)} s` : '–'}</td><td${noDataOver(m) ? ' class="c-nodata"' : ''}>${m.noDataTicks}/${m.ticks}${m.maxNoData !== undefined ? ` (max ${fmt(m.maxNoData * 100, 3)}%)` : ''}</td></tr>`,
      ),
    )
    .join('\n');
  const s = r.scorecard;
  const cg = j.controlGroup;
  const groupRows = r.metrics
    .flatMap((m) =>
      m.tests
        .filter((t) => t.groups)
        .map((t) => {
          const g = t.groups!;
          return `<tr><td>${esc(m.name)}${t.dir === 'down' ? ' (decrease)' : ''}</td><td>${g.experiment.x}/${g.experiment.n} = ${fmt(g.experiment.rate)}</td><td>${g.control.x}/${g.control.n} = ${fmt(g.control.rate)}</td><td>${g.ratio === null ? '∞' : fmt(g.ratio)}</td><td>${fmt(g.allowedRatio)}</td><td>${fmt(t.e)}</td><td>${fmt(t.pAnytime)}</td><td>${t.crossedAt ? `${sec(j, t.crossedAt)} s` : '–'}</td></tr>`;
        }),
    )
    .join('\n');
  const sloRows = r.metrics
    .filter((m) => m.slo)
    .map((m) => {
      const b = m.slo!;
      return `<tr><td>${esc(m.name)}</td><td>${esc(b.name)} (${esc(b.format)}, ${esc(b.file)})</td><td>${fmt(b.objective * 100, 4)}% over ${esc(b.window)}</td><td>${b.errors}/${b.events} in ${fmt(b.judgedMs / 1000, 3)} s</td><td class="${b.burnRate > b.maxBurnRate ? 'c-fail' : 'c-pass'}">${fmt(b.burnRate, 3)}× (allowed ${fmt(b.maxBurnRate, 3)}×)</td><td>${fmt(b.burnRateUpper, 3)}×</td><td>${fmt(b.budgetBurned * 100, 3)}%</td></tr>`;
    })
    .join('\n');
  const sloTable = sloRows
    ? `<h3>Error budgets (SLO files)</h3><p>The burn rate is the error rate over the rate the objective allows (1 − objective); the budget burned is the share of the SLO window's budget the judged errors spent (burn rate × judged time / window).</p>
<table class="slo"><thead><tr><th>metric</th><th>SLO</th><th>objective</th><th>errors/events</th><th>burn rate</th><th>burn rate upper bound</th><th>budget burned</th></tr></thead>
<tbody>${sloRows}</tbody></table>`
    : '';
  const groupsTable = groupRows
    ? `<h3>Control group (same ticks)</h3><p>experiment group: <b>${esc(cg?.experiment.join(', ') ?? '?')}</b> · control group: <b>${esc(cg?.control.join(', ') ?? '?')}</b></p>
<table class="groups"><thead><tr><th>metric</th><th>experiment X/N = rate</th><th>control X/N = rate</th><th>ratio</th><th>allowed ratio</th><th>E</th><th>anytime p</th><th>crossed</th></tr></thead>
<tbody>${groupRows}</tbody></table>`
    : '';
  return `<h2>Judge</h2>
<p>Score <b>${fmt(s.score)}</b> → <b class="c-${esc(s.result)}">${esc(s.result)}</b>${
    s.criticalFailed.length ? ` (critical metric failed: ${esc(s.criticalFailed.join(', '))})` : ''
  }; abort threshold m/alpha = ${fmt(r.threshold)} (alpha ${r.alpha}).${r.abort ? ` Aborted at ${sec(j, r.abort.at)} s: ${esc(r.abort.reason)}` : ''}</p>
<table><thead><tr><th>metric</th><th>group</th><th>class</th><th>baseline bad/events</th><th>p0</th><th>N</th><th>X</th><th>E</th><th>anytime p</th><th>rate upper bound</th><th>crossed</th><th>no-data ticks</th></tr></thead>
<tbody>${rows}</tbody></table>${sloTable}${groupsTable}`;
}

/** The guard's coverage: the schedule against what was taken, the longest gap, each window's watched share. */
function coverageSection(j: Journal): string {
  const c = j.guardSamples.coverage;
  if (!c) return '';
  const pct = (x: number) => `${+(x * 100).toFixed(1)}%`;
  const ms = (x: number) => (x < 1000 ? `${Math.round(x)} ms` : `${+(x / 1000).toFixed(2)} s`);
  const low = (share: number) => (share < c.minCoverage ? ' class="c-fail"' : ' class="c-pass"');
  const windows = c.windows
    .map(
      (w) =>
        `<tr><td>${esc(j.faults[w.fault]?.summary ?? `fault ${w.fault}`)}</td><td>${sec(j, w.from)} s</td><td>${sec(j, w.to)} s</td><td>${ms(w.watchedMs)}</td><td${low(w.share)}>${pct(w.share)}</td></tr>`,
    )
    .join('\n');
  const gapLine = (g: { ms: number; from: string; to: string }) =>
    `${ms(g.ms)} (${sec(j, g.from)} s to ${sec(j, g.to)} s)`;
  return `<h2>Guard coverage</h2>
<p>A sample due every ${ms(c.intervalMs)} from ${sec(j, c.from)} s to ${sec(j, c.to)} s: <b>${c.taken}</b> of <b>${c.due}</b> due taken${
    c.due ? ` (${pct(c.taken / c.due)})` : ''
  }, <b>${c.onTime}</b> on time (within 50 ms); longest gap ${gapLine(c.longestGap)}, guard.maxGap ${ms(c.maxGapMs)}; guard.minCoverage ${pct(c.minCoverage)}.${
    c.blind ? ` <b class="c-fail">Blind: the guard saw nothing for ${gapLine(c.blind)}.</b>` : ''
  }</p>
<table class="coverage"><thead><tr><th>fault window</th><th>from</th><th>to</th><th>watched</th><th>share</th></tr></thead><tbody>${windows}</tbody></table>`;
}

/**
 * A progressive exposure: each step with its share, hold, status, span and what the judge saw while it was in
 * effect (events and bad events of each judged metric's series buckets within the step, its largest e-value).
 */
function exposureSection(j: Journal): string {
  const x = j.exposure;
  if (!x) return '';
  const metrics = j.judge?.metrics ?? [];
  const rows = x.steps
    .map((st, k) => {
      const from = st.startedAt ? Date.parse(st.startedAt) : undefined;
      const to = st.endedAt ? Date.parse(st.endedAt) : from;
      const seen = metrics.map((m) => {
        const bs = m.series.buckets.filter((b) => from !== undefined && to !== undefined && b.t >= from && b.t < to);
        const sum = (f: string) => bs.reduce((a, b) => a + (b.v[f] ?? 0), 0);
        const maxLogE = Math.max(-Infinity, ...bs.map((b) => b.v.maxLogE ?? -Infinity));
        return `${esc(m.name)}: ${sum('bad')}/${sum('events')} bad, max E ${Number.isFinite(maxLogE) ? fmt(Math.exp(maxLogE)) : '–'}`;
      });
      const cls = st.status === 'passed' ? 'c-pass' : st.status === 'failed' ? 'c-fail' : '';
      return `<tr><td>${k + 1}</td><td>${st.share}%</td><td>${esc(formatMs(st.holdMs))}</td><td class="${cls}">${esc(st.status)}</td><td>${st.startedAt ? `${sec(j, st.startedAt)} s` : '–'}</td><td>${st.endedAt ? `${sec(j, st.endedAt)} s` : '–'}</td><td>${seen.join('<br>') || '–'}</td><td>${esc(st.note ?? '')}</td></tr>`;
    })
    .join('\n');
  return `<h2>Progressive exposure</h2>
<p>${esc(j.faults[x.fault]?.summary ?? '')}: each step judged by the e-process before the next began.</p>
<table class="exposure"><thead><tr><th>step</th><th>share</th><th>hold</th><th>status</th><th>from</th><th>to</th><th>judge during the step</th><th>note</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** One run's sections (header, faults, judge, charts), its chart ids prefixed so several share a page. */
export function runSection(j: Journal, prefix = '', heading = 'h1'): { html: string; charts: ChartSpec[] } {
  const charts = chartsFor(j, prefix);
  const faults = j.faults
    .map(
      (f) =>
        `<tr><td>${esc(f.summary)}</td><td>${esc(f.status)}</td><td>${f.injectedAt ? `${sec(j, f.injectedAt)} s` : '–'}</td><td>${f.revertedAt ? `${sec(j, f.revertedAt)} s` : '–'}${f.revertedBy ? ` <small>${esc(revertedByText(f.revertedBy))}</small>` : ''}${f.warden ? ` <small>(${esc(wardenLine(f.warden))})</small>` : ''}</td></tr>`,
    )
    .join('\n');
  const html = `<${heading}>${esc(j.experiment.title)}</${heading}>
<p><span class="verdict v-${esc(j.verdict ?? 'running')}">${esc(j.verdict ?? j.phase)}</span> ${esc(j.reason ?? '')}</p>
<p><b>Hypothesis:</b> ${esc(j.experiment.hypothesis.statement)}</p>
<p class="muted">${esc(j.workflowId)} · started ${esc(j.startedAt)}${j.finishedAt ? ` · finished ${esc(j.finishedAt)}` : ''}${
    j.detectToRevertMs !== undefined ? ` · detect → reverted ${j.detectToRevertMs} ms` : ''
  } · times on the charts are seconds since the start; shaded: fault windows; red line: abort</p>
<h2>Faults</h2>
<table><thead><tr><th>fault</th><th>status</th><th>injected</th><th>reverted</th></tr></thead><tbody>${faults}</tbody></table>
${exposureSection(j)}
${coverageSection(j)}
${judgeSection(j)}
<h2>Over time</h2>
<div class="grid">${charts.map((c) => `<div class="chart"><canvas id="${esc(c.id)}"></canvas></div>`).join('')}</div>`;
  return { html, charts };
}

export function renderReport(j: Journal, chartJs: string): string {
  const { html, charts } = runSection(j);
  return page(`Faultline report: ${j.experiment.title}`, html, charts, chartJs);
}

/** A game day: its timeline (steps, approvals, notes, skips, aborts) and every child run's section. */
export function renderGameDayReport(
  g: GameDayJournal,
  children: Record<string, Journal | undefined>,
  chartJs: string,
): string {
  const t0 = Date.parse(g.startedAt);
  const s = (iso: string) => Math.round((Date.parse(iso) - t0) / 100) / 10;
  const end = g.finishedAt ?? new Date().toISOString();
  const steps = g.steps
    .map(
      (
        st,
      ) => `<tr><td>${esc(st.name)}</td><td>${esc(st.kind)}</td><td>${st.verdict ? `<span class="verdict v-${esc(st.verdict)}">${esc(st.verdict)}</span>` : '–'}</td><td class="s-${esc(st.status)}">${esc(st.status)}</td>
<td>${st.startedAt ? `${s(st.startedAt)} s` : '–'}</td><td>${st.finishedAt ? `${s(st.finishedAt)} s` : '–'}</td>
<td>${st.children.map((c) => `<a href="#run-${esc(c.workflowId)}">${esc(c.title)}</a>: <span class="v-text-${esc(c.verdict ?? 'running')}">${esc(c.verdict ?? 'running')}</span>`).join('<br>') || '–'}</td>
<td>${esc(st.reason ?? '')}${st.onFailure ? esc(`; on failure: ${st.onFailure.policy}${st.onFailure.by ? `, ${st.onFailure.by} said go on` : ''}, ${st.onFailure.wentOn ? 'went on' : 'stopped'}`) : ''}</td></tr>`,
    )
    .join('\n');
  const events = g.events
    .map(
      (e) =>
        `<tr><td>${s(e.at)} s</td><td>${esc(e.what)}</td><td>${esc(e.who)}</td><td>${esc(e.step ?? '')}</td><td>${esc(e.text ?? '')}</td></tr>`,
    )
    .join('\n');
  // The timeline: one row per step, a bar from its start to its end; approvals, notes, skips and aborts
  // as points on the row of their step (or the top row).
  const rows = g.steps.map((st) => st.name);
  const statusColor: Record<string, string> = {
    passed: '#059669',
    done: '#059669',
    failed: '#dc2626',
    aborted: '#d97706',
    skipped: '#9ca3af',
    running: '#2563eb',
    waiting: '#7c3aed',
    pending: '#9ca3af',
  };
  const eventColor: Record<string, string> = { approve: '#059669', note: '#2563eb', skip: '#6b7280', abort: '#dc2626' };
  const datasets: ChartSpec['datasets'] = g.steps
    .filter((st) => st.startedAt)
    .map((st) => ({
      label: `${st.name}: ${st.verdict ?? st.status}`,
      points: [
        { x: s(st.startedAt as string), y: rows.indexOf(st.name) },
        { x: s(st.finishedAt ?? end), y: rows.indexOf(st.name) },
      ],
      color: statusColor[st.status] ?? '#6b7280',
    }));
  for (const what of ['approve', 'note', 'skip', 'abort'] as const) {
    const pts = g.events
      .filter((e) => e.what === what)
      .map((e) => ({ x: s(e.at), y: Math.max(0, e.step ? rows.indexOf(e.step) : 0) }));
    if (pts.length) datasets.push({ label: what, points: pts, color: eventColor[what] as string, dashed: true });
  }
  const abort = g.events.find((e) => e.what === 'abort');
  const timeline: ChartSpec = {
    id: 'gameday-timeline',
    title: `${g.title}: steps and events (seconds since the game day started)`,
    yLabel: 'step',
    yLabels: rows,
    datasets,
    windows: [],
    abortAt: abort ? s(abort.at) : null,
    xmin: 0,
    xmax: Math.max(1, s(end)),
  };
  const runs = g.steps.flatMap((st) => st.children).map((c, i) => ({ c, j: children[c.workflowId], i }));
  const sections = runs.map(({ c, j, i }) => {
    if (!j)
      return {
        html: `<h2 id="run-${esc(c.workflowId)}">${esc(c.title)}</h2><p class="muted">${esc(c.workflowId)}: no journal (${esc(c.verdict ?? 'not found')})</p>`,
        charts: [] as ChartSpec[],
      };
    const r = runSection(j, `run${i}-`, 'h2');
    return { html: `<section class="run" id="run-${esc(c.workflowId)}">${r.html}</section>`, charts: r.charts };
  });
  const html = `<h1>Game day: ${esc(g.title)}</h1>
<p><span class="verdict v-${esc(g.verdict ?? 'running')}">${esc(g.verdict ?? 'running')}</span> ${esc(g.reason ?? '')}</p>
<p class="muted">${esc(g.workflowId)} · owner ${esc(g.owner)} · approvers ${esc(g.approvers.join(', ') || '–')} · observers ${esc(g.observers.join(', ') || '–')} · started ${esc(g.startedAt)}${g.finishedAt ? ` · finished ${esc(g.finishedAt)}` : ''}</p>
${g.summary ? `<p>${esc(g.summary)}</p>` : ''}
<h2>Timeline</h2>
<div class="chart wide"><canvas id="gameday-timeline"></canvas></div>
<table><thead><tr><th>step</th><th>kind</th><th>verdict</th><th>status</th><th>started</th><th>finished</th><th>runs</th><th>why</th></tr></thead><tbody>${steps}</tbody></table>
<h2>Approvals, notes, skips, aborts</h2>
${events ? `<table><thead><tr><th>at</th><th>what</th><th>who</th><th>step</th><th>text</th></tr></thead><tbody>${events}</tbody></table>` : '<p class="muted">none</p>'}
${sections.map((x) => x.html).join('\n')}`;
  return page(`Faultline game day report: ${g.title}`, html, [timeline, ...sections.flatMap((x) => x.charts)], chartJs);
}

function page(title: string, body: string, charts: ChartSpec[], chartJs: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#111827;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:18px 0 6px}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.v-passed{background:#059669}.v-refuted,.v-failed{background:#dc2626}.v-aborted{background:#d97706}.v-not-started{background:#6b7280}.v-inconclusive{background:#7c3aed}.v-running{background:#2563eb}
.v-text-passed{color:#059669}.v-text-refuted,.v-text-failed{color:#dc2626}.v-text-aborted{color:#d97706}.v-text-inconclusive{color:#7c3aed}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #e5e7eb;padding:4px 6px;text-align:left}
.c-high,.c-low,.c-fail{color:#dc2626;font-weight:600}.c-pass{color:#059669;font-weight:600}.c-marginal,.c-nodata{color:#d97706}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}.chart{border:1px solid #e5e7eb;border-radius:6px;padding:8px;height:260px}
.chart.wide{height:220px}section.run{border-top:3px solid #e5e7eb;margin-top:32px}
.muted{color:#6b7280}
</style></head><body>
${body}
<script>${chartJs.replace(/<\/script/gi, '<\\/script')}</script>
<script type="application/json" id="faultline-charts">${scriptJson({ charts })}</script>
<script>
(() => {
  const data = JSON.parse(document.getElementById('faultline-charts').textContent);
  // Shades a chart's fault windows and marks its abort, behind the data.
  const marks = (c) => ({
    id: 'faultlineMarks',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea: a, scales: { x } } = chart;
      ctx.save();
      ctx.fillStyle = 'rgba(220, 38, 38, 0.08)';
      for (const w of c.windows || []) {
        const l = Math.max(a.left, x.getPixelForValue(w.from)), r = Math.min(a.right, x.getPixelForValue(w.to));
        if (r > l) ctx.fillRect(l, a.top, r - l, a.bottom - a.top);
      }
      if (c.abortAt !== null && c.abortAt !== undefined) {
        const px = x.getPixelForValue(c.abortAt);
        ctx.strokeStyle = '#dc2626'; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(px, a.top); ctx.lineTo(px, a.bottom); ctx.stroke();
      }
      ctx.restore();
    },
  });
  window.faultlineCharts = data.charts.map((c) => new Chart(document.getElementById(c.id), {
    type: 'line',
    data: { datasets: c.datasets.map((d) => ({
      label: d.label, data: d.points, borderColor: d.color, backgroundColor: d.color,
      borderDash: d.dashed ? [6, 4] : [], stepped: d.step ? 'before' : false,
      pointRadius: c.yLabels ? (d.dashed ? 9 : 3) : d.points.length > 60 ? 0 : 2,
      borderWidth: c.yLabels ? (d.dashed ? 0 : 10) : 1.5, showLine: !(c.yLabels && d.dashed),
      // the timeline's events: diamonds drawn over the step bars
      ...(c.yLabels && d.dashed ? { pointStyle: 'rectRot', order: -1, pointBorderColor: '#fff', pointBorderWidth: 2 } : {}),
    })) },
    options: {
      animation: false, maintainAspectRatio: false, parsing: false, normalized: true,
      plugins: { title: { display: true, text: c.title }, legend: { labels: { boxWidth: 12 } } },
      scales: {
        x: { type: 'linear', min: c.xmin, max: c.xmax, title: { display: true, text: 'seconds since start' } },
        y: c.yLabels
          ? { type: 'linear', reverse: true, min: -0.5, max: c.yLabels.length - 0.5,
              // one tick per step, on its row (the half-row margins would otherwise take the ticks)
              afterBuildTicks: (axis) => { axis.ticks = c.yLabels.map((_, i) => ({ value: i })); },
              ticks: { autoSkip: false, callback: (v) => c.yLabels[v] ?? '' } }
          : { type: c.logY ? 'logarithmic' : 'linear', title: { display: true, text: c.yLabel }, ...(c.logY ? {} : { beginAtZero: true }) },
      },
    },
    plugins: [marks(c)],
  }));
})();
</script>
</body></html>
`;
}
