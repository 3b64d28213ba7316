// The warden's lifecycle (an adapter: it drives the Docker daemon): one container per (Docker daemon, ledger directory), started from the node
// image (demo/image.ts) with restart policy "always", the daemon's socket and the ledger mounted. The
// daemon restarts it if it dies; its state is the ledger on disk. ensureWarden is idempotent and cheap
// when the running warden is current (a hash of its sources, not a rebuild, decides).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { ensureDemoImage } from '../../demo/image.ts';
import { wardenBeat, WARDEN_STALE_MS } from '../../warden/lease-ledger.ts';
import { InfrastructureError } from '../../errors.ts';
import { PROJECT_ROOT } from '../../config.ts';

export const WARDEN_LABEL = 'faultline.warden.ledger';
const SRC_LABEL = 'faultline.warden.src';

/** The unix socket of the daemon DOCKER_HOST names (the default socket without it); undefined for tcp/ssh. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const h = env.DOCKER_HOST;
  if (!h) return '/var/run/docker.sock';
  if (h.startsWith('unix://')) return h.slice(7) || '/var/run/docker.sock';
  return undefined;
}

export function wardenName(dir: string, socketPath: string): string {
  return `faultline-warden-${createHash('sha256').update(`${dir}\0${socketPath}`).digest('hex').slice(0, 12)}`;
}

/** What the warden runs: its sources and everything they import, hashed (cheap; no bundling). */
function sourceHash(): string {
  const h = createHash('sha256');
  const files = [
    'errors.ts',
    'package-lock.json',
    'activities/adapters/docker.ts',
    'activities/adapters/kernel.ts',
    'activities/adapters/tools-image.ts',
    'worker/warden-main.ts',
    'activities/adapters/warden-container.ts',
    'demo/image.ts',
  ];
  for (const dir of ['warden', 'faults', 'proxy'])
    for (const f of readdirSync(path.join(PROJECT_ROOT, dir))
      .filter((n) => n.endsWith('.ts'))
      .sort())
      files.push(`${dir}/${f}`);
  for (const f of files) h.update(`${f}\0`).update(readFileSync(path.join(PROJECT_ROOT, f)));
  return h.digest('hex').slice(0, 16);
}

async function inspectOrNull(docker: Dockerode, name: string) {
  try {
    return await docker.getContainer(name).inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return null;
    throw e;
  }
}

export interface WardenRef {
  name: string;
  dir: string;
  socketPath: string;
  /** true when this call (re)created the container. */
  started: boolean;
}

/**
 * Makes sure a current warden watches `dir` for the daemon at `socketPath`, and waits for its first
 * heartbeat. The directory must be on the daemon's own host (it is bind-mounted into the warden).
 */
export async function ensureWarden(
  opts: { dir: string; socketPath?: string; docker?: Dockerode; waitMs?: number } = { dir: '' },
): Promise<WardenRef> {
  const dir = path.resolve(opts.dir);
  const socketPath = opts.socketPath ?? dockerSocketPath();
  if (!socketPath)
    throw new InfrastructureError(
      `the warden needs the daemon's unix socket; DOCKER_HOST=${process.env.DOCKER_HOST} is not unix:// (run the agent on the Docker host)`,
    );
  const docker = opts.docker ?? new Dockerode({ socketPath });
  mkdirSync(dir, { recursive: true });
  const name = wardenName(dir, socketPath);
  const src = sourceHash();
  const cur = await inspectOrNull(docker, name);
  let started = false;
  if (!cur || cur.Config.Labels?.[SRC_LABEL] !== src || !cur.State.Running) {
    const image = await ensureDemoImage(docker);
    if (cur)
      await docker
        .getContainer(name)
        .remove({ force: true })
        // gone already, or removed by a racing start: the create below says if not
        .catch(() => undefined);
    try {
      const c = await docker.createContainer({
        name,
        Image: image,
        Cmd: ['/usr/bin/node', '/app/warden.mjs'],
        Env: ['FAULTLINE_LEDGER=/ledger'],
        Labels: { 'faultline.component': 'warden', [WARDEN_LABEL]: dir, [SRC_LABEL]: src },
        HostConfig: {
          Binds: [`${socketPath}:/var/run/docker.sock`, `${dir}:/ledger`],
          RestartPolicy: { Name: 'always' },
          NetworkMode: 'none',
        },
      });
      await c.start();
      started = true;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 409) throw e; // a concurrent ensureWarden won
    }
  }
  const until = Date.now() + (opts.waitMs ?? 20_000);
  for (;;) {
    const beat = await wardenBeat(dir);
    if (beat && beat.ageMs < WARDEN_STALE_MS) break;
    if (Date.now() > until)
      throw new InfrastructureError(`the warden ${name} did not start watching ${dir} (docker logs ${name})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, dir, socketPath, started };
}

/** The daemon's own name (`docker info`), the default host name of an agent and of its ledger. */
export async function localHostName(docker: Dockerode = new Dockerode()): Promise<string> {
  try {
    return ((await docker.info()) as { Name?: string }).Name || hostname();
  } catch {
    return hostname();
  }
}

/** Removes the warden of `dir` (tests, `faultline sweep --fix` never does this). */
export async function removeWarden(opts: { dir: string; socketPath?: string; docker?: Dockerode }): Promise<void> {
  const socketPath = opts.socketPath ?? dockerSocketPath() ?? '/var/run/docker.sock';
  const docker = opts.docker ?? new Dockerode({ socketPath });
  await docker
    .getContainer(wardenName(path.resolve(opts.dir), socketPath))
    .remove({ force: true })
    // no warden container is what removal wants (404)
    .catch(() => undefined);
}
