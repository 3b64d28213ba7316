// SLO files as hypotheses, pure: OpenSLO (openslo/v1) and Sloth (prometheus/v1) files read into judged
// metrics (fixtures modelled on both projects' own documentation examples), every bad file refused with its
// file, line, column and field, and an experiment that names one resolved or refused with nothing judged.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../errors.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import { parseSloFile, parseSloText, rawCounterQuery, sloWindowMs } from '../../experiments/slo.ts';
import { validateAnyFile } from '../../experiments/any.ts';
import { parseGameDay } from '../../experiments/gameday.ts';
import { PROJECT_ROOT } from '../../config.ts';

const FIX = path.join(PROJECT_ROOT, 'test', 'fixtures', 'slo');
const lines = (r: { ok: boolean; problems?: Parameters<typeof formatProblem>[0][] }) =>
  r.ok ? [] : (r.problems ?? []).map(formatProblem);

describe('SLO files: what Faultline reads of them', () => {
  it('OpenSLO, modelled on its v1 spec: an SLO with an indicatorRef to a kind SLI, the strictest objective, a calendar month', () => {
    const r = parseSloFile(path.join(FIX, 'openslo-docs-sli-ref.yaml'));
    expect(r).toEqual({
      ok: true,
      value: [
        {
          format: 'openslo',
          name: 'great-slo',
          objective: 0.995,
          window: '1M',
          windowMs: 30 * 86_400_000,
          events: { total: 'http_requests_total{}', good: 'http_requests_total{status_code="200"}' },
        },
      ],
    });
  });

  it('OpenSLO, an inline indicator with rate() queries read as their counters and targetPercent', () => {
    const r = parseSloFile(path.join(FIX, 'openslo-docs-inline.yaml'));
    expect(r.ok && r.value[0]).toEqual({
      format: 'openslo',
      name: 'web-availability',
      objective: 0.995,
      window: '1w',
      windowMs: 7 * 86_400_000,
      events: {
        total: 'sum(http_requests_total{server="web"})',
        good: 'sum(http_requests_total{server="web",code=~"2xx|3xx"})',
      },
    });
  });

  it("Sloth, modelled on its getting-started example: the objective in percent, {{.window}} ranges read as counters, Sloth's 30 days", () => {
    const r = parseSloFile(path.join(FIX, 'sloth-docs-getting-started.yaml'));
    expect(r).toEqual({
      ok: true,
      value: [
        {
          format: 'sloth',
          name: 'requests-availability',
          objective: 0.999,
          window: '30d',
          windowMs: 30 * 86_400_000,
          events: {
            total: 'sum(http_request_duration_seconds_count{job="myservice"})',
            bad: 'sum(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"})',
          },
        },
      ],
    });
  });

  it('Sloth, modelled on its Kubernetes example: a PrometheusServiceLevel reads the same, and is refused where it stands', async () => {
    const f = path.join(FIX, 'sloth-docs-k8s.yaml');
    expect(await validateAnyFile(f)).toEqual({ kind: 'SLO', problems: [] });
    const r = parseSloFile(f);
    expect(r.ok && r.value).toEqual(
      (parseSloFile(path.join(FIX, 'sloth-docs-getting-started.yaml')) as { value: unknown }).value,
    );
    const text = readFileSync(f, 'utf8').replace(
      '[{{.window}}]))\n          totalQuery',
      '[5m]))\n          totalQuery',
    );
    expect(lines(parseSloText(text, 'k.yaml'))).toEqual([
      'k.yaml:18:23 spec.slos.0.sli.events.errorQuery: has no {{.window}} placeholder: Sloth needs one, as the range of rate() over a counter (sum(rate(COUNTER[{{.window}}])))',
    ]);
  });

  it('Sloth, modelled on its multi-SLO example: a subquery and a raw SLI are refused, each where it stands', () => {
    const l = lines(parseSloFile(path.join(FIX, 'sloth-docs-multi.yaml')));
    const f = path.join(FIX, 'sloth-docs-multi.yaml');
    expect(l).toEqual([
      `${f}:13:22 slos.0.sli.events.error_query: cannot be read as a counter of events: the subquery [{{.window}}:] is not a counter of events: write rate(COUNTER[range])`,
      `${f}:14:22 slos.0.sli.events.total_query: cannot be read as a counter of events: the subquery [{{.window}}:] is not a counter of events: write rate(COUNTER[range])`,
      `${f}:25:9 slos.1.sli.raw: Faultline judges events: give sli.events with error_query and total_query (sli.raw and sli.plugin are not read)`,
    ]);
  });

  it('queries: rate/irate/increase over a range read as the counter; other range functions refused; strings never parsed', () => {
    expect(rawCounterQuery('sum(rate(x{a=~"5[0-9]{2}"}[{{.window}}])) / sum(increase(y[5m]))')).toEqual({
      ok: true,
      expr: 'sum(x{a=~"5[0-9]{2}"}) / sum(y)',
    });
    expect(rawCounterQuery('sum(irate ( x [1h] ))')).toEqual({ ok: true, expr: 'sum(x)' });
    expect(rawCounterQuery('sum(x)')).toEqual({ ok: true, expr: 'sum(x)' });
    expect(rawCounterQuery('avg_over_time(x[5m])')).toMatchObject({ ok: false, why: /not of avg_over_time\(\)/ });
    expect(rawCounterQuery('x[5m]')).toMatchObject({ ok: false, why: /must be the range of rate\(\)/ });
    expect(rawCounterQuery('sum(x{a="{{.window}}"})')).toMatchObject({ ok: false, why: /may stand only as the range/ });
    expect(rawCounterQuery('sum(rate(x[5m])')).toMatchObject({ ok: false, why: /parentheses/ });
    expect(rawCounterQuery('sum(x{a="b)')).toMatchObject({ ok: false, why: /not closed/ });
  });

  it('windows: OpenSLO durations, calendar units at their usual length, anything else refused', () => {
    expect(sloWindowMs('28d')).toBe(28 * 86_400_000);
    expect(sloWindowMs('4h')).toBe(4 * 3_600_000);
    expect(sloWindowMs('1Q')).toBe(90 * 86_400_000);
    for (const bad of ['', '0d', '1.5d', '30', 'P30D', '1 fortnight']) expect(sloWindowMs(bad), bad).toBeUndefined();
  });
});

/** A Sloth file of one SLO, with `over` spliced in. */
const sloth = (slo: string) => `version: prometheus/v1
service: front
slos:
  - name: front-availability
${slo}`;
const slothOk = `    objective: 99.9
    sli:
      events:
        error_query: sum(rate(req_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(req_total[{{.window}}]))
`;
const openslo = (spec: string, kind = 'SLO', apiVersion = 'openslo/v1') => `apiVersion: ${apiVersion}
kind: ${kind}
metadata:
  name: front-availability
spec:
${spec}`;
const indicator = `  indicator:
    spec:
      ratioMetric:
        bad: { metricSource: { type: Prometheus, spec: { query: 'sum(req_total{code=~"5.."})' } } }
        total: { metricSource: { type: Prometheus, spec: { query: "sum(req_total)" } } }
`;

describe('SLO files: positioned errors', () => {
  const cases: [string, string, string[]][] = [
    [
      'Sloth: a missing objective',
      sloth(slothOk.replace('    objective: 99.9\n', '')),
      ['f.yaml:4:5 slos.0.objective: required field "objective" is missing (expected a number)'],
    ],
    [
      'Sloth: an objective outside (0, 100)',
      sloth(slothOk.replace('99.9', '100')),
      ['f.yaml:5:16 slos.0.objective: must be a percentage between 0 and 100, both excluded (99.9 is 99.9%), not 100'],
    ],
    [
      'Sloth: a query without the window placeholder',
      sloth(slothOk.replace('[{{.window}}]))\n        total', '[5m]))\n        total')),
      [
        'f.yaml:8:22 slos.0.sli.events.error_query: has no {{.window}} placeholder: Sloth needs one, as the range of rate() over a counter (sum(rate(COUNTER[{{.window}}])))',
      ],
    ],
    [
      'Sloth: another version',
      sloth(slothOk).replace('prometheus/v1', 'prometheus/v2'),
      ['f.yaml:1:10 version: must be "prometheus/v1", not "prometheus/v2"'],
    ],
    [
      'OpenSLO: a missing objective',
      openslo(`${indicator}  timeWindow: [ { duration: 28d } ]\n  objectives: [ { displayName: Good } ]\n`),
      ['f.yaml:12:17 spec.objectives.0: required field "target" is missing (the objective, 0 < target < 1)'],
    ],
    [
      'OpenSLO: a target outside (0, 1)',
      openslo(`${indicator}  timeWindow: [ { duration: 28d } ]\n  objectives: [ { target: 99.9 } ]\n`),
      ['f.yaml:12:27 spec.objectives.0.target: must be between 0 and 1, both excluded (0.999 is 99.9%), not 99.9'],
    ],
    [
      'OpenSLO: an unknown kind',
      openslo(`${indicator}`, 'ServiceLevelObjective'),
      [
        'f.yaml:2:7 kind: unknown OpenSLO kind "ServiceLevelObjective"; one of: SLO, SLI, Service, DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget (Faultline judges kind SLO)',
      ],
    ],
    [
      'OpenSLO: v1alpha',
      openslo(indicator, 'SLO', 'openslo/v1alpha'),
      ['f.yaml:1:13 apiVersion: must be "openslo/v1", not "openslo/v1alpha"'],
    ],
    [
      'OpenSLO: an indicatorRef to no SLI',
      openslo(`  indicatorRef: nowhere\n  timeWindow: [ { duration: 28d } ]\n  objectives: [ { target: 0.99 } ]\n`),
      ['f.yaml:6:17 spec.indicatorRef: no kind: SLI named "nowhere" in this file'],
    ],
    [
      'OpenSLO: a window that is not one',
      openslo(`${indicator}  timeWindow: [ { duration: 1 month } ]\n  objectives: [ { target: 0.99 } ]\n`),
      [
        'f.yaml:11:29 spec.timeWindow.0.duration: "1 month" is not a window: a whole number and a unit (m, h, d, w, M, Q, Y), such as 28d',
      ],
    ],
    [
      'OpenSLO: not Prometheus',
      openslo(
        `${indicator.replace('type: Prometheus, spec: { query: "sum(req_total)" }', 'type: Datadog, spec: { query: "sum(req_total)" }')}  timeWindow: [ { duration: 28d } ]\n  objectives: [ { target: 0.99 } ]\n`,
      ),
      [
        'f.yaml:10:40 spec.indicator.spec.ratioMetric.total.metricSource.type: Faultline reads Prometheus: metricSource type "Datadog" is not read',
      ],
    ],
    [
      'neither format',
      'service: front\nslos: []\n',
      [
        'f.yaml:1:1 (root): not an SLO file Faultline reads: an OpenSLO document (apiVersion: openslo/v1, kind: SLO) or a Sloth file (version: prometheus/v1, or apiVersion: sloth.slok.dev/v1)',
      ],
    ],
  ];
  for (const [what, text, want] of cases)
    it(what, () => {
      expect(lines(parseSloText(text, 'f.yaml'))).toEqual(want);
    });

  it('an SLI document in its own position: a problem in the SLI is told at its line, after the documents before it', () => {
    const text = `${openslo(`  indicatorRef: s\n  timeWindow: [ { duration: 28d } ]\n  objectives: [ { target: 0.99 } ]\n`)}---
apiVersion: openslo/v1
kind: SLI
metadata: { name: s }
spec:
  ratioMetric:
    total: { metricSource: { type: Prometheus, spec: { query: "avg_over_time(x[5m])" } } }
    good: { metricSource: { type: Prometheus, spec: { query: sum(y) } } }
`;
    expect(lines(parseSloText(text, 'f.yaml'))).toEqual([
      'f.yaml:15:63 spec.ratioMetric.total.metricSource.spec.query: cannot be read as a counter of events: the range [5m] must be the range of rate(), irate() or increase() over a counter, not of avg_over_time(): Faultline reads the counter itself and differences it',
    ]);
  });
});

describe('an experiment that names an SLO file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fl-slo-'));
  writeFileSync(path.join(dir, 'front.yaml'), sloth(slothOk));
  writeFileSync(
    path.join(dir, 'two.yaml'),
    `${sloth(slothOk)}  - name: front-latency\n${slothOk.replace('99.9', '95')}`,
  );
  writeFileSync(path.join(dir, 'bad.yaml'), sloth(slothOk.replace('99.9', '0')));
  const exp = (metric: string, extra = '') => `title: t
hypothesis:
  statement: s
  probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ]
method: [ { kind: proxy.latency, proxy: backend-1, latency: 200ms, duration: 10s } ]
judge:
  metrics:
${metric}${extra}`;
  const file = path.join(dir, 'e.yaml');

  it('reads the SLO: its events, its name, its objective as the null, the window; maxBurnRate allows a faster burn', () => {
    const r = parseExperiment(exp('    - slo: ./front.yaml\n      maxBurnRate: 2\n'), file);
    if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
    expect(r.experiment.judge?.metrics[0]).toMatchObject({
      name: 'front-availability',
      direction: 'increase',
      maxBurnRate: 2,
      events: { total: 'sum(req_total)', bad: 'sum(req_total{code=~"5.."})' },
      slo: {
        file: './front.yaml',
        format: 'sloth',
        name: 'front-availability',
        objective: 0.999,
        window: '30d',
        windowMs: 30 * 86_400_000,
      },
    });
  });

  it('name picks one SLO of several', () => {
    const r = parseExperiment(exp('    - { slo: two.yaml, name: front-latency }\n'), file);
    expect(r.ok && r.experiment.judge?.metrics[0]?.slo?.objective).toBe(0.95);
  });

  const refused: [string, string, string[]][] = [
    [
      'several SLOs and no name',
      '    - slo: two.yaml\n',
      [
        'e.yaml:8:12 judge.metrics.0.slo: two.yaml holds 2 SLOs (front-availability, front-latency): name the one to judge with name:',
      ],
    ],
    [
      'a name not found',
      '    - slo: two.yaml\n      name: front-lat\n',
      [
        'e.yaml:9:13 judge.metrics.0.name: no SLO named "front-lat" in two.yaml; it has: front-availability, front-latency',
      ],
    ],
    [
      'no such file',
      '    - slo: ./missing.yaml\n',
      [`e.yaml:8:12 judge.metrics.0.slo: ./missing.yaml: no such file (looked for ${dir}/missing.yaml)`],
    ],
    [
      'events as well',
      '    - slo: front.yaml\n      events: { total: x, bad: y }\n',
      ['e.yaml:9:7 judge.metrics.0.events: give slo or events, not both (the SLO file gives the events)'],
    ],
    [
      'maxRate as well',
      '    - slo: front.yaml\n      maxRate: 0.1\n',
      [
        "e.yaml:9:16 judge.metrics.0.maxRate: the SLO's objective sets the null rate (1 - 0.999); leave maxRate out (maxBurnRate allows a faster burn)",
      ],
    ],
    [
      'a fall',
      '    - slo: front.yaml\n      direction: decrease\n',
      [
        'e.yaml:9:18 judge.metrics.0.direction: an SLO is judged on a rise of its error rate: direction increase (the default)',
      ],
    ],
    [
      'maxBurnRate without an SLO',
      '    - { name: m, events: { total: x, bad: y }, maxRate: 0.1, maxBurnRate: 2 }\n',
      ['e.yaml:8:75 judge.metrics.0.maxBurnRate: maxBurnRate applies to a metric read from an SLO file (slo:)'],
    ],
    [
      'a burn rate nothing could reach',
      '    - { slo: front.yaml, maxBurnRate: 1000 }\n',
      [
        'e.yaml:8:39 judge.metrics.0.maxBurnRate: 1000 x the allowed error rate 0.001 is 100% or more: nothing could burn faster',
      ],
    ],
    [
      'not a file name',
      '    - slo: { objective: 0.99 }\n',
      [
        'e.yaml:8:12 judge.metrics.0.slo: must be the path of an OpenSLO or Sloth SLO file (relative to this file), not a mapping',
      ],
    ],
  ];
  for (const [what, metric, want] of refused)
    it(`refused: ${what}`, () => {
      expect(lines(parseExperiment(exp(metric), file)).map((l) => l.replace(`${dir}/`, ''))).toEqual(want);
    });

  it("refused: a bad SLO file, the experiment's field and the SLO file's own line both told", () => {
    expect(lines(parseExperiment(exp('    - slo: bad.yaml\n'), file)).map((l) => l.replace(`${dir}/`, ''))).toEqual([
      'e.yaml:8:12 judge.metrics.0.slo: bad.yaml is not an SLO file Faultline can judge',
      'bad.yaml:5:16 slos.0.objective: must be a percentage between 0 and 100, both excluded (99.9 is 99.9%), not 0',
    ]);
  });

  it('refused: with a control group', () => {
    const l = lines(
      parseExperiment(
        exp('    - slo: front.yaml\n', '  controlGroup: { replicas: { namePattern: "^b-" } }\n').replace(
          'method:',
          'targets: { namePattern: "^b-" }\nmethod:',
        ),
        file,
      ),
    );
    expect(l.join('\n')).toMatch(/judge\.metrics\.0\.slo: a judged SLO's null is its objective/);
  });

  it("a game day's inline experiment reads its SLO file relative to the game day; a bad one is told at the step", async () => {
    const gd = (metric: string) =>
      `kind: GameDay\ntitle: g\nowner: a\nsteps:\n  - experiment:\n${exp(metric)
        .split('\n')
        .map((l) => `      ${l}`)
        .join('\n')}\n`;
    const ok = await parseGameDay(gd('    - slo: front.yaml\n'), path.join(dir, 'g.yaml'));
    expect(ok.ok, lines(ok).join('\n')).toBe(true);
    const step = ok.ok ? ok.value.steps[0] : undefined;
    expect(step?.kind === 'experiments' && step.experiments[0]?.experiment.judge?.metrics[0]?.slo?.objective).toBe(
      0.999,
    );
    const bad = lines(await parseGameDay(gd('    - slo: bad.yaml\n'), path.join(dir, 'g.yaml')));
    expect(bad.map((l) => l.replaceAll(`${dir}/`, ''))).toEqual([
      'g.yaml:13:18 steps.0.experiment.judge.metrics.0.slo: bad.yaml is not an SLO file Faultline can judge: bad.yaml:5:16 slos.0.objective: must be a percentage between 0 and 100, both excluded (99.9 is 99.9%), not 0',
    ]);
  });

  it('faultline validate reads an SLO file as one', async () => {
    expect(await validateAnyFile(path.join(dir, 'bad.yaml'))).toMatchObject({
      kind: 'SLO',
      problems: [{ line: 5, path: 'slos.0.objective' }],
    });
  });
});
