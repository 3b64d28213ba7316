// Runs one probe of any type, for steady state, the guard and the after-check: HTTP probes through
// adapters/http-probe.ts (undici), Prometheus probes through prometheus-probe.ts.
import type { Probe } from '../experiments/schema.ts';
import type { ProbeSample } from '../experiments/journal.ts';
import { runHttpProbe } from './adapters/http-probe.ts';
import { runPrometheusProbe } from './prometheus-probe.ts';

export { closeProbeAgents } from './adapters/http-probe.ts';

export async function runProbe(p: Probe, signal?: AbortSignal): Promise<ProbeSample> {
  return p.type === 'prometheus' ? runPrometheusProbe(p, signal) : runHttpProbe(p, signal);
}
