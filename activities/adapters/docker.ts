// ContainerPort on dockerode: the only place container faults touch the Docker Engine API.
// Operations are idempotent-friendly: "already in the wanted state" answers from the daemon are
// success, a missing container is FaultTargetGone, an unreachable daemon is InfrastructureError.
import Dockerode from 'dockerode';
import type { ContainerEvent, ContainerInfo, ContainerPort } from '../../faults/ports.ts';
import { FaultTargetGone, InfrastructureError, InvalidInput } from '../../errors.ts';

const STATES: readonly ContainerInfo['state'][] = [
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
];

interface DockerError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
}

function asDockerError(e: unknown): DockerError {
  return typeof e === 'object' && e !== null ? (e as DockerError) : {};
}

function daemonMessage(e: DockerError): string {
  return (e.json?.message ?? e.message ?? String(e)).trim();
}

function toState(s: string | undefined): ContainerInfo['state'] {
  const v = (s ?? '').toLowerCase() as ContainerInfo['state'];
  return STATES.includes(v) ? v : 'dead';
}

/** Network name -> the container's own aliases; Docker 20.10 adds the short id, which is not ours to restore. */
function toNetworks(
  id: string,
  nets: Record<string, { Aliases?: string[] | null }> | undefined,
): Record<string, string[]> {
  const short = id.slice(0, 12);
  const out: Record<string, string[]> = {};
  for (const [name, n] of Object.entries(nets ?? {})) {
    out[name] = (n.Aliases ?? []).filter((a) => a !== short && a !== id);
  }
  return out;
}

function fromInspect(i: Dockerode.ContainerInspectInfo): ContainerInfo {
  return {
    id: i.Id,
    name: i.Name.replace(/^\//, ''),
    labels: i.Config?.Labels ?? {},
    state: toState(i.State?.Status),
    networks: toNetworks(i.Id, i.NetworkSettings?.Networks as Record<string, { Aliases?: string[] | null }>),
    startedAt: i.State?.StartedAt,
  };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** Maps daemon errors to Faultline's error classes; `benign` decides which answers mean "already done". */
async function call(
  what: string,
  id: string,
  op: () => Promise<unknown>,
  benign: (e: DockerError, msg: string) => boolean = () => false,
): Promise<void> {
  try {
    await op();
  } catch (err) {
    const e = asDockerError(err);
    const msg = daemonMessage(e);
    if (benign(e, msg)) return;
    if (e.statusCode === 404 && /no such container/i.test(msg))
      throw new FaultTargetGone(`${what} ${id}: container no longer exists`);
    if (e.code && UNREACHABLE.has(e.code))
      throw new InfrastructureError(`${what} ${id}: cannot reach the Docker daemon (${e.code})`);
    throw new Error(`${what} ${id}: ${msg}`, { cause: err });
  }
}

export function createDockerContainerPort(docker: Dockerode = new Dockerode()): ContainerPort {
  const c = (id: string) => docker.getContainer(id);

  const inspect = async (idOrName: string): Promise<ContainerInfo | null> => {
    try {
      return fromInspect(await c(idOrName).inspect());
    } catch (err) {
      const e = asDockerError(err);
      if (e.statusCode === 404) return null;
      if (e.code && UNREACHABLE.has(e.code))
        throw new InfrastructureError(`inspect ${idOrName}: cannot reach the Docker daemon (${e.code})`);
      throw err;
    }
  };

  return {
    async daemon() {
      try {
        const i = (await docker.info()) as { ID?: string; Name?: string; DockerRootDir?: string };
        // Docker 20.10 derives ID from /etc/docker/key.json, so two daemons of one machine share it: the
        // data root (which no two daemons share) completes the identity.
        return { id: `${i.ID ?? ''}@${i.DockerRootDir ?? ''}`, name: i.Name ?? '' };
      } catch (err) {
        const e = asDockerError(err);
        throw new InfrastructureError(`docker info: ${e.code ?? daemonMessage(e)}`);
      }
    },

    async list() {
      let rows: Dockerode.ContainerInfo[];
      try {
        rows = await docker.listContainers({ all: true });
      } catch (err) {
        const e = asDockerError(err);
        if (e.code && UNREACHABLE.has(e.code))
          throw new InfrastructureError(`list containers: cannot reach the Docker daemon (${e.code})`);
        throw err;
      }
      return rows.map((r) => ({
        id: r.Id,
        name: (r.Names[0] ?? r.Id).replace(/^\//, ''),
        labels: r.Labels ?? {},
        state: toState(r.State),
        // The list endpoint usually omits aliases; inspect() has them when a fault needs them.
        networks: toNetworks(r.Id, r.NetworkSettings?.Networks as Record<string, { Aliases?: string[] | null }>),
      }));
    },

    inspect,

    // Killing a container that is not running (409) already has the effect we wanted.
    kill: (id, signal) =>
      call(
        'kill',
        id,
        () => c(id).kill({ signal }),
        (e, m) => e.statusCode === 409 && /is not running/i.test(m),
      ),

    stop: (id, graceSeconds) =>
      call(
        'stop',
        id,
        () => c(id).stop({ t: graceSeconds }),
        (e) => e.statusCode === 304,
      ),

    start: (id) =>
      call(
        'start',
        id,
        () => c(id).start(),
        (e) => e.statusCode === 304,
      ),

    restart: (id, graceSeconds) => call('restart', id, () => c(id).restart({ t: graceSeconds })),

    pause: (id) =>
      call(
        'pause',
        id,
        () => c(id).pause(),
        (e, m) => e.statusCode === 409 && /already paused/i.test(m),
      ),

    // Docker 20.10 answers 500 (newer engines 409) for "is not paused": match the message.
    unpause: (id) =>
      call(
        'unpause',
        id,
        () => c(id).unpause(),
        (_e, m) => /is not paused/i.test(m),
      ),

    // "not connected" comes as 500 and "already exists" as 403 on 20.10: match the messages.
    disconnect: (network, id) =>
      call(
        `disconnect from ${network}`,
        id,
        () => docker.getNetwork(network).disconnect({ Container: id, Force: false }),
        (_e, m) => /is not connected to (the )?network/i.test(m),
      ),

    connect: (network, id, aliases) =>
      call(
        `connect to ${network}`,
        id,
        () => docker.getNetwork(network).connect({ Container: id, EndpointConfig: { Aliases: aliases } }),
        (_e, m) => /already exists in network|is already attached to network/i.test(m),
      ),

    // The daemon's event log up to now (an `until` in the future would hold the stream open until then).
    // Network events name the container in an attribute, so they are filtered by network and then here.
    async events(id, since, network) {
      const filters: Dockerode.GetEventsOptions['filters'] = network
        ? { type: ['network'], network: [network] }
        : { type: ['container'], container: [id] };
      let raw = '';
      try {
        const stream = await docker.getEvents({
          since: Date.parse(since) / 1000,
          until: (Date.now() + 1) / 1000,
          filters,
        });
        for await (const chunk of stream) raw += chunk.toString();
      } catch (err) {
        const e = asDockerError(err);
        throw new InfrastructureError(`events of ${id}: ${e.code ?? daemonMessage(e)}`);
      }
      const out: ContainerEvent[] = [];
      for (const line of raw.split('\n')) {
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as {
          Action?: string;
          time?: number;
          timeNano?: number;
          Actor?: { ID?: string; Attributes?: Record<string, string> };
        };
        if (network && ev.Actor?.Attributes?.container !== id) continue;
        const ms = ev.timeNano ? Math.floor(ev.timeNano / 1e6) : (ev.time ?? 0) * 1000;
        if (ev.Action) out.push({ action: ev.Action, at: new Date(ms).toISOString() });
      }
      return out;
    },
  };
}

/** Where an agent's daemon is: a unix socket path, or a DOCKER_HOST URL (unix://, tcp://); neither: DOCKER_HOST or the default socket. */
export interface DockerEndpoint {
  socketPath?: string;
  dockerHost?: string;
}

/** The endpoint as a DOCKER_HOST-style URL, for the registry and messages. */
export function endpointUrl(e: DockerEndpoint, env: NodeJS.ProcessEnv = process.env): string {
  if (e.socketPath) return `unix://${e.socketPath}`;
  return e.dockerHost ?? env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** The unix socket of an endpoint (the warden mounts it); undefined for tcp. */
export function endpointSocket(e: DockerEndpoint, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = endpointUrl(e, env);
  return url.startsWith('unix://') ? url.slice(7) || '/var/run/docker.sock' : undefined;
}

/** A Dockerode client for an endpoint (an agent's own daemon). */
export function dockerAt(e: DockerEndpoint): Dockerode {
  const url = endpointUrl(e);
  if (url.startsWith('unix://')) return new Dockerode({ socketPath: url.slice(7) || '/var/run/docker.sock' });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidInput(`Docker host ${url}: not a unix:// or tcp:// URL`);
  }
  if (u.protocol !== 'tcp:' && u.protocol !== 'http:')
    throw new InvalidInput(`Docker host ${url}: only unix:// and tcp:// are supported`);
  return new Dockerode({ host: u.hostname, port: Number(u.port || 2375), protocol: 'http' });
}

/** A ContainerPort on the daemon at an endpoint (an agent's own daemon). */
export function createDockerContainerPortAt(e: DockerEndpoint): ContainerPort {
  return createDockerContainerPort(dockerAt(e));
}

/** True when the Docker daemon (DOCKER_HOST or the default socket) answers a ping within 3 s. */
export async function dockerAvailable(): Promise<boolean> {
  try {
    const docker = new Dockerode({ timeout: 3000 });
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}
