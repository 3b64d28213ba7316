// The demo target: one Node program with two roles chosen by env ROLE.
//   backend: GET / -> 200 {"backend": NAME}, or 503 while its worker process (a child, `app.mjs --worker`,
//            WORKER=0 for none) is stopped or dead (it beats every 200 ms; stale after 1 s; a dead one is
//            started again after 1 s): what process.stop and process.kill change. GET /health -> 200 with
//            what the faults on a backend change: its memory cgroup (use, limit, OOM kills), the free space
//            of /tmp, the answer to DNS_CHECK's names (default db.internal), its worker.
//   front:   GET / -> forwards to BACKENDS (host:port,...) round robin with a per-try timeout, trying the
//            next backend on error or timeout; 502/504 JSON when all fail. GET /health never calls out.
//            LOAD_RPS > 0: the front also sends itself that many requests to / per second, the demo's
//            "users", so its metrics move without a load generator (the judge watches real traffic).
//            Every try is also counted per upstream, as the caller sees it (status or error, latency),
//            labelled upstream=<backend replica name> (BACKEND_NAMES, in the order of BACKENDS): the
//            judge's control-group mode compares faulted replicas with untouched ones through these.
//            GET /status -> what each fault makes visible, per backend over the last 30 s of tries: error rate,
//            p95 latency, the last error, and the backend's own /health (memory and OOM kills, /tmp, DNS).
//   both:    GET /metrics -> Prometheus metrics (prom-client): requests to / by status code and a latency
//            histogram, labelled with the role and the replica name.
// Bundled with its one dependency into the demo image as /app/app.mjs (see ./image.ts).
import http from 'node:http';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import { promises as dnsp } from 'node:dns';
import { Counter, Histogram, Registry } from 'prom-client';

// The backend's worker: a child that only beats, so a stopped or killed one shows (process.* kinds).
const isWorker = process.argv.includes('--worker');
if (isWorker) {
  setInterval(() => process.send?.('beat'), 200);
  process.on('disconnect', () => process.exit(0));
}

const role = process.env.ROLE ?? 'backend';
const port = Number(process.env.PORT ?? 8080);
const name = process.env.NAME ?? process.env.HOSTNAME ?? 'backend';
const tryTimeoutMs = Number(process.env.TRY_TIMEOUT_MS ?? 250);
const backends = (process.env.BACKENDS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((hp) => {
    const i = hp.lastIndexOf(':');
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)), label: hp };
  })
  // Names of the replicas behind BACKENDS (the front reaches them through the fault proxy, so the
  // address alone does not say which replica answered).
  .map((b, k) => ({ ...b, name: (process.env.BACKEND_NAMES ?? '').split(',')[k]?.trim() || b.label }));

const registry = new Registry();
registry.setDefaultLabels({ role, name }); // not 'instance': Prometheus sets that per target
const requests = new Counter({
  name: 'demo_http_requests_total',
  help: 'Requests to / by status code.',
  labelNames: ['code'],
  registers: [registry],
});
const latency = new Histogram({
  name: 'demo_http_request_duration_seconds',
  help: 'Time to answer a request to /, in seconds.',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

const upstreamRequests = new Counter({
  name: 'demo_upstream_requests_total',
  help: 'Tries of the front to each upstream replica, by status code (or "error", "timeout").',
  labelNames: ['upstream', 'code'],
  registers: [registry],
});
const upstreamLatency = new Histogram({
  name: 'demo_upstream_request_duration_seconds',
  help: 'Time of one try of the front to an upstream replica, in seconds (timeouts included).',
  labelNames: ['upstream'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 5_000 });

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

interface TryResult {
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
  timedOut?: boolean;
}

function tryBackend(b: (typeof backends)[number]): Promise<TryResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: TryResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.get({ host: b.host, port: b.port, path: '/', agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        finish(
          status >= 200 && status < 300 ? { ok: true, status, body } : { ok: false, status, error: `status ${status}` },
        );
      });
      res.on('error', (e) => finish({ ok: false, error: e.message }));
    });
    // A paused or partitioned backend never answers: give up on this try and move on.
    const timer = setTimeout(() => {
      finish({ ok: false, error: `timeout after ${tryTimeoutMs} ms`, timedOut: true });
      req.destroy();
    }, tryTimeoutMs);
    req.on('error', (e) => finish({ ok: false, error: e.message }));
  });
}

// ---- backend: its worker and what its /health reports ----
const worker: { child?: ChildProcess; lastBeat: number; restarts: number } = { lastBeat: 0, restarts: 0 };
function startWorker(): void {
  const child = fork(process.argv[1]!, ['--worker'], { stdio: 'ignore' });
  worker.child = child;
  worker.lastBeat = Date.now();
  child.on('message', () => (worker.lastBeat = Date.now()));
  child.on('exit', () => {
    worker.child = undefined;
    worker.restarts++;
    setTimeout(startWorker, 1_000).unref();
  });
}
const workerUp = () => process.env.WORKER === '0' || (!!worker.child && Date.now() - worker.lastBeat < 1_000);

/** The container's memory cgroup as it sees it (v1 or v2): use, limit (null: none), OOM kills. */
function memory(): { usageBytes: number | null; limitBytes: number | null; oomKills: number | null } {
  const read = (f: string) => {
    try {
      return readFileSync(`/sys/fs/cgroup/${f}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  const num = (t: string | undefined) => (t === undefined || !/^\d+/.test(t.trim()) ? null : Number(t.trim()));
  const usage = num(read('memory/memory.usage_in_bytes') ?? read('memory.current'));
  const limit = num(read('memory/memory.limit_in_bytes') ?? read('memory.max'));
  const events = read('memory/memory.oom_control') ?? read('memory.events');
  const oom = events ? /oom_kill (\d+)/.exec(events) : null;
  return {
    usageBytes: usage,
    limitBytes: limit !== null && limit < 2 ** 60 ? limit : null,
    oomKills: oom ? Number(oom[1]) : null,
  };
}

async function backendHealth(): Promise<Record<string, unknown>> {
  let tmpFreeBytes: number | null = null;
  try {
    const st = statfsSync('/tmp');
    tmpFreeBytes = st.bavail * st.bsize;
  } catch {
    /* no statfs: null */
  }
  const names = (process.env.DNS_CHECK ?? 'db.internal')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const dnsAnswers: Record<string, string> = {};
  await Promise.all(
    names.map(async (n) => {
      const timeout = new Promise<string>((r) => setTimeout(() => r('timeout'), 500).unref());
      dnsAnswers[n] = await Promise.race([
        dnsp.lookup(n, { family: 4 }).then(
          (a) => a.address,
          (e: NodeJS.ErrnoException) => e.code ?? 'error',
        ),
        timeout,
      ]);
    }),
  );
  return {
    ok: workerUp(),
    role,
    name,
    memory: memory(),
    tmpFreeBytes,
    dns: dnsAnswers,
    worker: { pid: worker.child?.pid ?? null, up: workerUp(), restarts: worker.restarts },
  };
}

// ---- front: the last 30 s of tries per backend, for /status ----
const WINDOW_MS = 30_000;
const recent = new Map<string, { at: number; ok: boolean; ms: number; error?: string }[]>();
function remember(upstream: string, ok: boolean, ms: number, error?: string): void {
  const list = recent.get(upstream) ?? [];
  list.push({ at: Date.now(), ok, ms, ...(error ? { error } : {}) });
  while (list.length && list[0]!.at < Date.now() - WINDOW_MS) list.shift();
  recent.set(upstream, list);
}

function getJson(host: string, port: number, path: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve({ error: `status ${res.statusCode}` });
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ error: e.message }));
  });
}

async function frontStatus(): Promise<unknown> {
  return {
    windowSeconds: WINDOW_MS / 1000,
    backends: await Promise.all(
      backends.map(async (b) => {
        const list = (recent.get(b.name) ?? []).filter((t) => t.at >= Date.now() - WINDOW_MS);
        const ms = list.map((t) => t.ms).sort((x, y) => x - y);
        const failed = list.filter((t) => !t.ok);
        return {
          name: b.name,
          tries: list.length,
          errorRate: list.length ? failed.length / list.length : null,
          p95Ms: ms.length ? ms[Math.min(ms.length - 1, Math.ceil(0.95 * ms.length) - 1)] : null,
          lastError: failed.at(-1)?.error ?? null,
          health: await getJson(b.host, b.port, '/health', 1_000),
        };
      }),
    ),
  };
}

let next = 0;

async function forward(res: http.ServerResponse): Promise<void> {
  if (backends.length === 0) return json(res, 502, { error: 'no backends configured' });
  const start = next++ % backends.length;
  const errors: string[] = [];
  let allTimedOut = true;
  for (let k = 0; k < backends.length; k++) {
    const b = backends[(start + k) % backends.length]!;
    const stopTry = upstreamLatency.startTimer({ upstream: b.name });
    const r = await tryBackend(b);
    remember(b.name, r.ok, stopTry() * 1000, r.error);
    upstreamRequests.inc({ upstream: b.name, code: r.status ? String(r.status) : r.timedOut ? 'timeout' : 'error' });
    if (r.ok) {
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': b.label, 'x-tries': String(k + 1) });
      res.end(r.body);
      return;
    }
    if (!r.timedOut) allTimedOut = false;
    errors.push(`${b.label}: ${r.error}`);
  }
  json(res, allTimedOut ? 504 : 502, { error: 'all backends failed', tries: errors });
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/health') {
    if (role === 'front') return json(res, 200, { ok: true, role, name });
    backendHealth().then(
      (h) => json(res, 200, h),
      (e: unknown) => json(res, 500, { error: String(e) }),
    );
    return;
  }
  if (path === '/status' && role === 'front') {
    frontStatus().then(
      (st) => json(res, 200, st),
      (e: unknown) => json(res, 500, { error: String(e) }),
    );
    return;
  }
  if (path === '/metrics') {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (e: unknown) => json(res, 500, { error: String(e) }),
    );
    return;
  }
  if (path !== '/') return json(res, 404, { error: 'not found' });
  const stop = latency.startTimer();
  res.on('finish', () => {
    stop();
    requests.inc({ code: String(res.statusCode) });
  });
  if (role === 'front') {
    forward(res).catch((e: unknown) => json(res, 500, { error: String(e) }));
    return;
  }
  if (!workerUp()) return json(res, 503, { error: `backend ${name}: its worker is stopped or gone` });
  json(res, 200, { backend: name });
});
server.keepAliveTimeout = 30_000;

if (role === 'backend' && process.env.WORKER !== '0' && !isWorker) startWorker();

if (!isWorker)
  server.listen(port, '0.0.0.0', () => {
    process.stdout.write(`${role} ${name} listening on :${port}\n`);
  });

const loadRps = Number(process.env.LOAD_RPS ?? 0);
if (role === 'front' && loadRps > 0 && !isWorker) {
  const users = new http.Agent({ keepAlive: true, maxSockets: 16 });
  setInterval(() => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: users }, (res) => res.resume()).on('error', () => undefined);
  }, 1000 / loadRps).unref();
}

// PID 1 in a container gets no default signal handlers: exit at once so stop is quick.
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
