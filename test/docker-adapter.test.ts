// The dockerode ContainerPort against the real daemon: a throwaway target container from the demo image
// (published on 127.0.0.1, random port) and a "front" that reaches it only through its network alias, so
// every operation is checked by its real effect: HTTP stops and comes back, the alias resolves again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Dockerode from 'dockerode';
import { createDockerContainerPort, dockerAvailable } from '../activities/adapters/docker.ts';
import { ensureDemoImage } from '../demo/image.ts';
import { httpGet } from '../demo/stack.ts';
import { FaultTargetGone } from '../errors.ts';

const docker = new Dockerode();
const port = createDockerContainerPort(docker);
const prefix = `fltest-adapter-${process.pid}`;
const net = `${prefix}-net`;
const targetName = `${prefix}-target`;
const frontName = `${prefix}-front`;
const ALIAS = 'target-svc';
const labels = { 'faultline.test': prefix };
const timings: Record<string, number> = {};

let targetId = '';

async function hostPort(name: string): Promise<number> {
  const i = await docker.getContainer(name).inspect();
  const p = i.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort;
  if (!p) throw new Error(`${name} has no published port`);
  return Number(p);
}

/** Status of GET / on a container's published port, or "down" when it does not answer in time. */
async function probe(name: string, timeoutMs = 600): Promise<number | 'down'> {
  try {
    return (await httpGet(`http://127.0.0.1:${await hostPort(name)}/`, timeoutMs)).status;
  } catch {
    return 'down';
  }
}

async function eventually(what: string, f: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function timed<T>(key: string, f: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await f();
  timings[key] = Math.round((performance.now() - t) * 10) / 10;
  return r;
}

async function cleanup(): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { label: [`faultline.test=${prefix}`] } })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  await docker
    .getNetwork(net)
    .remove()
    .catch(() => undefined);
}

function app(name: string, env: string[], aliases: string[]): Dockerode.ContainerCreateOptions {
  return {
    name,
    Image: '',
    Cmd: ['/usr/bin/node', '/app/app.mjs'],
    Env: env,
    Labels: labels,
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: {
      NetworkMode: net,
      RestartPolicy: { Name: 'no' },
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    },
    NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: aliases } } },
  };
}

beforeAll(async () => {
  await cleanup();
  const image = await ensureDemoImage(docker);
  await docker.createNetwork({ Name: net, Driver: 'bridge', Labels: labels });
  const target = await docker.createContainer({
    ...app(targetName, ['ROLE=backend', `NAME=${targetName}`], [ALIAS]),
    Image: image,
  });
  await target.start();
  targetId = target.id;
  const front = await docker.createContainer({
    ...app(frontName, ['ROLE=front', `BACKENDS=${ALIAS}:8080`, 'TRY_TIMEOUT_MS=400'], []),
    Image: image,
  });
  await front.start();
  await eventually(
    'target and front answer',
    async () => (await probe(targetName)) === 200 && (await probe(frontName)) === 200,
  );
});

afterAll(async () => {
  await cleanup();
  console.info(`docker adapter timings (ms): ${JSON.stringify(timings)}`);
});

describe('docker ContainerPort', () => {
  it('dockerAvailable is true here and false for a daemon that is not there', async () => {
    expect(await dockerAvailable()).toBe(true);
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix:///tmp/${prefix}-no-such.sock`;
    try {
      expect(await dockerAvailable()).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it('inspect maps name, state, labels, aliases (without the short id) and the start time', async () => {
    const byName = await port.inspect(targetName);
    expect(byName).toEqual({
      id: targetId,
      name: targetName,
      labels: expect.objectContaining(labels),
      state: 'running',
      networks: { [net]: [ALIAS] },
      startedAt: (await docker.getContainer(targetId).inspect()).State.StartedAt,
    });
    // the daemon itself does list the short id as an alias on 20.10; the adapter must not hand it back
    expect(await port.inspect(targetId)).toEqual(byName);
    const listed = (await port.list()).find((c) => c.id === targetId);
    expect(listed).toMatchObject({ id: targetId, name: targetName, state: 'running' });
    expect(Object.keys(listed!.networks)).toEqual([net]);
  });

  it('pause freezes the container and unpause brings it back; both are idempotent', async () => {
    await timed('pause', () => port.pause(targetId));
    expect((await port.inspect(targetId))?.state).toBe('paused');
    expect(await probe(targetName, 400)).toBe('down');
    await port.pause(targetId); // already paused: success
    await timed('unpause', () => port.unpause(targetId));
    expect((await port.inspect(targetId))?.state).toBe('running');
    expect(await probe(targetName, 2000)).toBe(200);
    await port.unpause(targetId); // not paused: success
    expect((await port.inspect(targetId))?.state).toBe('running');
  });

  it('kill stops it dead, start brings it back; both are idempotent', async () => {
    await timed('kill', () => port.kill(targetId, 'SIGKILL'));
    await eventually('exited', async () => (await port.inspect(targetId))?.state === 'exited');
    await port.kill(targetId, 'SIGKILL'); // not running: the effect already holds
    await expect(port.pause(targetId)).rejects.toThrow(/is not running/); // pausing a dead container is a real error
    await timed('start', () => port.start(targetId));
    await port.start(targetId); // already started: success
    expect((await port.inspect(targetId))?.state).toBe('running');
    await eventually('target answers after start', async () => (await probe(targetName)) === 200);
  });

  it('stop (SIGTERM handled quickly) and start; stop is idempotent', async () => {
    await timed('stop', () => port.stop(targetId, 5));
    expect(timings.stop).toBeLessThan(4000); // the app exits on SIGTERM instead of waiting for SIGKILL
    expect((await port.inspect(targetId))?.state).toBe('exited');
    expect(await probe(targetName)).toBe('down');
    await port.stop(targetId, 5); // already stopped: success
    await port.start(targetId);
    await eventually('target answers after stop/start', async () => (await probe(targetName)) === 200);
  });

  it('restart gives a new process', async () => {
    const before = (await docker.getContainer(targetId).inspect()).State.StartedAt;
    await timed('restart', () => port.restart(targetId, 5));
    const after = await docker.getContainer(targetId).inspect();
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).not.toBe(before);
    await eventually('target answers after restart', async () => (await probe(targetName)) === 200);
  });

  it('disconnect cuts it off its network; connect restores it with its aliases; both idempotent', async () => {
    const aliases = (await port.inspect(targetId))!.networks[net]!;
    expect(aliases).toEqual([ALIAS]);
    await timed('disconnect', () => port.disconnect(net, targetId));
    expect((await port.inspect(targetId))?.networks).toEqual({});
    // the front reaches the target only by its alias on this network: now it cannot
    await eventually('front fails while partitioned', async () =>
      [502, 504].includes((await probe(frontName, 3000)) as number),
    );
    await port.disconnect(net, targetId); // not connected: success
    await timed('connect', () => port.connect(net, targetId, aliases));
    expect((await port.inspect(targetId))?.networks).toEqual({ [net]: [ALIAS] });
    await port.connect(net, targetId, aliases); // already connected: success
    await eventually('front reaches the target by alias again', async () => (await probe(frontName, 3000)) === 200);
    const body = JSON.parse((await httpGet(`http://127.0.0.1:${await hostPort(frontName)}/`, 3000)).body) as {
      backend: string;
    };
    expect(body.backend).toBe(targetName);
  });

  it('a removed container inspects as null and operations on it are FaultTargetGone', async () => {
    await docker.getContainer(targetId).remove({ force: true });
    expect(await port.inspect(targetId)).toBeNull();
    expect(await port.inspect(targetName)).toBeNull();
    expect((await port.list()).some((c) => c.id === targetId)).toBe(false);
    await expect(port.kill(targetId, 'SIGKILL')).rejects.toBeInstanceOf(FaultTargetGone);
    await expect(port.start(targetId)).rejects.toBeInstanceOf(FaultTargetGone);
    await expect(port.unpause(targetId)).rejects.toBeInstanceOf(FaultTargetGone);
  });
});
