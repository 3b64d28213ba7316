// GET /metrics in Prometheus text format, on a registry of its own (never prom-client's global one, so
// two servers in one process never mix). Toxiproxy's byte counters under Toxiproxy's names and labels,
// plus Faultline's connection counters and the active rules, plus the Node runtime's own metrics as
// Toxiproxy serves Go's. Counts are read off the proxies when scraped: nothing on the data path.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProxyCollection } from './proxy-collection.ts';

const TRAFFIC_LABELS = ['direction', 'proxy', 'listener', 'upstream'] as const;

export function createMetrics(c: ProxyCollection): Registry {
  const registry = new Registry();
  // 100 ms event-loop sampling: the default (10 ms) would wake an idle proxy 100 times a second.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });

  const traffic = (which: 'received' | 'sent') =>
    new Counter({
      name: `toxiproxy_proxy_${which}_bytes_total`,
      help: `Bytes ${which} by the proxy, per direction (upstream: client to upstream; downstream: back).`,
      labelNames: TRAFFIC_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const p of c.list()) {
          const t = p.traffic();
          for (const direction of ['upstream', 'downstream'] as const)
            this.inc({ direction, proxy: p.name, listener: p.listen, upstream: p.upstream }, t[direction][which]);
        }
      },
    });
  traffic('received');
  traffic('sent');

  new Counter({
    name: 'faultline_proxy_connections_total',
    help: 'Client connections accepted by the proxy.',
    labelNames: ['proxy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of c.list()) this.inc({ proxy: p.name }, p.traffic().connections);
    },
  });
  new Gauge({
    name: 'faultline_proxy_connections_active',
    help: 'Client connections open through the proxy now.',
    labelNames: ['proxy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of c.list()) this.set({ proxy: p.name }, p.connectionCount);
    },
  });
  new Gauge({
    name: 'faultline_proxy_enabled',
    help: '1 while the proxy listens, 0 while it is disabled (down).',
    labelNames: ['proxy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of c.list()) this.set({ proxy: p.name }, p.enabled ? 1 : 0);
    },
  });
  new Gauge({
    name: 'faultline_proxy_toxic_toxicity',
    help: 'Active rules: one series per toxic, valued at its toxicity (share of connections it applies to).',
    labelNames: ['proxy', 'toxic', 'type', 'stream'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of c.list())
        for (const t of p.toxics.all())
          this.set({ proxy: p.name, toxic: t.name, type: t.type.type, stream: t.stream }, t.toxicity);
    },
  });
  new Gauge({
    name: 'faultline_proxy_toxic_expiry_seconds',
    help: 'Seconds until a leased toxic removes itself (only toxics with a lease).',
    labelNames: ['proxy', 'toxic'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const p of c.list())
        for (const t of p.toxics.all())
          if (t.expiresAt !== undefined)
            this.set({ proxy: p.name, toxic: t.name }, Math.max(0, (t.expiresAt - now) / 1000));
    },
  });
  return registry;
}
