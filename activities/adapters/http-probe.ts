// HTTP probes: send the configured requests with undici, record latencies in an HDR histogram, and
// judge the sample against the probe's tolerance. Used for steady state, the guard and the after-check.
import * as hdr from 'hdr-histogram-js';
import { Agent, request } from 'undici';
import { durationMs } from '../../faults/duration.ts';
import type { HttpProbe } from '../../experiments/schema.ts';
import type { ProbeSample } from '../../experiments/journal.ts';

const DEFAULT_REQUESTS = 20;
const agents = new Map<string, Agent>();

/** Keep-alive connections per probe, so a sample measures the service rather than TCP setup. */
function agentFor(p: HttpProbe): Agent {
  const key = `${p.name}|${p.concurrency}`;
  let a = agents.get(key);
  if (!a) {
    a = new Agent({ connections: p.concurrency, keepAliveTimeout: 4_000, connect: { timeout: durationMs(p.timeout) } });
    agents.set(key, a);
  }
  return a;
}

export async function closeProbeAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  // closing idle sockets at shutdown: a failure leaves nothing to undo
  await Promise.all(all.map((a) => a.close().catch(() => undefined)));
}

export async function runHttpProbe(p: HttpProbe, signal?: AbortSignal): Promise<ProbeSample> {
  const hist = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const timeoutMs = durationMs(p.timeout);
  const expected = Array.isArray(p.expectStatus) ? p.expectStatus : [p.expectStatus];
  const total = p.duration === undefined ? (p.requests ?? DEFAULT_REQUESTS) : Number.POSITIVE_INFINITY;
  const until = p.duration === undefined ? Number.POSITIVE_INFINITY : Date.now() + durationMs(p.duration);
  const dispatcher = agentFor(p);
  let sent = 0;
  let errors = 0;
  const errorSamples = new Set<string>();

  const one = async () => {
    const t0 = process.hrtime.bigint();
    try {
      const res = await request(p.url, {
        method: p.method,
        headers: p.headers,
        body: p.body,
        dispatcher,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      if (!expected.includes(res.statusCode)) {
        errors++;
        errorSamples.add(`status ${res.statusCode}`);
      }
    } catch (e) {
      errors++;
      const err = e as Error & { code?: string };
      errorSamples.add(
        err.name === 'TimeoutError' || err.name === 'AbortError'
          ? `timeout after ${timeoutMs}ms`
          : (err.code ?? err.message),
      );
    }
    hist.recordValue(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)));
  };

  const workers = Array.from({ length: p.concurrency }, async () => {
    while (sent < total && Date.now() < until && !signal?.aborted) {
      sent++;
      await one();
    }
  });
  await Promise.all(workers);

  const requests = sent;
  const ms = (v: number) => Math.round(v / 10) / 100; // µs -> ms with 2 decimals
  const sample: ProbeSample = {
    probe: p.name,
    at: new Date().toISOString(),
    ok: true,
    requests,
    errors,
    errorRate: requests ? errors / requests : 1,
    p50Ms: ms(hist.getValueAtPercentile(50)),
    p95Ms: ms(hist.getValueAtPercentile(95)),
    p99Ms: ms(hist.getValueAtPercentile(99)),
    maxMs: ms(hist.maxValue),
    violations: [],
    errorSamples: [...errorSamples].slice(0, 5),
  };
  hist.destroy();
  sample.violations = judge(p, sample);
  sample.ok = sample.violations.length === 0;
  return sample;
}

/** The tolerance check, pure. An empty list means the sample holds. */
export function judge(
  p: HttpProbe,
  s: Pick<ProbeSample, 'requests' | 'errorRate' | 'p50Ms' | 'p95Ms' | 'p99Ms'>,
): string[] {
  const t = p.tolerance;
  const out: string[] = [];
  if (s.requests === 0) out.push('no request completed');
  const maxErr = t.maxErrorRate ?? 0;
  if (s.errorRate > maxErr) out.push(`error rate ${(s.errorRate * 100).toFixed(1)}% > ${(maxErr * 100).toFixed(1)}%`);
  for (const q of ['p50', 'p95', 'p99'] as const) {
    const lim = t[q];
    if (lim === undefined) continue;
    const v = s[`${q}Ms`];
    if (v > durationMs(lim)) out.push(`${q} ${v}ms > ${lim}`);
  }
  return out;
}
