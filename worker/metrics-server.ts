// The metrics endpoint of a worker or an agent (`--metrics ADDR`, FAULTLINE_METRICS): GET /metrics serves the
// runner's own metrics (activities/metrics.ts) followed by the Temporal SDK's runtime metrics, on one port.
// The SDK's Prometheus exporter (Runtime.install telemetryOptions.metrics.prometheus) always listens on a
// port of its own; it is bound to a free loopback port here and its text appended to ours, so a process is
// one scrape target behind one flag, and the SDK's port is never exposed beyond the machine.
import http from 'node:http';
import net from 'node:net';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import {
  createFaultlineMetrics,
  parseMetricsAddress,
  type FaultlineMetrics,
  type MetricsAddress,
} from '../activities/metrics.ts';
import { InvalidInput } from '../errors.ts';

export interface MetricsEndpoint {
  metrics: FaultlineMetrics;
  /** http://HOST:PORT/metrics, with the port actually bound. */
  url: string;
  /** The Temporal SDK's runtime metrics are included (false: the Runtime was installed before, without them). */
  sdk: boolean;
  close(): Promise<void>;
}

let runtimeReady = false;
/**
 * Installs the SDK's Runtime once per process: quiet logs by default (FAULTLINE_LOG_LEVEL=INFO or DEBUG for
 * more) and, with sdkMetricsPort, its Prometheus exporter on 127.0.0.1:PORT. Must run before the first
 * connection (the Runtime is created then). True when the exporter runs; false when it could not bind (then
 * nothing is installed: call again with another port, or without one) or a Runtime was installed already.
 */
export function installRuntime(sdkMetricsPort?: number): boolean {
  if (runtimeReady) return false;
  const logger = new DefaultLogger((process.env.FAULTLINE_LOG_LEVEL ?? 'WARN') as LogLevel);
  if (sdkMetricsPort !== undefined) {
    try {
      Runtime.install({
        logger,
        telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } } },
      });
      runtimeReady = true;
      return true;
    } catch {
      // The port was taken meanwhile (the SDK throws at once), or a Runtime exists: nothing installed here,
      // so the caller may try another port, or install without the exporter.
      return false;
    }
  }
  runtimeReady = true;
  try {
    Runtime.install({ logger });
  } catch {
    /* already installed by the host process */
  }
  return false;
}

/** A free loopback port (bound, read and released: the SDK's exporter takes it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function listen(server: http.Server, addr: MetricsAddress, source: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const where = `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new InvalidInput(
          e.code === 'EADDRINUSE'
            ? `${source} ${where}: the port is in use (another worker's metrics?); give another port, or 0 for a free one`
            : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
              ? `${source} ${where}: ${addr.host} is not an address of this machine`
              : e.code === 'EACCES'
                ? `${source} ${where}: not allowed to listen there (ports below 1024 need privileges)`
                : `${source} ${where}: cannot listen (${e.message})`,
        ),
      ),
    );
    server.listen(addr.port, addr.host, () => resolve());
  });
}

/** The SDK's own exposition, or nothing when its exporter does not answer (it never fails our scrape). */
async function sdkText(port: number | undefined): Promise<string> {
  if (port === undefined) return '';
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}

/**
 * Opens the endpoint a setting names (undefined when it says off), before anything connects: a setting that
 * does not parse, or an address that cannot be bound, is InvalidInput (exit 2) naming `source`.
 */
export async function openMetricsEndpoint(
  text: string | undefined,
  source: string,
): Promise<MetricsEndpoint | undefined> {
  const addr = parseMetricsAddress(text, source);
  if (!addr) return undefined;
  const metrics = createFaultlineMetrics({ process: true });
  const exporter: { port?: number } = {}; // the SDK's, once the Runtime is installed with it
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' || url.pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('faultline metrics: GET /metrics\n');
      return;
    }
    Promise.all([metrics.registry.metrics(), sdkText(exporter.port)]).then(
      ([ours, sdk]) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(`${ours}\n${sdk}`),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`),
    );
  });
  await listen(server, addr, source);
  const bound = server.address() as net.AddressInfo;
  // A free port is bound by the SDK a moment after we released it: another process may take it in between,
  // so a few tries; then the SDK's metrics are left out (and the ready line's URL still serves ours).
  let sdk = false;
  for (let i = 0; i < 3 && !sdk; i++) {
    const port = await freePort();
    sdk = installRuntime(port);
    if (sdk) exporter.port = port;
  }
  if (!sdk) {
    installRuntime();
    Runtime.instance().logger.warn(
      "metrics: the Temporal SDK's runtime metrics are left out (its exporter could not bind a loopback port, or this process installed its Runtime before)",
    );
  }
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    metrics,
    url: `http://${host}:${bound.port}/metrics`,
    sdk,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
