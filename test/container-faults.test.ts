// Every container fault kind, table-driven through the registry against the real Docker daemon:
// inject has its effect, revert restores the state before, and a second revert is a no-op.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { faultKind } from '../faults/registry.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import type { Ports } from '../faults/ports.ts';
import { faultSchema, type FaultEntry } from '../experiments/schema.ts';
import { docker, dockerEvents, uniqueId } from './helpers.ts';
import { freePort } from '../cli/dev-server.ts';

let stack: DemoStack;
const ports = { containers: createDockerContainerPort() } as Ports;

beforeAll(async () => {
  stack = await demoUp({
    prefix: uniqueId('fl-cf'),
    frontPort: await freePort(),
    proxyAdminPort: await freePort(),
    replicas: 1,
  });
});
afterAll(async () => {
  if (stack) await demoDown({ prefix: stack.prefix });
});

/** injected: Docker's event for the fault (at least once: 20.10 reports one network disconnect twice); reverted: exactly once. */
interface Case {
  spec: Record<string, unknown>;
  during: (name: string) => Promise<void>;
  injected: string;
  reverted?: string;
}

const state = async (n: string) => (await docker.getContainer(n).inspect()).State.Status;
const networks = async (n: string) => (await docker.getContainer(n).inspect()).NetworkSettings.Networks;

const cases: Case[] = [
  {
    spec: { kind: 'container.kill', duration: '1s', signal: 'SIGKILL' },
    during: async (n) => expect(await state(n)).toBe('exited'),
    injected: 'kill',
    reverted: 'start',
  },
  {
    spec: { kind: 'container.stop', duration: '1s', gracePeriod: 2 },
    during: async (n) => expect(await state(n)).toBe('exited'),
    injected: 'stop',
    reverted: 'start',
  },
  {
    spec: { kind: 'container.pause', duration: '1s' },
    during: async (n) => expect(await state(n)).toBe('paused'),
    injected: 'pause',
    reverted: 'unpause',
  },
  {
    spec: { kind: 'container.restart', duration: '1s', gracePeriod: 1 },
    during: async (n) => expect(await state(n)).toBe('running'),
    injected: 'restart',
  },
  {
    spec: { kind: 'network.partition', duration: '1s', network: 'NETWORK' },
    during: async (n) => expect(Object.keys(await networks(n))).not.toContain(stack.network),
    injected: 'disconnect',
    reverted: 'connect',
  },
];

describe('container fault kinds', () => {
  for (const c of cases) {
    it(`${c.spec.kind as string}: inject has its effect, revert restores, a second revert is a no-op`, async () => {
      const name = stack.containers.backends[0]!;
      const raw = { ...c.spec, ...(c.spec.network ? { network: stack.network } : {}) };
      const spec = faultSchema.parse(raw) as FaultEntry;
      const kind = faultKind(spec.kind)!;
      const info = await docker.getContainer(name).inspect();
      const aliasesBefore = info.NetworkSettings.Networks[stack.network]?.Aliases ?? [];
      const since = Date.now();
      const handle = await kind.prepare(ports, spec, { container: { id: info.Id, name } });
      expect(JSON.parse(JSON.stringify(handle))).toEqual(handle); // plain JSON: it travels through history
      await kind.inject(ports, spec, handle);
      await c.during(name);
      await kind.revert(ports, handle);
      expect(await state(name)).toBe('running');
      await kind.revert(ports, handle); // idempotent
      expect(await state(name)).toBe('running');
      const net = (await networks(name))[stack.network];
      expect(net, 'still on its network').toBeDefined();
      expect(net?.Aliases ?? []).toEqual(
        expect.arrayContaining(aliasesBefore.filter((a: string) => a !== info.Id.slice(0, 12))),
      );
      const evs = (await dockerEvents([info.Id], ['kill', 'stop', 'start', 'pause', 'unpause', 'restart'], since)).map(
        (e) => e.action,
      );
      const netEvents = spec.kind === 'network.partition' ? await networkEvents(stack.network, info.Id, since) : [];
      const seen = [...evs, ...netEvents];
      expect(seen, 'the fault was applied').toContain(c.injected);
      if (c.reverted) expect(seen.filter((x) => x === c.reverted).length, `${c.reverted} in ${seen.join(',')}`).toBe(1);
    });
  }

  it('rejects a partition from a network the container is not on, before anything is injected', async () => {
    const spec = faultSchema.parse({
      kind: 'network.partition',
      duration: '1s',
      network: 'no-such-network',
    }) as FaultEntry;
    const name = stack.containers.backends[0]!;
    const info = await docker.getContainer(name).inspect();
    await expect(faultKind(spec.kind)!.prepare(ports, spec, { container: { id: info.Id, name } })).rejects.toThrow(
      /not attached to network no-such-network/,
    );
  });
});

async function networkEvents(network: string, containerId: string, sinceMs: number): Promise<string[]> {
  const stream = (await docker.getEvents({
    since: Math.floor(sinceMs / 1000) - 1,
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: { type: ['network'], network: [network] },
  })) as NodeJS.ReadableStream;
  let raw = '';
  for await (const chunk of stream) raw += chunk.toString();
  return raw
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Action: string; timeNano: number; Actor: { Attributes: Record<string, string> } })
    .filter((e) => e.timeNano / 1e6 >= sinceMs && e.Actor.Attributes.container === containerId)
    .map((e) => e.Action);
}
