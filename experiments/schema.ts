// The one schema of the experiment language. Everything downstream trusts what passes it.
import { z } from 'zod';
import { durationBetween } from '../faults/common-schema.ts';
import { HOST_NAME_RE } from './hosts.ts';
import {
  MAX_GUARD_INTERVAL_MS,
  MAX_PROBE_CONCURRENCY,
  MAX_PROBE_DURATION_MS,
  MAX_PROBE_REQUESTS,
  MAX_PROBE_TIMEOUT_MS,
  MAX_RECOVERY_MS,
  MAX_TOLERANCE_MS,
  MIN_GUARD_INTERVAL_MS,
} from '../faults/limits.ts';
import { MAX_BASELINE_MS, shareOf } from '../judge/guard.ts';
import type { JudgeConfig, JudgedMetricConfig } from '../judge/config.ts';
import { notifySchema } from './notify.ts';

const tolerance = () => durationBetween(1, MAX_TOLERANCE_MS, 'a tolerance above an hour checks nothing');
const probeTimeout = () =>
  durationBetween(1, MAX_PROBE_TIMEOUT_MS, 'one request; a probe runs inside a step with its own time budget');
const probeDuration = () =>
  durationBetween(1, MAX_PROBE_DURATION_MS, 'a probe runs inside a step with its own time budget');
const interval = () => durationBetween(MIN_GUARD_INTERVAL_MS, MAX_GUARD_INTERVAL_MS, 'the longest fault window');
/** A container name, label or route as Docker and the proxy accept them: not empty, bounded. */
const name = (what: string) =>
  z
    .string()
    .min(1, { message: `${what} must not be empty` })
    .max(256, { message: `${what} is at most 256 characters` });
import { faultSpecs } from '../faults/registry.ts';

export const toleranceSchema = z
  .strictObject({
    maxErrorRate: z.number().min(0).max(1).optional().describe('Highest allowed share of failed requests, 0..1.'),
    p50: tolerance().optional().describe('Highest allowed median latency.'),
    p95: tolerance().optional(),
    p99: tolerance().optional(),
  })
  .describe('What the probe tolerates. Omitted fields are not checked; an omitted tolerance means no errors at all.');

export const httpProbeSchema = z
  .strictObject({
    name: z.string().min(1),
    type: z.literal('http'),
    url: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().optional(),
    expectStatus: z
      .union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)])
      .default(200),
    requests: z
      .number()
      .int()
      .min(1)
      .max(MAX_PROBE_REQUESTS)
      .optional()
      .describe('Requests per sample (default 20 unless duration is set).'),
    duration: probeDuration().optional().describe('Send requests for this long instead of a fixed count (up to 60s).'),
    concurrency: z.number().int().min(1).max(MAX_PROBE_CONCURRENCY).default(1),
    timeout: probeTimeout().default('2s').describe('Timeout of one request, more than 0 up to 60s.'),
    tolerance: toleranceSchema.default({ maxErrorRate: 0 }),
  })
  .describe('HTTP probe: error rate and p50/p95/p99 latency, measured with an HDR histogram.');

const promql = z.string().min(1).describe('A PromQL expression.');

export const eventsSchema = z
  .strictObject({
    total: promql.describe('PromQL for the raw total event counter (one series; no rate() or increase()).'),
    bad: promql.optional().describe('PromQL for the raw bad-event counter (give bad or good).'),
    good: promql.optional().describe('PromQL for the raw good-event counter (give bad or good).'),
  })
  .describe('Two raw counters read at each tick and differenced; counter resets are handled.');

export const prometheusProbeSchema = z
  .strictObject({
    name: z.string().min(1),
    type: z.literal('prometheus'),
    url: z
      .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
      .optional()
      .describe('The Prometheus server; default PROMETHEUS_URL, else http://127.0.0.1:9090.'),
    events: eventsSchema.optional(),
    query: promql.optional().describe('A gauge: one series, checked against min and max.'),
    min: z.number().optional().describe('Query form: lowest allowed value.'),
    max: z.number().optional().describe('Query form: highest allowed value.'),
    maxBadRate: z.number().min(0).max(1).optional().describe('Events form: highest allowed bad-event share, 0..1.'),
    window: probeDuration().default('5s').describe('Events form: how long one sample counts events.'),
    noData: z
      .enum(['fail', 'pass'])
      .default('fail')
      .describe('An empty result (or no event in the window): fail the sample, or let it pass.'),
  })
  .describe('Prometheus probe: events (total and bad or good counters, differenced) or a query (a gauge).');

export const probeSchema = z.discriminatedUnion('type', [httpProbeSchema, prometheusProbeSchema]);

/** An SLO file a judged metric names, as the experiment's resolve step read it (experiments/slo.ts). */
export const sloTargetSchema = z.strictObject({
  file: z.string().min(1),
  format: z.enum(['openslo', 'sloth']),
  name: z.string().min(1),
  objective: z.number().gt(0).lt(1),
  window: z.string().min(1),
  windowMs: z.number().int().gt(0),
});

export const judgedMetricSchema = z
  .strictObject({
    name: z.string().min(1),
    url: z
      .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
      .optional()
      .describe('The Prometheus server; default PROMETHEUS_URL, else http://127.0.0.1:9090.'),
    events: eventsSchema,
    direction: z
      .enum(['increase', 'decrease', 'either'])
      .default('increase')
      .describe(
        'Which change fails: a higher bad-event rate (increase), a lower one (decrease), or both. A direction the baseline leaves nothing to detect in (a rate of 0% cannot fall, one of 100% cannot rise) is refused at baseline.',
      ),
    allowedIncrease: z
      .number()
      .gt(1)
      .default(2)
      .describe(
        "How far the rate may move from the baseline's bound, on the odds scale: increase, the bad-event odds may reach the bound's times this (about the rate times this while it is small); decrease, they may fall to the bound's divided by this.",
      ),
    maxRate: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe(
        'A fixed null bad-event rate: used instead of the baseline when no baseline is measured, else a cap (increase only).',
      ),
    absentMeansZero: z
      .boolean()
      .default(false)
      .describe(
        'An expression that returns no series reads as 0, as `or vector(0)` would (a counter that does not exist until its first event). Without it, no series at baseline is not-started and no series during the window is no data.',
      ),
    maxNoData: z
      .union([z.number(), z.string()])
      .superRefine((v, ctx) => {
        if (shareOf(v) === undefined)
          ctx.addIssue({ code: 'custom', message: 'must be a share from 0 to 1 or a percentage such as 10%' });
      })
      .default('10%')
      .describe(
        "The largest share of the judge's ticks this metric may have no data for (an empty result or a query error) before the run is inconclusive: 0 to 1, or a percentage such as 10%. A window with no event at all is inconclusive whatever this says.",
      ),
    criticalIncrease: z
      .number()
      .gt(1)
      .optional()
      .describe(
        "A tick whose own rate passes the baseline bound's odds x this (decrease: / this) aborts at once (not anytime-valid).",
      ),
    minEvents: z.number().int().min(1).default(20).describe('Fewest events in a tick for criticalIncrease.'),
    group: z.string().min(1).optional().describe('Metric group (Kayenta); default: the metric name.'),
    critical: z.boolean().default(false).describe('A failing critical metric fails the whole run (score 0).'),
    slo: sloTargetSchema
      .optional()
      .describe(
        'An OpenSLO (openslo/v1) or Sloth (prometheus/v1) SLO file, relative to this file, in place of events: its error and total queries are judged, its objective is the null (error rate at most 1 - objective), and the report shows the error budget burned. name picks the SLO when the file holds several.',
      ),
    maxBurnRate: z
      .number()
      .min(1)
      .optional()
      .describe(
        'With slo: the burn rate the experiment may reach (the null is this x (1 - objective)); default 1, the objective itself.',
      ),
  })
  .describe('A metric the judge watches during the fault window, tested with an anytime-valid e-process.');

/** The placeholder a judged metric's expressions carry in control-group mode (see controlGroupSchema). */
export const GROUP_PLACEHOLDER = '$GROUP';

export const controlGroupSchema = z
  .strictObject({
    replicas: z
      .strictObject({
        names: z.array(name('a container name')).min(1).max(1000).optional(),
        namePattern: z.string().min(1).max(256).optional(),
        labels: z.record(name('a label name'), z.string().max(4096)).optional(),
      })
      .optional()
      .describe(
        "The service's replicas (a selector like targets'); default: the targets selector. The faulted ones are the experiment group, the others the control.",
      ),
  })
  .describe(
    'ChAP: judge the faulted replicas against untouched replicas of the same service over the same ticks. Every judged expression holds $GROUP, replaced by a regular expression of the group\'s container names (e.g. upstream=~"$GROUP").',
  );

export const judgeSchema = z
  .strictObject({
    alpha: z
      .number()
      .gt(0)
      .max(0.5)
      .default(0.05)
      .describe('Chance of ever aborting a healthy run, over all metrics (abort at E >= m / alpha).'),
    interval: interval().default('1s').describe('Time between judge ticks (counter reads).'),
    baseline: z
      .strictObject({
        window: durationBetween(1, MAX_BASELINE_MS, 'the longest baseline measured before any fault')
          .default('10s')
          .describe('Measured during steady state before the faults.'),
        confidence: z.number().gt(0).lt(1).default(0.95).describe('Level of the one-sided upper bound.'),
      })
      .default({ window: '10s', confidence: 0.95 }),
    metrics: z.array(judgedMetricSchema).min(1),
    controlGroup: controlGroupSchema.optional(),
    groups: z.record(z.string(), z.number().min(0)).optional().describe('Group weights (Kayenta); default equal.'),
    thresholds: z
      .strictObject({ pass: z.number().min(0).max(100).default(95), marginal: z.number().min(0).max(100).default(75) })
      .default({ pass: 95, marginal: 75 })
      .describe('Score thresholds of the final verdict: pass, marginal, else fail.'),
  })
  .describe('The judged guard: baselines, an anytime-valid sequential test per metric, a scored verdict.');

/** Every fault entry, one member per registered kind (the registry's spec tuple keeps each kind's type). */
export const faultSchema = z.discriminatedUnion('kind', faultSpecs);
/** A fault entry of any kind, as parsed. */
export type FaultEntry = z.infer<typeof faultSchema>;

export const targetsSchema = z
  .strictObject({
    names: z
      .array(name('a container name'))
      .min(1, { message: 'an empty name list selects nothing specific: give at least one container name' })
      .max(1000)
      .optional()
      .describe('Exact container names.'),
    namePattern: z
      .string()
      .min(1, { message: 'an empty pattern matches every container: give a specific regular expression' })
      .max(256)
      .optional()
      .describe('Regular expression matched against container names; one that matches every name is refused.'),
    labels: z
      .record(name('a label name'), z.string().max(4096))
      .refine((l) => Object.keys(l).length > 0, {
        message: 'an empty label map matches every container on the host: give at least one label',
      })
      .optional()
      .describe('Every label must match; at least one.'),
    hosts: z
      .array(
        z.string().regex(HOST_NAME_RE, {
          message: 'a host name: letters, digits, ".", "_" and "-", starting with a letter or digit',
        }),
      )
      .min(1, { message: 'an empty host list selects nothing: give at least one host name, or leave hosts out' })
      .max(100)
      .optional()
      .describe('Only containers on these registered hosts (faultline hosts); default every host of the fleet.'),
    mode: z.enum(['one', 'all', 'count', 'percent']).default('one'),
    count: z.number().int().min(1).optional().describe('With mode: count.'),
    percent: z.number().gt(0).max(100).optional().describe('With mode: percent (rounded up).'),
    seed: z.number().int().min(0).optional().describe('Seed for the random choice; recorded in history when omitted.'),
  })
  .describe(
    'Which containers the container faults hit. Containers labelled faultline.protected=true are never selected.',
  );

export const guardSchema = z.strictObject({
  probes: z.array(probeSchema).min(1).max(20),
  interval: interval().default('1s').describe('Time between guard samples, 50ms to 24h; sub-second allowed.'),
  failuresToAbort: z.number().int().min(1).max(100).default(1).describe('Consecutive failing samples that abort.'),
  maxGap: interval()
    .optional()
    .describe(
      'Longest a fault window may go without a guard sample (a dead, stalled or late guard); longer is a guard failure: the faults are reverted. Default three intervals, at least 1s.',
    ),
  minCoverage: z
    .number()
    .gt(0)
    .max(1)
    .default(0.95)
    .describe(
      'Share of each fault window the guard must watch (and of the samples due it must take), 0..1; below it a run is never passed.',
    ),
});

export const blastRadiusSchema = z
  .strictObject({
    maxTargets: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('Most targets the method may touch: selected containers and proxy routes together.'),
    maxPercent: z.number().gt(0).max(100).default(100).describe('Largest share of the matched fleet that may be hit.'),
    maxTrafficPercent: z
      .number()
      .gt(0)
      .max(100)
      .default(100)
      .describe(
        'Largest share of traffic a proxy or HTTP fault may touch (http.* percentage, proxy.* toxicity x 100; a partition is 100).',
      ),
  })
  .describe('How much the experiment may hurt: every fault counts, containers, proxy routes and HTTP rules alike.');

export const experimentSchema = z
  .strictObject({
    apiVersion: z.literal('faultline/v1').default('faultline/v1'),
    title: z.string().min(1).max(200),
    description: z.string().optional(),
    owner: z.string().optional(),
    tags: z.array(z.string()).optional(),
    environment: z
      .string()
      .min(1)
      .optional()
      .describe('Environment for the admission policy (per-environment limits and approvals).'),
    admission: z
      .strictObject({
        wait: durationBetween(0, 86_400_000, 'a run that waits a day for admission should be scheduled instead')
          .default('0s')
          .describe('How long to wait for busy targets, a concurrency slot or an approval before not-started.'),
      })
      .default({ wait: '0s' }),
    hypothesis: z.strictObject({
      statement: z.string().min(1).describe('What should stay true while the faults are active.'),
      probes: z.array(probeSchema).min(1).max(20),
    }),
    targets: targetsSchema.optional(),
    method: z
      .array(faultSchema)
      .min(1)
      .max(50)
      .describe('Faults injected together; each is reverted after its duration.'),
    guard: guardSchema.optional(),
    judge: judgeSchema.optional(),
    blastRadius: blastRadiusSchema.default({ maxTargets: 1, maxPercent: 100, maxTrafficPercent: 100 }),
    afterCheck: z
      .strictObject({
        recoveryTimeout: durationBetween(0, MAX_RECOVERY_MS, 'the longest after-check')
          .default('30s')
          .describe('How long the system may take to recover after revert.'),
      })
      .default({ recoveryTimeout: '30s' }),
    notify: notifySchema.optional(),
  })
  .describe('A Faultline chaos experiment.');

export type Experiment = z.infer<typeof experimentSchema>;
export type ExperimentInput = z.input<typeof experimentSchema>;
export type Probe = z.infer<typeof probeSchema>;
export type HttpProbe = z.infer<typeof httpProbeSchema>;
export type PrometheusProbe = z.infer<typeof prometheusProbeSchema>;
export type Judge = z.infer<typeof judgeSchema>;
export type ControlGroup = z.infer<typeof controlGroupSchema>;
export type JudgedMetric = z.infer<typeof judgedMetricSchema>;
/** What this schema parses fits what the judge reads (judge/config.ts): a type error here when they drift. */
export type JudgeFits = [Fits<Judge, JudgeConfig>, Fits<JudgedMetric, JudgedMetricConfig>];
type Fits<T extends U, U> = [T, U];
export type Fault = z.infer<typeof faultSchema>;
export type Targets = z.infer<typeof targetsSchema>;
export type Guard = z.infer<typeof guardSchema>;
export type BlastRadius = z.infer<typeof blastRadiusSchema>;
export type Tolerance = z.infer<typeof toleranceSchema>;
