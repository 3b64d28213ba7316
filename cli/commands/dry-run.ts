// faultline run FILE --dry-run: the plan, and nothing changed. Reads the Docker fleet, the fault proxy's
// routes and the judged metrics' counters (read-only), then shows the selection with its seed, each fault
// and its revert, the blast-radius and admission checks, the probes and the baselines the run would measure.
// Exit 0 when the run would start, 1 when it would be refused (not-started), 2 for an invalid file.
import { exposureOf, stepsText } from '../../experiments/exposure.ts';
import { randomInt } from 'node:crypto';
import type { Experiment } from '../../experiments/schema.ts';
import { faultKind } from '../../faults/registry.ts';
import {
  planFaults,
  hasGroups,
  needsContainers,
  needsFleet,
  needsUpstreams,
  routesOf,
  type FaultPlan,
} from '../../activities/plan.ts';
import { localContainers } from '../../activities/local-host.ts';
import { readGroups, readMetricNow } from '../../activities/judge.ts';
import type { CounterReading } from '../../judge/counters.ts';
import { MAX_BASELINE_MS, noSeriesReason } from '../../judge/guard.ts';
import { durationMs, formatMs } from '../../faults/duration.ts';
import { DEFAULT_MIN_COVERAGE, guardMaxGapMs } from '../../experiments/coverage.ts';
import type { Io } from '../io.ts';

const describeProbe = (p: Experiment['hypothesis']['probes'][number]): string =>
  p.type === 'http'
    ? `http ${p.method} ${p.url} (${p.duration ? `for ${p.duration}` : `${p.requests ?? 20} requests`}, tolerance ${JSON.stringify(p.tolerance)})`
    : p.query !== undefined
      ? `prometheus query ${JSON.stringify(p.query)}${p.min !== undefined ? ` min ${p.min}` : ''}${p.max !== undefined ? ` max ${p.max}` : ''}`
      : `prometheus events over ${p.window} (total ${JSON.stringify(p.events?.total)}, ${p.events?.bad !== undefined ? `bad ${JSON.stringify(p.events.bad)}` : `good ${JSON.stringify(p.events?.good)}`})${p.maxBadRate !== undefined ? ` maxBadRate ${p.maxBadRate}` : ''}`;

export async function dryRunCommand(e: Experiment, file: string, io: Io): Promise<number> {
  const out = (s = '') => io.out(s);
  const refusals: string[] = [];
  out(`dry run of ${file}: nothing is injected, started or changed`);
  out(`  title: ${e.title}`);
  out(`  hypothesis: ${e.hypothesis.statement}`);
  out('steady state before and after (probes):');
  for (const p of e.hypothesis.probes) out(`  - ${p.name}: ${describeProbe(p)}`);

  const seed = e.targets?.seed ?? randomInt(2 ** 31);
  let plan: FaultPlan | undefined;
  try {
    // The local daemon only (tagged with its host name); a real run plans over every registered host.
    const local = needsFleet(e) ? await localContainers() : undefined;
    const host = local?.host;
    const containers = local?.containers ?? [];
    if (host) out(`fleet: this dry run reads the local Docker host ${host} only; a run spans every registered host`);
    // worker/ is loaded lazily (the CLI's layering rule); only its proxy lookup is needed here.
    const proxy = routesOf(e).length ? (await import('../../worker/proxy-port.ts')).createProxyPort() : undefined;
    const routes = proxy ? await proxy.listProxies() : [];
    const upstreams: Record<string, string> = {};
    if (proxy && needsUpstreams(e))
      for (const r of routesOf(e).filter((x) => routes.includes(x))) {
        const u = (await proxy.inspectProxy(r))?.upstream;
        if (u) upstreams[r] = u;
      }
    plan = planFaults(e, containers, routes, seed, upstreams);
  } catch (err) {
    refusals.push(`admission: ${(err as Error).message}`);
  }
  out(
    `targets (seed ${seed}${e.targets?.seed === undefined ? ', random: a real run draws its own and records it' : ''}):`,
  );
  if (plan?.selection) {
    const s = plan.selection;
    out(`  matched ${s.matched.length}: ${s.matched.map((t) => t.name).join(', ') || '(none)'}`);
    if (s.protectedSkipped.length)
      out(`  never selected (protected or Faultline's own): ${s.protectedSkipped.join(', ')}`);
    out(`  selected ${s.selected.length}: ${s.selected.map((t) => t.name).join(', ') || '(none)'}`);
  } else if (!needsContainers(e) && !hasGroups(e)) out('  no container fault: no container is selected');
  // A fault's own groups (network.split): every member gets its record.
  const grouped = new Map<number, string[]>();
  for (const f of plan?.faults ?? [])
    if (f.target && faultKind(f.kind)?.groups)
      grouped.set(f.faultIndex, [...(grouped.get(f.faultIndex) ?? []), f.target.name]);
  for (const [i, names] of grouped) out(`  method.${i} (${e.method[i]?.kind}) groups, both sides: ${names.join(', ')}`);
  if (plan?.routes?.length) out(`  fault proxy routes: ${plan.routes.join(', ')}`);
  if (plan?.groups)
    out(
      `  control group mode: experiment group ${plan.groups.experiment.join(', ')}; control group ${plan.groups.control.join(', ')}`,
    );

  out(
    'faults (injected together; each reverted at the end of its duration, on abort, and by its lease if the runner dies):',
  );
  if (plan)
    for (const f of plan.faults) {
      const d = e.method[f.faultIndex]?.duration ?? '';
      out(`  - ${f.summary}${f.summary.includes(d) ? '' : ` for ${d}`}`);
      out(`    revert: undo "${f.summary}" (idempotent, retried until done)`);
    }
  else for (const f of e.method) out(`  - ${f.kind} for ${f.duration} (targets not resolved)`);
  // A progressive exposure: its steps, each judged before the next (the plan's summary names them too).
  const x = exposureOf(e);
  if (x)
    out(
      `exposure of method.${x.faultIndex}: ${stepsText(x.steps)}; each step judged by the judge's e-process before the next begins, the first that fails ends it (reverted); blast radius at its largest step, ${Math.max(...x.steps.map((s) => s.share))}% of the traffic (maxTrafficPercent ${e.blastRadius.maxTrafficPercent})`,
    );

  // Every container a fault hits counts once (selected, or in a fault's own groups), and every route.
  const containersHit = new Set(
    plan?.faults.flatMap((f) => (f.target ? [`${f.target.host ?? ''}/${f.target.id}`] : [])),
  );
  const hit = containersHit.size + (plan?.routes?.length ?? 0);
  out(
    `blast radius: ${plan ? `${hit} target(s)` : 'not computed'} of at most ${e.blastRadius.maxTargets}, at most ${e.blastRadius.maxPercent}% of the matched fleet${plan ? ': allowed' : ''}`,
  );

  if (e.guard) {
    out(
      `guard: every ${e.guard.interval}, abort after ${e.guard.failuresToAbort} failing sample(s) in a row; reverts when it sees nothing for more than ${formatMs(guardMaxGapMs(e.guard))} (maxGap); a window watched less than ${+((e.guard.minCoverage ?? DEFAULT_MIN_COVERAGE) * 100).toFixed(1)}% is never passed`,
    );
    for (const p of e.guard.probes) out(`  - ${p.name}: ${describeProbe(p)}`);
  } else out('guard: none (faults are held for their duration)');

  if (e.judge) {
    const j = e.judge;
    const m = j.metrics.reduce((s, x) => s + (x.direction === 'either' ? 2 : 1), 0);
    out(
      `judge: every ${j.interval}, anytime-valid e-process per metric, abort at E >= ${m}/${j.alpha} = ${(m / j.alpha).toFixed(0)}; final score pass >= ${j.thresholds.pass}, marginal >= ${j.thresholds.marginal}`,
    );
    if (durationMs(j.baseline.window) > MAX_BASELINE_MS)
      refusals.push(
        `judge.baseline.window ${j.baseline.window} is longer than the experiment allows (at most ${MAX_BASELINE_MS / 60_000}m)`,
      );
    out(
      j.controlGroup
        ? `  baselines: both groups measured over ${j.baseline.window} once the groups are planned (recorded; the test compares the groups over the same ticks)`
        : `  baselines: measured over ${j.baseline.window} during steady state before, one-sided ${j.baseline.confidence * 100}% upper bound`,
    );
    for (const x of j.metrics) {
      let now: string;
      try {
        if (j.controlGroup) {
          if (!plan?.groups) throw new Error(`judged metric ${x.name}: the groups could not be planned`);
          const g = (await readGroups({ ...j, metrics: [x] }, plan.groups))[0];
          const show = (c: CounterReading | null | undefined) =>
            c ? `total ${c.total}, ${c.partIs} ${c.part}` : 'no series';
          now = `now experiment group ${show(g?.experiment)}; control group ${show(g?.control)}`;
        } else {
          const r = await readMetricNow(x);
          if (!r.reading) throw new Error(noSeriesReason(x, r.missing, 'now'));
          now = `now total ${r.reading.total}, ${r.reading.partIs} ${r.reading.part}${r.missing.length ? ` (${r.missing.map((e) => e.field).join(', ')} absent: read as 0)` : ''}`;
        }
      } catch (err) {
        now = `ERROR ${(err as Error).message}`;
        refusals.push((err as Error).message);
      }
      out(
        `  - ${x.name} (${x.direction}, group ${x.group ?? x.name}${x.critical ? ', critical' : ''}): null rate = ${x.slo ? `${+((x.maxBurnRate ?? 1) * (1 - x.slo.objective)).toPrecision(6)} (1 - objective ${x.slo.objective} of SLO ${x.slo.name} in ${x.slo.file}${x.maxBurnRate ? `, x maxBurnRate ${x.maxBurnRate}` : ''}; the error budget burns at most ${x.maxBurnRate ?? 1}x)` : j.controlGroup ? `the control group's rate over the same ticks x ${x.allowedIncrease}` : `the baseline bound's odds ${x.direction === 'increase' ? 'x' : x.direction === 'decrease' ? '/' : 'x and /'} ${x.allowedIncrease}`}${x.maxRate !== undefined ? `, at most ${x.maxRate}` : ''}${x.criticalIncrease ? `; one tick above bound x ${x.criticalIncrease} aborts at once` : ''}; ${now}`,
      );
    }
  }
  out(`after: steady state must hold again within ${e.afterCheck.recoveryTimeout}`);
  if (refusals.length) {
    out(`the run would be refused (not-started, nothing injected):`);
    for (const r of refusals) out(`  - ${r}`);
    return 1;
  }
  out('the run would start.');
  return 0;
}
