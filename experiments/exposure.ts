// Progressive exposure, pure and workflow-safe: the steps of the one fault of a method that grows in steps of
// traffic (its `exposure`), each step's hold, and the fault's spec at a step's share. The validation rules
// (experiments/rules.ts), planning's summaries, the workflow (workflows/exposure.ts) and the CLI read it here.
import type { Experiment, FaultEntry } from './schema.ts';
import { durationMs, formatMs } from '../faults/duration.ts';

/** One planned step: its share of the traffic in percent, and how long it is held before the next (ms). */
export interface PlannedStep {
  share: number;
  holdMs: number;
}

/** The exposed fault (its index in the method) and its steps; undefined when no fault has an exposure. */
export function exposureOf(e: Pick<Experiment, 'method'>): { faultIndex: number; steps: PlannedStep[] } | undefined {
  const faultIndex = e.method.findIndex((f) => !!f.exposure);
  const f = e.method[faultIndex];
  if (!f?.exposure) return undefined;
  return { faultIndex, steps: plannedSteps(f) };
}

/**
 * A fault's steps with their holds (a step's own, else the exposure's). The last step lasts the rest of the
 * fault's duration: its hold is what is left after the others (at least its own hold, by validation).
 */
export function plannedSteps(f: FaultEntry): PlannedStep[] {
  const x = f.exposure;
  if (!x) return [];
  const total = durationMs(f.duration);
  const holds = x.steps.map((s) => durationMs(s.hold ?? x.hold ?? '0ms'));
  const before = holds.slice(0, -1).reduce((a, b) => a + b, 0);
  return x.steps.map((s, i) => ({
    share: s.share,
    holdMs: i === x.steps.length - 1 ? Math.max(0, total - before) : (holds[i] ?? 0),
  }));
}

/** The field a proxy or HTTP kind carries its share of the traffic in: percentage (http.*), toxicity (proxy.*). */
export function shareField(f: FaultEntry): 'percentage' | 'toxicity' {
  return f.kind.startsWith('http.') ? 'percentage' : 'toxicity';
}

/** The fault's spec at a step's share (percent): http.* percentage, proxy.* toxicity (0..1). */
export function specAtShare<F extends FaultEntry>(f: F, share: number): F {
  return shareField(f) === 'percentage' ? { ...f, percentage: share } : { ...f, toxicity: share / 100 };
}

/** "1% → 5% → 25% → 100%", each held 30s. */
export function stepsText(steps: PlannedStep[]): string {
  return steps.map((s) => `${s.share}% for ${formatMs(s.holdMs)}`).join(' → ');
}
