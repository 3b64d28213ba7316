// One self-contained HTML report of a run, rendered from its journal. Pure: the caller passes Chart.js's
// UMD source (read from node_modules), which is inlined, so the file needs no network to be viewed.
// Charts: each judged metric's bad-event rate against its null rate and its e-value against the abort
// threshold; each probe over time (guard series, steady state before and after). Fault windows are
// shaded, the abort is a red line.
import { wardenLine, type Journal } from '../experiments/journal.ts';

export interface ChartSpec {
  id: string;
  title: string;
  yLabel: string;
  logY?: boolean;
  datasets: { label: string; points: { x: number; y: number }[]; color: string; dashed?: boolean; step?: boolean }[];
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

export function chartsFor(j: Journal): ChartSpec[] {
  const charts: ChartSpec[] = [];
  for (const [k, m] of (j.judge?.metrics ?? []).entries()) {
    const buckets = m.series.buckets;
    const rate = buckets
      .filter((b) => (b.v.events ?? 0) > 0)
      .map((b) => ({ x: sec(j, b.t), y: (b.v.bad ?? 0) / (b.v.events as number) }));
    const up = m.tests.find((t) => t.dir === 'up');
    const ends = buckets.length ? [sec(j, buckets[0]!.t), sec(j, buckets[buckets.length - 1]!.t)] : [];
    const datasets: ChartSpec['datasets'] = [
      { label: `${m.name}: bad-event rate per bucket`, points: rate, color: COLORS[k % COLORS.length] as string },
    ];
    if (up && ends.length)
      datasets.push({
        label: 'null rate p0',
        points: ends.map((x) => ({ x, y: up.p0 })),
        color: '#6b7280',
        dashed: true,
      });
    if (m.baseline && ends.length)
      datasets.push({
        label: 'baseline rate',
        points: ends.map((x) => ({ x, y: m.baseline!.rate })),
        color: '#9ca3af',
        dashed: true,
      });
    charts.push({ id: `rate-${k}`, title: `${m.name} (${m.classification})`, yLabel: 'bad-event rate', datasets });
    const e = buckets
      .filter((b) => b.v.logE !== undefined)
      .map((b) => ({ x: sec(j, b.t), y: Math.exp(b.v.logE as number) }));
    charts.push({
      id: `e-${k}`,
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
      id: `probe-err-${k}`,
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
        id: `probe-p95-${k}`,
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
  return charts;
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
<td>${fmt(t.p0)}</td><td>${t.n}</td><td>${t.x}</td><td>${fmt(t.e)}</td><td>${fmt(t.pAnytime)}</td><td>${fmt(t.upper)}</td>
<td>${t.crossedAt ? `${sec(j, t.crossedAt)} s` : '–'}</td></tr>`,
      ),
    )
    .join('\n');
  const s = r.scorecard;
  return `<h2>Judge</h2>
<p>Score <b>${fmt(s.score)}</b> → <b class="c-${esc(s.result)}">${esc(s.result)}</b>${
    s.criticalFailed.length ? ` (critical metric failed: ${esc(s.criticalFailed.join(', '))})` : ''
  }; abort threshold m/alpha = ${fmt(r.threshold)} (alpha ${r.alpha}).${r.abort ? ` Aborted at ${sec(j, r.abort.at)} s: ${esc(r.abort.reason)}` : ''}</p>
<table><thead><tr><th>metric</th><th>group</th><th>class</th><th>baseline bad/events</th><th>p0</th><th>N</th><th>X</th><th>E</th><th>anytime p</th><th>rate upper bound</th><th>crossed</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

export function renderReport(j: Journal, chartJs: string): string {
  const charts = chartsFor(j);
  const windows = faultWindows(j);
  const abortAt = j.abort ? sec(j, j.abort.at) : null;
  const faults = j.faults
    .map(
      (f) =>
        `<tr><td>${esc(f.summary)}</td><td>${esc(f.status)}</td><td>${f.injectedAt ? `${sec(j, f.injectedAt)} s` : '–'}</td><td>${f.revertedAt ? `${sec(j, f.revertedAt)} s` : '–'}${f.warden ? ` <small>(${esc(wardenLine(f.warden))})</small>` : ''}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Faultline report: ${esc(j.experiment.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#111827;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.v-passed{background:#059669}.v-refuted,.v-failed{background:#dc2626}.v-aborted{background:#d97706}.v-not-started{background:#6b7280}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #e5e7eb;padding:4px 6px;text-align:left}
.c-high,.c-low,.c-fail{color:#dc2626;font-weight:600}.c-pass{color:#059669;font-weight:600}.c-marginal,.c-nodata{color:#d97706}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}.chart{border:1px solid #e5e7eb;border-radius:6px;padding:8px;height:260px}
.muted{color:#6b7280}
</style></head><body>
<h1>${esc(j.experiment.title)}</h1>
<p><span class="verdict v-${esc(j.verdict ?? 'running')}">${esc(j.verdict ?? j.phase)}</span> ${esc(j.reason ?? '')}</p>
<p><b>Hypothesis:</b> ${esc(j.experiment.hypothesis.statement)}</p>
<p class="muted">${esc(j.workflowId)} · started ${esc(j.startedAt)}${j.finishedAt ? ` · finished ${esc(j.finishedAt)}` : ''}${
    j.detectToRevertMs !== undefined ? ` · detect → reverted ${j.detectToRevertMs} ms` : ''
  } · times on the charts are seconds since the start; shaded: fault windows; red line: abort</p>
<h2>Faults</h2>
<table><thead><tr><th>fault</th><th>status</th><th>injected</th><th>reverted</th></tr></thead><tbody>${faults}</tbody></table>
${judgeSection(j)}
<h2>Over time</h2>
<div class="grid">${charts.map((c) => `<div class="chart"><canvas id="${esc(c.id)}"></canvas></div>`).join('')}</div>
<script>${chartJs.replace(/<\/script/gi, '<\\/script')}</script>
<script type="application/json" id="faultline-charts">${scriptJson({ charts, windows, abortAt })}</script>
<script>
(() => {
  const data = JSON.parse(document.getElementById('faultline-charts').textContent);
  // Shades the fault windows and marks the abort, behind the data.
  const marks = {
    id: 'faultlineMarks',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea: a, scales: { x } } = chart;
      ctx.save();
      ctx.fillStyle = 'rgba(220, 38, 38, 0.08)';
      for (const w of data.windows) {
        const l = Math.max(a.left, x.getPixelForValue(w.from)), r = Math.min(a.right, x.getPixelForValue(w.to));
        if (r > l) ctx.fillRect(l, a.top, r - l, a.bottom - a.top);
      }
      if (data.abortAt !== null) {
        const px = x.getPixelForValue(data.abortAt);
        ctx.strokeStyle = '#dc2626'; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(px, a.top); ctx.lineTo(px, a.bottom); ctx.stroke();
      }
      ctx.restore();
    },
  };
  const xs = data.charts.flatMap((c) => c.datasets.flatMap((d) => d.points.map((p) => p.x))).concat(data.windows.flatMap((w) => [w.from, w.to]));
  const xmin = Math.min(0, ...xs), xmax = Math.max(1, ...xs);
  window.faultlineCharts = data.charts.map((c) => new Chart(document.getElementById(c.id), {
    type: 'line',
    data: { datasets: c.datasets.map((d) => ({
      label: d.label, data: d.points, borderColor: d.color, backgroundColor: d.color,
      borderDash: d.dashed ? [6, 4] : [], stepped: d.step ? 'before' : false, pointRadius: d.points.length > 60 ? 0 : 2, borderWidth: 1.5,
      showLine: true,
    })) },
    options: {
      animation: false, maintainAspectRatio: false, parsing: false, normalized: true,
      plugins: { title: { display: true, text: c.title }, legend: { labels: { boxWidth: 12 } } },
      scales: {
        x: { type: 'linear', min: xmin, max: xmax, title: { display: true, text: 'seconds since start' } },
        y: { type: c.logY ? 'logarithmic' : 'linear', title: { display: true, text: c.yLabel }, ...(c.logY ? {} : { beginAtZero: true }) },
      },
    },
    plugins: [marks],
  }));
})();
</script>
</body></html>
`;
}
