// MetricsPort over Prometheus's HTTP API (GET /api/v1/query, instant queries). Only this file knows
// Prometheus speaks HTTP. A rejected expression is a MetricQueryError (retrying cannot help); a server
// that does not answer is an InfrastructureError.
import { request } from 'undici';
import { InfrastructureError, MetricQueryError } from '../../errors.ts';

export interface MetricSeries {
  labels: Record<string, string>;
  value: number;
}

export interface MetricsPort {
  readonly url: string;
  /** Evaluates an instant query now (or at `atMs`); a scalar answer is one series without labels. */
  instant(expr: string, atMs?: number): Promise<MetricSeries[]>;
}

export const DEFAULT_PROMETHEUS_URL = 'http://127.0.0.1:9090';

interface ApiAnswer {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

export class PrometheusClient implements MetricsPort {
  readonly url: string;

  constructor(url: string = process.env.PROMETHEUS_URL || DEFAULT_PROMETHEUS_URL) {
    this.url = url.replace(/\/+$/, '');
  }

  async instant(expr: string, atMs?: number): Promise<MetricSeries[]> {
    const q = new URLSearchParams({ query: expr });
    if (atMs !== undefined) q.set('time', (atMs / 1000).toFixed(3));
    let status: number;
    let text: string;
    try {
      const res = await request(`${this.url}/api/v1/query?${q.toString()}`, {
        headers: { accept: 'application/json', 'user-agent': 'faultline' },
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new InfrastructureError(`Prometheus at ${this.url} does not answer: ${err.code ?? err.message}`);
    }
    let body: ApiAnswer;
    try {
      body = JSON.parse(text) as ApiAnswer;
    } catch {
      throw new InfrastructureError(
        `Prometheus at ${this.url} answered HTTP ${status} with no JSON: ${text.slice(0, 200)}`,
      );
    }
    if (body.status !== 'success') {
      const msg = `Prometheus rejected ${JSON.stringify(expr)}: ${body.errorType ?? 'error'}: ${body.error ?? `HTTP ${status}`}`;
      // 400 bad_data / 422 execution: the expression is wrong. 5xx / timeouts: the server is in trouble.
      if (status === 400 || status === 422) throw new MetricQueryError(msg);
      throw new InfrastructureError(msg);
    }
    const data = body.data;
    if (!data) return [];
    if (data.resultType === 'scalar') return [{ labels: {}, value: Number((data.result as [number, string])[1]) }];
    if (data.resultType === 'vector')
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
        labels: r.metric,
        value: Number(r.value[1]),
      }));
    throw new MetricQueryError(
      `${JSON.stringify(expr)} is a ${data.resultType} expression; a probe needs an instant vector or a scalar`,
    );
  }
}

const clients = new Map<string, PrometheusClient>();
/** One client per server URL (the probe's own, else PROMETHEUS_URL, else loopback). */
export function prometheusFor(url?: string): PrometheusClient {
  const key = url || process.env.PROMETHEUS_URL || DEFAULT_PROMETHEUS_URL;
  let c = clients.get(key);
  if (!c) clients.set(key, (c = new PrometheusClient(key)));
  return c;
}
