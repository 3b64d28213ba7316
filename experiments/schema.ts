// The one schema of the experiment language. Everything downstream trusts what passes it.
import { z } from 'zod';
import { durationSchema } from '../faults/common-schema.ts';
import { faultSpecs } from '../faults/registry.ts';

export const toleranceSchema = z
  .strictObject({
    maxErrorRate: z.number().min(0).max(1).optional().describe('Highest allowed share of failed requests, 0..1.'),
    p50: durationSchema.optional().describe('Highest allowed median latency.'),
    p95: durationSchema.optional(),
    p99: durationSchema.optional(),
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
      .max(100_000)
      .optional()
      .describe('Requests per sample (default 20 unless duration is set).'),
    duration: durationSchema.optional().describe('Send requests for this long instead of a fixed count.'),
    concurrency: z.number().int().min(1).max(256).default(1),
    timeout: durationSchema.default('2s'),
    tolerance: toleranceSchema.default({ maxErrorRate: 0 }),
  })
  .describe('HTTP probe: error rate and p50/p95/p99 latency, measured with an HDR histogram.');

export const probeSchema = z.discriminatedUnion('type', [httpProbeSchema]);

/** Every fault entry, one member per registered kind (the registry's spec tuple keeps each kind's type). */
export const faultSchema = z.discriminatedUnion('kind', faultSpecs);
/** A fault entry of any kind, as parsed. */
export type FaultEntry = z.infer<typeof faultSchema>;

export const targetsSchema = z
  .strictObject({
    names: z.array(z.string().min(1)).min(1).optional().describe('Exact container names.'),
    namePattern: z.string().min(1).optional().describe('Regular expression matched against container names.'),
    labels: z.record(z.string(), z.string()).optional().describe('Every label must match.'),
    mode: z.enum(['one', 'all', 'count', 'percent']).default('one'),
    count: z.number().int().min(1).optional().describe('With mode: count.'),
    percent: z.number().gt(0).max(100).optional().describe('With mode: percent (rounded up).'),
    seed: z.number().int().min(0).optional().describe('Seed for the random choice; recorded in history when omitted.'),
  })
  .describe(
    'Which containers the container faults hit. Containers labelled faultline.protected=true are never selected.',
  );

export const guardSchema = z.strictObject({
  probes: z.array(probeSchema).min(1),
  interval: durationSchema.default('1s').describe('Time between guard samples; sub-second allowed.'),
  failuresToAbort: z.number().int().min(1).max(100).default(1).describe('Consecutive failing samples that abort.'),
});

export const blastRadiusSchema = z.strictObject({
  maxTargets: z.number().int().min(1).default(1),
  maxPercent: z.number().gt(0).max(100).default(100).describe('Largest share of the matched fleet that may be hit.'),
});

export const experimentSchema = z
  .strictObject({
    apiVersion: z.literal('faultline/v1').default('faultline/v1'),
    title: z.string().min(1).max(200),
    description: z.string().optional(),
    owner: z.string().optional(),
    tags: z.array(z.string()).optional(),
    hypothesis: z.strictObject({
      statement: z.string().min(1).describe('What should stay true while the faults are active.'),
      probes: z.array(probeSchema).min(1),
    }),
    targets: targetsSchema.optional(),
    method: z.array(faultSchema).min(1).describe('Faults injected together; each is reverted after its duration.'),
    guard: guardSchema.optional(),
    blastRadius: blastRadiusSchema.default({ maxTargets: 1, maxPercent: 100 }),
    afterCheck: z
      .strictObject({
        recoveryTimeout: durationSchema
          .default('30s')
          .describe('How long the system may take to recover after revert.'),
      })
      .default({ recoveryTimeout: '30s' }),
  })
  .describe('A Faultline chaos experiment.');

export type Experiment = z.infer<typeof experimentSchema>;
export type ExperimentInput = z.input<typeof experimentSchema>;
export type Probe = z.infer<typeof probeSchema>;
export type HttpProbe = z.infer<typeof httpProbeSchema>;
export type Fault = z.infer<typeof faultSchema>;
export type Targets = z.infer<typeof targetsSchema>;
export type Guard = z.infer<typeof guardSchema>;
export type BlastRadius = z.infer<typeof blastRadiusSchema>;
export type Tolerance = z.infer<typeof toleranceSchema>;
