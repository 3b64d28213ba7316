// A Faultline run as a Chaos Toolkit journal (`faultline report ID --format ctk-journal`): the shape
// chaostoolkit-lib's runner writes (journal.json), so Chaos Toolkit's own tools read it. Pure.
//
// - experiment: the run's experiment as a Chaos Toolkit experiment. Each hypothesis probe becomes one CTK
//   HTTP probe per bound it checks (error rate, p50/p95/p99; a Prometheus probe's value or bad-event rate),
//   each with a `range` tolerance on the measured field, so Chaos Toolkit's own tolerance check
//   (chaoslib.hypothesis.within_tolerance) judges the recorded output as Faultline did. Each fault is an
//   action with its Chaos Toolkit equivalent: `docker kill|stop|restart|pause|network disconnect` (process
//   provider), chaostoolkit-toxiproxy's create_toxic / disable_proxy for proxy faults; its revert is the
//   rollback (`docker start|unpause|network connect`, delete_toxic / enable_proxy). A kind with no Chaos
//   Toolkit equivalent (network.loss, stress.*, dns.*, disk.fill, process.*, ...) is a process action running
//   `faultline status RUN` (what shows it). The verdict and reason are in the experiment's `faultline`
//   extension.
// - status / deviated: passed -> completed; refuted -> completed, deviated; aborted by the guard -> aborted,
//   deviated; by an operator -> interrupted; not started -> completed with the steady state before not met
//   (or aborted when no probe ran); failed and inconclusive -> failed (nobody could say it held).
import type { FaultRecord, Journal, ProbeSample } from '../experiments/journal.ts';
import type { Probe } from '../experiments/schema.ts';
import { durationMs } from '../faults/duration.ts';

/** The chaostoolkit-lib release whose journal format this follows. */
export const CTK_JOURNAL_FORMAT = '1.44.0';

type Obj = Record<string, unknown>;

interface Bound {
  name: string;
  target: string;
  range: [number, number];
}

/** One CTK probe per bound a Faultline probe checks. */
function boundsOf(p: Probe): Bound[] {
  if (p.type === 'http') {
    const t = p.tolerance;
    const b: Bound[] = [];
    if (t.maxErrorRate !== undefined || (t.p50 === undefined && t.p95 === undefined && t.p99 === undefined))
      b.push({ name: `${p.name}: error rate`, target: 'errorRate', range: [0, t.maxErrorRate ?? 0] });
    for (const q of ['p50', 'p95', 'p99'] as const) {
      const v = t[q];
      if (v !== undefined) b.push({ name: `${p.name}: ${q}`, target: `${q}Ms`, range: [0, durationMs(v)] });
    }
    return b;
  }
  if (p.query !== undefined)
    return [
      { name: `${p.name}: value`, target: 'value', range: [p.min ?? -Number.MAX_VALUE, p.max ?? Number.MAX_VALUE] },
    ];
  return [{ name: `${p.name}: bad-event rate`, target: 'errorRate', range: [0, p.maxBadRate ?? 1] }];
}

function probeProvider(p: Probe): Obj {
  if (p.type === 'http')
    return {
      type: 'http',
      url: p.url,
      method: p.method,
      timeout: durationMs(p.timeout) / 1000,
      ...(p.headers ? { headers: p.headers } : {}),
    };
  const base = (p.url ?? 'http://127.0.0.1:9090').replace(/\/$/, '');
  return {
    type: 'http',
    url: `${base}/api/v1/query`,
    method: 'GET',
    arguments: { query: p.query ?? p.events?.bad ?? p.events?.good ?? p.events?.total ?? '' },
  };
}

function hypothesisProbes(j: Journal): Obj[] {
  return j.experiment.hypothesis.probes.flatMap((p) =>
    boundsOf(p).map((b) => ({
      type: 'probe',
      name: b.name,
      tolerance: { type: 'range', range: b.range, target: b.target },
      provider: probeProvider(p),
    })),
  );
}

/** The steady state as Chaos Toolkit records it: one run per CTK probe, judged by its range. */
function steadyState(j: Journal, samples: ProbeSample[]): Obj | null {
  if (!samples.length) return null;
  const probes: Obj[] = [];
  for (const p of j.experiment.hypothesis.probes) {
    const s = samples.find((x) => x.probe === p.name);
    if (!s) continue;
    for (const b of boundsOf(p)) {
      const v = (s as unknown as Record<string, unknown>)[b.target];
      probes.push({
        activity: {
          type: 'probe',
          name: b.name,
          tolerance: { type: 'range', range: b.range, target: b.target },
          provider: probeProvider(p),
        },
        output: sampleOutput(s),
        start: s.at,
        end: s.at,
        duration: 0,
        status: 'succeeded',
        tolerance_met: typeof v === 'number' && v >= b.range[0] && v <= b.range[1],
      });
    }
  }
  return { steady_state_met: samples.every((s) => s.ok), probes };
}

function sampleOutput(s: ProbeSample): Obj {
  const o: Obj = {
    requests: s.requests,
    errors: s.errors,
    errorRate: s.errorRate,
    p50Ms: s.p50Ms,
    p95Ms: s.p95Ms,
    p99Ms: s.p99Ms,
    maxMs: s.maxMs,
  };
  if (s.value !== undefined) o.value = s.value;
  if (s.violations.length) o.violations = s.violations;
  if (s.errorSamples.length) o.errorSamples = s.errorSamples;
  return o;
}

interface Activity {
  action: Obj;
  rollback: Obj;
}

const docker = (name: string, args: (string | number)[]): Obj => ({
  type: 'action',
  name,
  provider: { type: 'process', path: 'docker', arguments: args.map(String) },
});

/** A fault's Chaos Toolkit action and rollback (one per route and toxic for a proxy fault). */
function activitiesOf(j: Journal, f: FaultRecord): Activity[] {
  const spec = j.experiment.method[f.faultIndex] as Record<string, unknown> | undefined;
  const target = f.target?.name;
  const label = `${f.kind}${target ? ` ${target}` : ''} (fault ${f.index})`;
  if (target) {
    const start = docker(`revert ${label}`, ['start', target]);
    if (f.kind === 'container.kill')
      return [
        { action: docker(label, ['kill', '--signal', String(spec?.signal ?? 'SIGKILL'), target]), rollback: start },
      ];
    if (f.kind === 'container.stop')
      return [{ action: docker(label, ['stop', '--time', Number(spec?.gracePeriod ?? 10), target]), rollback: start }];
    if (f.kind === 'container.restart')
      return [
        { action: docker(label, ['restart', '--time', Number(spec?.gracePeriod ?? 10), target]), rollback: start },
      ];
    if (f.kind === 'container.pause')
      return [{ action: docker(label, ['pause', target]), rollback: docker(`revert ${label}`, ['unpause', target]) }];
    if (f.kind === 'network.partition' && typeof spec?.network === 'string')
      return [
        {
          action: docker(label, ['network', 'disconnect', spec.network, target]),
          rollback: docker(`revert ${label}`, ['network', 'connect', spec.network, target]),
        },
      ];
  }
  const h = f.handle as { proxies?: unknown; toxics?: unknown; disable?: unknown } | undefined;
  if ((f.kind.startsWith('proxy.') || f.kind.startsWith('http.')) && Array.isArray(h?.proxies)) {
    const proxies = h.proxies.filter((p): p is string => typeof p === 'string');
    const toxics = Array.isArray(h.toxics) ? (h.toxics as Obj[]) : [];
    const out: Activity[] = [];
    for (const proxy of proxies) {
      if (h.disable === true)
        out.push({
          action: toxi(`${label} on ${proxy}`, 'chaostoxi.proxy.actions', 'disable_proxy', { proxy_name: proxy }),
          rollback: toxi(`revert ${label} on ${proxy}`, 'chaostoxi.proxy.actions', 'enable_proxy', {
            proxy_name: proxy,
          }),
        });
      for (const t of toxics)
        out.push({
          action: toxi(`${label} on ${proxy}`, 'chaostoxi.toxic.actions', 'create_toxic', {
            for_proxy: proxy,
            toxic_name: t.name,
            toxic_type: t.type,
            stream: t.stream,
            toxicity: t.toxicity,
            attributes: t.attributes,
          }),
          rollback: toxi(`revert ${label} on ${proxy}`, 'chaostoxi.toxic.actions', 'delete_toxic', {
            for_proxy: proxy,
            toxic_name: t.name,
          }),
        });
    }
    if (out.length) return out;
  }
  // No Chaos Toolkit equivalent: the action is Faultline's, and `faultline status` shows it.
  const status = (name: string): Obj => ({
    type: 'action',
    name,
    provider: { type: 'process', path: 'faultline', arguments: ['status', j.workflowId] },
  });
  return [{ action: status(label), rollback: status(`revert ${label}`) }];
}

function toxi(name: string, module: string, func: string, args: Obj): Obj {
  return { type: 'action', name, provider: { type: 'python', module, func, arguments: args } };
}

function ran(
  activity: Obj,
  start: string | undefined,
  end: string | undefined,
  ok: boolean,
  output: Obj,
  errors: string[],
): Obj {
  const s = start ?? end ?? '';
  const e = end ?? start ?? '';
  const run: Obj = {
    activity,
    output,
    start: s,
    end: e,
    duration: s && e ? Math.max(0, (Date.parse(e) - Date.parse(s)) / 1000) : 0,
    status: ok ? 'succeeded' : 'failed',
  };
  if (!ok) run.exception = errors.length ? errors : ['failed'];
  return run;
}

function statusOf(j: Journal): { status: string; deviated: boolean } {
  switch (j.verdict) {
    case 'passed':
      return { status: 'completed', deviated: false };
    case 'refuted':
      return { status: 'completed', deviated: true };
    case 'aborted':
      return j.abort?.by === 'guard'
        ? { status: 'aborted', deviated: true }
        : { status: 'interrupted', deviated: false };
    case 'not-started':
      return { status: j.steadyStateBefore.length ? 'completed' : 'aborted', deviated: false };
    default:
      return { status: 'failed', deviated: false };
  }
}

export function toCtkJournal(j: Journal): Obj {
  const injected = j.faults.filter((f) => f.status !== 'planned' && f.status !== 'not-applied' && f.intentAt);
  const acts = injected.map((f) => ({ f, a: activitiesOf(j, f) }));
  const experiment: Obj = {
    version: '1.0.0',
    title: j.experiment.title,
    description: j.experiment.description ?? j.experiment.hypothesis.statement,
    ...(j.experiment.tags?.length ? { tags: j.experiment.tags } : {}),
    extensions: [
      {
        name: 'faultline',
        workflowId: j.workflowId,
        runId: j.runId,
        verdict: j.verdict ?? null,
        reason: j.reason ?? null,
        ...(j.abort ? { abort: j.abort } : {}),
        guard: { samples: j.guardSamples.count, failed: j.guardSamples.failed },
      },
    ],
    'steady-state-hypothesis': { title: j.experiment.hypothesis.statement, probes: hypothesisProbes(j) },
    method: acts.flatMap(({ a }) => a.map((x) => x.action)),
    rollbacks: acts.flatMap(({ a }) => a.map((x) => x.rollback)),
  };
  const run = acts.flatMap(({ f, a }) =>
    a.map((x) =>
      ran(
        x.action,
        f.intentAt,
        f.injectedAt,
        f.status !== 'inject-failed' && f.injectedAt !== undefined,
        { summary: f.summary, ...(f.target ? { target: f.target } : {}), status: f.status },
        f.errors,
      ),
    ),
  );
  const rollbacks = acts
    .filter(({ f }) => f.injectedAt !== undefined || f.revertedAt !== undefined || f.revertAttempts > 0)
    .flatMap(({ f, a }) =>
      a.map((x) =>
        ran(
          x.rollback,
          f.endsAt ?? f.injectedAt,
          f.revertedAt,
          f.revertedAt !== undefined,
          {
            revertedBy: f.revertedBy ?? null,
            revertAttempts: f.revertAttempts,
            ...(f.revertNote ? { note: f.revertNote } : {}),
            ...(f.warden ? { warden: f.warden } : {}),
          },
          f.lastError ? [...f.errors, f.lastError] : f.errors,
        ),
      ),
    );
  const end = j.finishedAt ?? new Date(Date.parse(j.startedAt)).toISOString();
  return {
    'chaoslib-version': CTK_JOURNAL_FORMAT,
    platform: 'faultline',
    node: j.selection?.selected[0]?.host ?? 'faultline',
    experiment,
    start: j.startedAt,
    end,
    duration: Math.max(0, (Date.parse(end) - Date.parse(j.startedAt)) / 1000),
    ...statusOf(j),
    steady_states: {
      before: steadyState(j, j.steadyStateBefore),
      after: steadyState(j, j.steadyStateAfter),
      during: [],
    },
    run,
    rollbacks,
  };
}
