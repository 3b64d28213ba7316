// The demo stack: a front, N backends and (once proxy/main.ts exists) the fault proxy between them, on
// one user-defined bridge network, published on 127.0.0.1 only. demoUp/demoDown are idempotent and
// touch only containers and networks labelled faultline.demo=<prefix>.
//
//   client -> 127.0.0.1:<frontPort> -> front -> proxy:2100i (backend-i) -> <prefix>-backend-i:8080
//                                   (no proxy: front -> <prefix>-backend-i:8080 directly)
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import Dockerode from 'dockerode';
import { ensureDemoImage, proxyAvailable } from './image.ts';
import { DEMO } from '../config.ts';

export const DEMO_LABEL = 'faultline.demo';
const SPEC_LABEL = 'faultline.demo.spec';
/** Each backend's memory limit: its node processes use about 90 MiB, so a stress.memory of 128MiB fits. */
export const BACKEND_MEMORY_BYTES = 256 * 2 ** 20;
const APP_PORT = 8080;
const PROXY_ADMIN_PORT = 8474;
const PROXY_LISTEN_BASE = 21000;

export interface DemoOptions {
  prefix?: string;
  frontPort?: number;
  proxyAdminPort?: number;
  replicas?: number;
  docker?: Dockerode;
  /** Requests per second the front sends itself (the demo's users); default FAULTLINE_DEMO_LOAD_RPS or 0. */
  loadRps?: number;
  /** How long demoUp waits for the front to answer, in ms (default 30 s). */
  readyTimeoutMs?: number;
}

export interface DemoStack {
  prefix: string;
  network: string;
  frontUrl: string;
  proxyAdminUrl?: string;
  proxyToken?: string;
  image: string;
  containers: { front: string; proxy?: string; backends: string[] };
}

/** One proxy per backend, in Toxiproxy's populate format. */
export interface ProxyDefinition {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}

interface Resolved {
  prefix: string;
  frontPort: number;
  proxyAdminPort: number;
  replicas: number;
  docker: Dockerode;
}

function resolve(opts: DemoOptions = {}): Resolved {
  const prefix = opts.prefix ?? DEMO.prefix;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(prefix))
    throw new Error(`demo prefix ${JSON.stringify(prefix)} is not a valid container name prefix`);
  const replicas = opts.replicas ?? 3;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 99)
    throw new Error(`demo replicas must be 1..99, got ${replicas}`);
  return {
    prefix,
    frontPort: opts.frontPort ?? DEMO.frontPort,
    proxyAdminPort: opts.proxyAdminPort ?? DEMO.proxyAdminPort,
    replicas,
    docker: opts.docker ?? new Dockerode(),
  };
}

export function backendName(prefix: string, i: number): string {
  return `${prefix}-backend-${i}`;
}

export function proxyDefinitions(prefix: string, replicas: number): ProxyDefinition[] {
  return Array.from({ length: replicas }, (_, k) => ({
    name: `backend-${k + 1}`,
    listen: `0.0.0.0:${PROXY_LISTEN_BASE + k + 1}`,
    upstream: `${backendName(prefix, k + 1)}:${APP_PORT}`,
    enabled: true,
  }));
}

function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

async function inspectOrNull(docker: Dockerode, name: string): Promise<Dockerode.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (e) {
    if (statusOf(e) === 404) return null;
    throw e;
  }
}

async function ensureNetwork(docker: Dockerode, prefix: string): Promise<string> {
  const name = `${prefix}-net`;
  try {
    const info = (await docker.getNetwork(name).inspect()) as { Labels?: Record<string, string> };
    if (info.Labels?.[DEMO_LABEL] !== prefix)
      throw new Error(
        `network ${name} exists but was not created by the demo (no ${DEMO_LABEL}=${prefix} label); remove it or pick another prefix`,
      );
    return name;
  } catch (e) {
    if (statusOf(e) !== 404) throw e;
  }
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [DEMO_LABEL]: prefix },
    });
  } catch (e) {
    if (statusOf(e) !== 409) throw e; // created concurrently by another demoUp
  }
  return name;
}

/** A minimal one-file ustar archive, for putArchive (no bind mounts needed on a remote daemon). */
export function tarOneFile(name: string, content: Buffer, mode = 0o644): Buffer {
  const header = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => header.write(s.slice(0, len), off, len, 'ascii');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(mode, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(content.length, 12), 124, 12);
  put(oct(Math.floor(Date.now() / 1000), 12), 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of header) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024, 0)]);
}

interface Wanted {
  name: string;
  create: Dockerode.ContainerCreateOptions;
  /** Files copied into the container before its first start. */
  files?: { dir: string; name: string; content: Buffer }[];
}

/**
 * Makes the container match `w`: reuses it when its spec hash label matches (starting it if it is down),
 * otherwise replaces it. Refuses to touch a container of that name that the demo did not create.
 */
async function ensureContainer(docker: Dockerode, prefix: string, w: Wanted): Promise<string> {
  const spec = createHash('sha256')
    .update(JSON.stringify(w.create))
    .update(JSON.stringify(w.files?.map((f) => [f.dir, f.name, f.content.toString('base64')]) ?? []))
    .digest('hex')
    .slice(0, 16);
  const existing = await inspectOrNull(docker, w.name);
  if (existing) {
    const labels = existing.Config?.Labels ?? {};
    if (labels[DEMO_LABEL] !== prefix)
      throw new Error(`container ${w.name} exists but was not created by the demo (no ${DEMO_LABEL}=${prefix} label)`);
    if (labels[SPEC_LABEL] === spec) {
      if (existing.State?.Paused) await docker.getContainer(existing.Id).unpause();
      else if (!existing.State?.Running) await docker.getContainer(existing.Id).start();
      return existing.Id;
    }
    await docker.getContainer(existing.Id).remove({ force: true });
  }
  const create = {
    ...w.create,
    name: w.name,
    Labels: { ...w.create.Labels, [DEMO_LABEL]: prefix, [SPEC_LABEL]: spec },
  };
  const c = await docker.createContainer(create);
  for (const f of w.files ?? []) await c.putArchive(tarOneFile(f.name, f.content), { path: f.dir });
  await c.start();
  return c.id;
}

function appContainer(
  image: string,
  network: string,
  env: string[],
  labels: Record<string, string>,
  extra: Partial<Dockerode.ContainerCreateOptions> = {},
): Dockerode.ContainerCreateOptions {
  return {
    Image: image,
    Cmd: ['/usr/bin/node', '/app/app.mjs'],
    Env: env,
    Labels: labels,
    StopSignal: 'SIGTERM',
    StopTimeout: 2,
    ...extra,
    HostConfig: { NetworkMode: network, RestartPolicy: { Name: 'no' }, ...extra.HostConfig },
  };
}

/**
 * One GET on a fresh connection with a ref'd timer. (Not fetch: right after a container starts, a fetch
 * to its published port could stall with nothing keeping the event loop alive, and the process exited.)
 */
export function httpGet(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function waitReady(frontUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const h = await httpGet(`${frontUrl}/health`, 1000);
      if (h.status === 200) {
        const r = await httpGet(`${frontUrl}/`, 2000);
        if (r.status === 200) return;
        last = `GET / answered ${r.status}: ${r.body.slice(0, 200)}`;
      } else last = `GET /health answered ${h.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`demo front ${frontUrl} not ready after ${timeoutMs} ms: ${last}`);
}

/** Brings the demo stack up (or back to its wanted shape) and waits until the front serves GET /. */
export async function demoUp(opts: DemoOptions = {}): Promise<DemoStack> {
  const { prefix, frontPort, proxyAdminPort, replicas, docker } = resolve(opts);
  const image = await ensureDemoImage(docker);
  const network = await ensureNetwork(docker, prefix);
  const withProxy = proxyAvailable();

  // Backends beyond `replicas` (from an earlier, larger demoUp) and a proxy no longer wanted go away.
  const ours = await docker.listContainers({ all: true, filters: { label: [`${DEMO_LABEL}=${prefix}`] } });
  const wantedBackends = new Set(Array.from({ length: replicas }, (_, k) => backendName(prefix, k + 1)));
  for (const c of ours) {
    const name = (c.Names[0] ?? '').replace(/^\//, '');
    const stale =
      (c.Labels['faultline.role'] === 'backend' && !wantedBackends.has(name)) ||
      (c.Labels['faultline.role'] === 'proxy' && !withProxy);
    if (stale) await docker.getContainer(c.Id).remove({ force: true });
  }

  const backends: string[] = [];
  for (let i = 1; i <= replicas; i++) {
    const name = backendName(prefix, i);
    await ensureContainer(docker, prefix, {
      name,
      create: appContainer(
        image,
        network,
        ['ROLE=backend', `NAME=${name}`, `PORT=${APP_PORT}`],
        { 'faultline.role': 'backend' },
        {
          NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ['backend'] } } },
          // A memory limit of its own, so a stress.memory past it shows as an OOM kill in /status.
          HostConfig: { Memory: BACKEND_MEMORY_BYTES },
        },
      ),
    });
    backends.push(name);
  }

  let proxy: string | undefined;
  let proxyToken: string | undefined;
  let upstreams = backends.map((b) => `${b}:${APP_PORT}`);
  if (withProxy) {
    proxy = `${prefix}-proxy`;
    // Keep the token of a running proxy so clients holding it keep working across demoUp calls.
    const prev = await inspectOrNull(docker, proxy);
    proxyToken =
      prev?.Config?.Env?.find((e) => e.startsWith('FAULTLINE_PROXY_TOKEN='))?.slice('FAULTLINE_PROXY_TOKEN='.length) ||
      randomBytes(18).toString('base64url');
    const defs = proxyDefinitions(prefix, replicas);
    await ensureContainer(docker, prefix, {
      name: proxy,
      create: {
        Image: image,
        Cmd: [
          '/usr/bin/node',
          '/app/proxy.mjs',
          '--host',
          '0.0.0.0',
          '--port',
          String(PROXY_ADMIN_PORT),
          '--config',
          '/app/proxy.json',
        ],
        Env: [`FAULTLINE_PROXY_TOKEN=${proxyToken}`],
        Labels: { 'faultline.component': 'proxy', 'faultline.role': 'proxy' },
        StopTimeout: 2,
        ExposedPorts: { [`${PROXY_ADMIN_PORT}/tcp`]: {} },
        HostConfig: {
          NetworkMode: network,
          RestartPolicy: { Name: 'no' },
          PortBindings: { [`${PROXY_ADMIN_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(proxyAdminPort) }] },
        },
      },
      files: [{ dir: '/app', name: 'proxy.json', content: Buffer.from(JSON.stringify(defs, null, 2)) }],
    });
    upstreams = defs.map((d) => `${proxy}:${d.listen.split(':')[1]}`);
  }

  const front = `${prefix}-front`;
  const loadRps = opts.loadRps ?? Number(process.env.FAULTLINE_DEMO_LOAD_RPS ?? 0);
  await ensureContainer(docker, prefix, {
    name: front,
    create: appContainer(
      image,
      network,
      [
        'ROLE=front',
        `NAME=${front}`,
        `PORT=${APP_PORT}`,
        `BACKENDS=${upstreams.join(',')}`,
        `BACKEND_NAMES=${backends.join(',')}`,
        `TRY_TIMEOUT_MS=${process.env.FAULTLINE_DEMO_TRY_TIMEOUT_MS ?? 250}`,
        ...(loadRps > 0 ? [`LOAD_RPS=${loadRps}`] : []),
      ],
      { 'faultline.role': 'front', 'faultline.protected': 'true' },
      {
        ExposedPorts: { [`${APP_PORT}/tcp`]: {} },
        HostConfig: { PortBindings: { [`${APP_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(frontPort) }] } },
      },
    ),
  });

  const frontUrl = `http://127.0.0.1:${frontPort}`;
  await waitReady(frontUrl, opts.readyTimeoutMs ?? 30_000);
  return {
    prefix,
    network,
    frontUrl,
    image,
    ...(withProxy ? { proxyAdminUrl: `http://127.0.0.1:${proxyAdminPort}`, proxyToken } : {}),
    containers: { front, backends, ...(proxy ? { proxy } : {}) },
  };
}

/** Removes every container and the network labelled faultline.demo=<prefix>; nothing else. */
export async function demoDown(opts: Pick<DemoOptions, 'prefix' | 'docker'> = {}): Promise<{ removed: string[] }> {
  const prefix = opts.prefix ?? DEMO.prefix;
  const docker = opts.docker ?? new Dockerode();
  const removed: string[] = [];
  const ours = await docker.listContainers({ all: true, filters: { label: [`${DEMO_LABEL}=${prefix}`] } });
  await Promise.all(
    ours.map(async (c) => {
      try {
        await docker.getContainer(c.Id).remove({ force: true });
      } catch (e) {
        if (statusOf(e) !== 404 && statusOf(e) !== 409) throw e; // 409: removal already in progress
      }
      removed.push((c.Names[0] ?? c.Id).replace(/^\//, ''));
    }),
  );
  const nets = await docker.listNetworks({ filters: { label: [`${DEMO_LABEL}=${prefix}`] } });
  for (const n of nets) {
    try {
      await docker.getNetwork(n.Id).remove();
      removed.push(n.Name);
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
  }
  return { removed: removed.sort() };
}
