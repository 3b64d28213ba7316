// kind: Policy, the admission policy file: concurrency limits (global and per environment), exclusive
// targets, blackout windows in a time zone, environments that need an approval. Parsed with positions;
// contradictions are named rules.
import { z } from 'zod';
import { WEEKDAYS, hhmm, isTimeZone } from './blackout.ts';
import type { Policy } from './admission.ts';
import { notifySchema } from './notify.ts';
import { parseDocumentText, readDocumentFile, type DocumentKind, type Parsed, type Rule } from './document.ts';

export const timeZoneSchema = z
  .string()
  .refine(isTimeZone, { message: 'unknown time zone: use an IANA name such as Europe/Paris or UTC' })
  .describe('IANA time zone, e.g. Europe/Paris.');
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be a time of day "HH:MM" (00:00-23:59)' });
const date = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, { message: 'must be a date "YYYY-MM-DD"' });
const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time such as 2026-12-01T00:00:00Z' });

export const blackoutSchema = z.strictObject({
  name: z.string().min(1),
  timeZone: timeZoneSchema.default('UTC'),
  weekdays: z.array(z.enum(WEEKDAYS)).min(1).optional(),
  hours: z.strictObject({ from: clock, to: clock }).optional(),
  dates: z.array(date).min(1).optional(),
  from: instant.optional().describe('A freeze starts here.'),
  until: instant.optional().describe('A freeze ends here.'),
});

export const policySchema = z
  .strictObject({
    apiVersion: z.literal('faultline/v1').default('faultline/v1'),
    kind: z.literal('Policy'),
    maxConcurrent: z.number().int().min(1).optional().describe('Experiments injecting at once, everywhere.'),
    exclusiveTargets: z.boolean().default(true),
    environments: z
      .record(
        z.string().min(1),
        z.strictObject({ maxConcurrent: z.number().int().min(1).optional(), requireApproval: z.boolean().optional() }),
      )
      .default({}),
    blackouts: z.array(blackoutSchema).default([]),
    notify: notifySchema
      .optional()
      .describe(
        'Webhooks told of every admitted or refused run (from its admission on: start, inject, abort, verdict, stuck).',
      ),
  })
  .describe('The admission policy every run passes before it injects anything.');

export type PolicyFile = z.infer<typeof policySchema>;

export const policyRules: Rule<PolicyFile>[] = [
  {
    name: 'environment-limit-within-global',
    check: (p) =>
      Object.entries(p.environments).flatMap(([name, env]) =>
        p.maxConcurrent !== undefined && env.maxConcurrent !== undefined && env.maxConcurrent > p.maxConcurrent
          ? [
              {
                path: ['environments', name, 'maxConcurrent'],
                message: `${env.maxConcurrent} contradicts the global maxConcurrent ${p.maxConcurrent}: an environment cannot run more than everything together`,
              },
            ]
          : [],
      ),
  },
  {
    name: 'blackout-has-a-condition',
    check: (p) =>
      p.blackouts.flatMap((w, i) =>
        !w.weekdays && !w.hours && !w.dates && !w.from && !w.until
          ? [
              {
                path: ['blackouts', i],
                message: 'a window needs weekdays, hours, dates, from or until (to stop everything, pull the lever)',
              },
            ]
          : [],
      ),
  },
  {
    name: 'blackout-hours-not-empty',
    check: (p) =>
      p.blackouts.flatMap((w, i) =>
        w.hours && hhmm(w.hours.from) === hhmm(w.hours.to)
          ? [{ path: ['blackouts', i, 'hours'], message: `from and to are both ${w.hours.from}: an empty window` }]
          : [],
      ),
  },
  {
    name: 'freeze-ends-after-it-starts',
    check: (p) =>
      p.blackouts.flatMap((w, i) =>
        w.from && w.until && Date.parse(w.until) <= Date.parse(w.from)
          ? [{ path: ['blackouts', i, 'until'], message: `${w.until} is not after from ${w.from}` }]
          : [],
      ),
  },
  {
    name: 'blackout-names-unique',
    check: (p) =>
      p.blackouts.flatMap((w, i) =>
        p.blackouts.findIndex((o) => o.name === w.name) < i
          ? [{ path: ['blackouts', i, 'name'], message: `another window is already named "${w.name}"` }]
          : [],
      ),
  },
];

export function toPolicy(p: PolicyFile, source?: string): Policy {
  return {
    maxConcurrent: p.maxConcurrent,
    exclusiveTargets: p.exclusiveTargets,
    environments: p.environments,
    blackouts: p.blackouts,
    ...(p.notify ? { notify: p.notify } : {}),
    source,
  };
}

export const policyKind: DocumentKind<PolicyFile> = {
  noun: 'policy',
  notAMapping: 'a policy must be a mapping with kind: Policy',
  schema: policySchema,
  rules: policyRules,
};

export async function parsePolicy(text: string, file = '<input>'): Promise<Parsed<Policy>> {
  const r = parseDocumentText(text, file, policyKind);
  return r.ok ? { ok: true, value: toPolicy(r.value, file) } : r;
}

export async function parsePolicyFile(file: string): Promise<Parsed<Policy>> {
  const t = await readDocumentFile(file, 'policy');
  return t.ok ? parsePolicy(t.value, file) : t;
}
