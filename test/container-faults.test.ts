// Every container fault kind, table-driven through the registry against the real Docker daemon:
// inject has its effect (and checks it), revert brings back the state from before the experiment (and
// checks it), a second revert and a retried inject are no-ops. A revert or inject whose effect Docker
// does not show fails with a message saying what differs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { faultKind } from '../faults/registry.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import type { ContainerPort, Ports } from '../faults/ports.ts';
import { faultSchema, type FaultEntry } from '../experiments/schema.ts';
import { docker, dockerEvents, runCli, uniqueId } from './helpers.ts';
import { freePort } from '../cli/dev-server.ts';
import { dockerEventLog, eventIso } from './support/docker-events.ts';

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

/**
 * injected: Docker's event for the fault (at least once: 20.10 reports one network disconnect twice);
 * once: that event exactly once even though inject ran twice (a retried inject never applies it again);
 * reverted: exactly once, though revert ran twice.
 */
interface Case {
  spec: Record<string, unknown>;
  during: (name: string) => Promise<void>;
  injected: string;
  once?: boolean;
  reverted?: string;
}

const state = async (n: string) => (await docker.getContainer(n).inspect()).State.Status;
const networks = async (n: string) => (await docker.getContainer(n).inspect()).NetworkSettings.Networks;

const cases: Case[] = [
  {
    spec: { kind: 'container.kill', duration: '1s', signal: 'SIGKILL' },
    during: async (n) => expect(await state(n)).toBe('exited'),
    injected: 'kill',
    once: true,
    reverted: 'start',
  },
  {
    spec: { kind: 'container.stop', duration: '1s', gracePeriod: 2 },
    during: async (n) => expect(await state(n)).toBe('exited'),
    injected: 'stop',
    once: true,
    reverted: 'start',
  },
  {
    spec: { kind: 'container.pause', duration: '1s' },
    during: async (n) => expect(await state(n)).toBe('paused'),
    injected: 'pause',
    once: true,
    reverted: 'unpause',
  },
  {
    spec: { kind: 'container.restart', duration: '1s', gracePeriod: 1 },
    during: async (n) => expect(await state(n)).toBe('running'),
    injected: 'restart',
    once: true,
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
    it(`${c.spec.kind as string}: inject has its effect once, revert restores the state before, a second revert is a no-op`, async () => {
      const name = stack.containers.backends[0]!;
      const raw = { ...c.spec, ...(c.spec.network ? { network: stack.network } : {}) };
      const spec = faultSchema.parse(raw) as FaultEntry;
      const kind = faultKind(spec.kind)!;
      const info = await docker.getContainer(name).inspect();
      const aliasesBefore = info.NetworkSettings.Networks[stack.network]?.Aliases ?? [];
      const since = Date.now();
      const handle = await kind.prepare(ports, spec, { container: { id: info.Id, name } });
      expect(JSON.parse(JSON.stringify(handle))).toEqual(handle); // plain JSON: it travels through history
      expect(handle.wasState ?? 'running').toBe('running'); // the state to come back to is in the handle
      await kind.inject(ports, spec, handle);
      await c.during(name);
      await kind.inject(ports, spec, handle); // retried (worker died before reporting): no second effect
      await c.during(name);
      // The revert says whether it undid anything (a restart is back by itself: nothing to undo).
      expect(await kind.revert(ports, handle)).toEqual({ changed: !!c.reverted });
      expect(await state(name)).toBe('running');
      expect(await kind.revert(ports, handle)).toEqual({ changed: false }); // idempotent, and says so
      expect(await state(name)).toBe('running');
      // When it was undone, from the daemon's own event log (a later no-op revert never moves it): the
      // undo after the fault, to the millisecond of Docker's timeNano.
      const undo = c.reverted ?? 'start';
      const times = await eventTimes(info.Id, spec.kind === 'network.partition' ? stack.network : undefined, since);
      expect((await kind.undoneAt?.(ports, handle, new Date(since).toISOString()))?.at).toBe(
        times.find((e) => e.action === undo)?.at,
      );
      const net = (await networks(name))[stack.network];
      expect(net, 'still on its network').toBeDefined();
      expect(net?.Aliases ?? []).toEqual(
        expect.arrayContaining(aliasesBefore.filter((a: string) => a !== info.Id.slice(0, 12))),
      );
      expect(Object.keys(await networks(name)).sort()).toEqual(Object.keys(info.NetworkSettings.Networks).sort());
      const evs = (await dockerEvents([info.Id], ['kill', 'stop', 'start', 'pause', 'unpause', 'restart'], since)).map(
        (e) => e.action,
      );
      const netEvents = spec.kind === 'network.partition' ? await networkEvents(stack.network, info.Id, since) : [];
      const seen = [...evs, ...netEvents];
      expect(seen, 'the fault was applied').toContain(c.injected);
      if (c.once)
        expect(
          seen.filter((x) => x === c.injected),
          seen.join(','),
        ).toHaveLength(1);
      if (c.reverted) expect(seen.filter((x) => x === c.reverted).length, `${c.reverted} in ${seen.join(',')}`).toBe(1);
    });
  }

  it('an inject whose effect Docker does not show fails, saying so (and is retried by the workflow)', async () => {
    const name = stack.containers.backends[0]!;
    const info = await docker.getContainer(name).inspect();
    const spec = faultSchema.parse({ kind: 'container.pause', duration: '1s' }) as FaultEntry;
    const kind = faultKind(spec.kind)!;
    const deaf = lying({ pause: async () => {} }); // the daemon acknowledges but nothing happens
    const h = await kind.prepare(deaf, spec, { container: { id: info.Id, name } });
    await expect(kind.inject(deaf, spec, h)).rejects.toMatchObject({
      name: 'FaultNotInEffect',
      message: expect.stringMatching(/pause on .* has no effect: the container is running, expected paused/),
    });
  });

  it('a revert that finds the container not back fails with what differs, and the retry completes it', async () => {
    const name = stack.containers.backends[0]!;
    const info = await docker.getContainer(name).inspect();
    const spec = faultSchema.parse({ kind: 'container.pause', duration: '1s' }) as FaultEntry;
    const kind = faultKind(spec.kind)!;
    const h = await kind.prepare(ports, spec, { container: { id: info.Id, name } });
    await kind.inject(ports, spec, h);
    const deaf = lying({ unpause: async () => {} });
    await expect(kind.revert(deaf, h)).rejects.toMatchObject({
      name: 'RevertIncomplete',
      message: expect.stringMatching(/pause on .* not reverted: the container is paused, it was running before/),
    });
    await kind.revert(ports, h); // the workflow's retry
    expect(await state(name)).toBe('running');
  });

  it('a partition revert that reconnects without the aliases fails, naming them', async () => {
    const name = stack.containers.backends[0]!;
    const info = await docker.getContainer(name).inspect();
    const spec = faultSchema.parse({ kind: 'network.partition', duration: '1s', network: stack.network }) as FaultEntry;
    const kind = faultKind(spec.kind)!;
    const h = await kind.prepare(ports, spec, { container: { id: info.Id, name } });
    expect(h.aliases).toContain('backend');
    await kind.inject(ports, spec, h);
    const forgetful = lying({ connect: (net, id) => ports.containers.connect(net, id, []) });
    await expect(kind.revert(forgetful, h)).rejects.toMatchObject({
      name: 'RevertIncomplete',
      message: expect.stringMatching(/without the aliases backend/),
    });
    await kind.revert(ports, h); // the retry reconnects it with its aliases
    expect((await networks(name))[stack.network]?.Aliases).toEqual(expect.arrayContaining(['backend']));
  });

  it('a kill with a stopping signal is refused by `run` (exit 2, file:line:col), and nothing reaches the container', async () => {
    const name = stack.containers.backends[0]!;
    const id = (await docker.getContainer(name).inspect()).Id;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-stop-'));
    const since = Date.now();
    for (const signal of ['SIGSTOP', 'TSTP', '19']) {
      const file = path.join(dir, 'stop.yaml');
      writeFileSync(
        file,
        `title: freeze by signal
hypothesis: { statement: the front answers, probes: [ { name: f, type: http, url: "${stack.frontUrl}/" } ] }
targets: { names: [ ${name} ] }
method:
  - { kind: container.kill, signal: "${signal}", duration: 2s }
`,
      );
      const r = await runCli(['run', file, '--wait']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr + r.stdout).toMatch(/stop\.yaml:5:\d+ method\.0\.signal: a stopping signal .*container\.pause/);
    }
    expect(await dockerEvents([id], ['kill', 'pause', 'stop'], since)).toEqual([]);
    expect(await state(name)).toBe('running');
  });

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

/** The real Docker port with some calls replaced: a daemon that acknowledges but does not act. */
function lying(over: Partial<ContainerPort>): Ports {
  return { containers: { ...ports.containers, ...over } } as Ports;
}

/** A container's events (or, with network, that network's events for it) since sinceMs, with their times. */
async function eventTimes(id: string, network: string | undefined, sinceMs: number) {
  const filters: Record<string, string[]> = network
    ? { type: ['network'], network: [network] }
    : { type: ['container'], container: [id] };
  return (await dockerEventLog(docker, { sinceMs, filters }))
    .filter((e) => !network || e.Actor?.Attributes?.container === id)
    .map((e) => ({ action: e.Action, at: eventIso(e) }));
}

async function networkEvents(network: string, containerId: string, sinceMs: number): Promise<string[]> {
  return (await dockerEventLog(docker, { sinceMs, filters: { type: ['network'], network: [network] } }))
    .filter((e) => e.Actor?.Attributes?.container === containerId)
    .map((e) => e.Action);
}
