// Small zod building blocks shared by the experiment schema and the fault kind specs. Every duration is
// bounded (faults/limits.ts): a value that validates fits the timer or the proxy attribute that carries it.
import { z } from 'zod';
import { DURATION_PATTERN, durationMs, isDuration } from './duration.ts';
import { INJECT_ACTIVITY_MS, MAX_FAULT_MS, MAX_GRACE_SECONDS, MAX_TIMER_MS, MIN_FAULT_MS } from './limits.ts';

/** A bound as a person writes it: 86400000 -> "24h", 1500 -> "1500ms". */
export function formatBound(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * A duration string ("250ms", "1.5s", "2m", "1h") between minMs and maxMs inclusive; `why` says where the
 * maximum comes from, so the message explains itself.
 */
export function durationBetween(minMs: number, maxMs: number, why = ''): z.ZodString {
  return z
    .string()
    .regex(new RegExp(DURATION_PATTERN), { message: 'must be a duration such as 250ms, 30s or 2m' })
    .superRefine((text, ctx) => {
      if (!isDuration(text)) return; // the pattern above already said so
      const ms = durationMs(text);
      if (ms < minMs)
        ctx.addIssue({
          code: 'custom',
          message: minMs <= 1 ? 'must be greater than zero' : `must be at least ${formatBound(minMs)}`,
        });
      else if (!(ms <= maxMs))
        ctx.addIssue({ code: 'custom', message: `must be at most ${formatBound(maxMs)}${why ? ` (${why})` : ''}` });
    })
    .describe(`A duration from ${formatBound(minMs)} to ${formatBound(maxMs)}: a number followed by ms, s, m or h.`);
}

/** Any duration a timer can carry: 0 to 2^31-1 ms (Node's timers fire at once beyond it). */
export const durationSchema = durationBetween(0, MAX_TIMER_MS, "beyond it Node's timers fire at once");

/** One step of a progressive exposure, as parsed: its share of the traffic (percent) and its own hold, if any. */
export interface ExposureStep {
  share: number;
  hold?: string;
}

const PERCENT_RE = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/;
const holdSchema = durationBetween(MIN_FAULT_MS, MAX_FAULT_MS, 'the longest fault window Faultline runs');

/** A step's share: "5%", more than 0, at most 100 %; the issue names what is wrong, at the step's own path. */
function stepShare(v: unknown, ctx: z.RefinementCtx, path: (string | number)[]): number | undefined {
  const m = typeof v === 'string' ? PERCENT_RE.exec(v) : null;
  const share = m ? Number(m[1]) : NaN;
  const fail = (message: string) => void ctx.addIssue({ code: 'custom', message, path });
  if (Number.isNaN(share)) fail('must be a share of the traffic such as 5% (or { share: 5%, hold: 30s })');
  else if (share > 100) fail(`must be at most 100%: ${share}% is more traffic than there is`);
  else if (!(share >= 0.01)) fail('must be at least 0.01%: a step of 0% touches no traffic');
  else return share;
  return undefined;
}

/** A step as written: "5%", or { share: 5%, hold: 30s } with a hold of its own. */
const exposureStep = z
  .custom<string | { share: string; hold?: string }>(() => true)
  .transform((v, ctx): ExposureStep => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o))
        if (k !== 'share' && k !== 'hold')
          ctx.addIssue({ code: 'custom', message: `unknown field "${k}" (a step has share and hold)`, path: [k] });
      if (o.share === undefined)
        ctx.addIssue({ code: 'custom', message: 'required field "share" is missing (e.g. 5%)', path: ['share'] });
      const share = o.share === undefined ? undefined : stepShare(o.share, ctx, ['share']);
      let hold: string | undefined;
      if (o.hold !== undefined) {
        const h = holdSchema.safeParse(o.hold);
        if (h.success) hold = h.data;
        else for (const i of h.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: ['hold'] });
      }
      return share === undefined ? z.NEVER : { share, ...(hold ? { hold } : {}) };
    }
    const share = stepShare(v, ctx, []);
    return share === undefined ? z.NEVER : { share };
  })
  // For editors: what the JSON Schema says (zod cannot describe the transform above).
  .meta({
    anyOf: [
      { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*%\\s*$' },
      {
        type: 'object',
        properties: { share: { type: 'string' }, hold: { type: 'string' } },
        required: ['share'],
        additionalProperties: false,
      },
    ],
  });

/**
 * Progressive exposure of a proxy or HTTP fault: its share of the traffic grows in steps, each held for its
 * hold and judged (the judge's e-process) before the next begins; the last step lasts the rest of the fault's
 * duration. Cross-field rules (experiments/rules.ts): proxy and HTTP kinds only, steps increasing, a hold for
 * every step, the holds within the duration, a judge.
 */
export const exposureField = z
  .strictObject({
    steps: z
      .array(exposureStep)
      .min(2, { message: 'give at least two steps (one step is no progression: set the share on the fault)' })
      .max(20, { message: 'at most 20 steps' })
      .describe('Shares of the traffic, increasing, e.g. [1%, 5%, 25%, 100%]; a step may be { share: 5%, hold: 1m }.'),
    hold: holdSchema.optional().describe('How long each step is held (a step may give its own hold).'),
  })
  .describe(
    'Grow the fault in steps of traffic; each step is judged by the e-process before the next begins, and the first that fails ends the exposure and reverts.',
  );
export type Exposure = z.output<typeof exposureField>;

/** Fields every fault entry has, whatever its kind. */
export const faultBase = {
  duration: durationBetween(MIN_FAULT_MS, MAX_FAULT_MS, 'the longest fault window Faultline runs').describe(
    'How long the fault stays injected before it is reverted (100ms to 24h).',
  ),
  description: z.string().max(1000).optional(),
  exposure: exposureField.optional(),
};

/** container.stop and container.restart: SIGTERM to SIGKILL, bounded so the wait fits the inject step. */
export const gracePeriodField = z
  .number()
  .int()
  .min(0)
  .max(MAX_GRACE_SECONDS, {
    message: `must be at most ${MAX_GRACE_SECONDS} seconds: the inject step has ${INJECT_ACTIVITY_MS / 1000}s and waits the grace period inside it`,
  })
  .default(10)
  .describe(`Seconds between SIGTERM and SIGKILL, 0 to ${MAX_GRACE_SECONDS} (fits the inject step).`);
