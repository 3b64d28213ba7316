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

/** Fields every fault entry has, whatever its kind. */
export const faultBase = {
  duration: durationBetween(MIN_FAULT_MS, MAX_FAULT_MS, 'the longest fault window Faultline runs').describe(
    'How long the fault stays injected before it is reverted (100ms to 24h).',
  ),
  description: z.string().max(1000).optional(),
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
