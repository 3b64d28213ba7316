// stress.io against the real daemon: the stressor's processes are the target's (in its own blkio cgroup, listed
// by docker top) and they do the block I/O asked (their /proc/<pid>/io read_bytes + write_bytes grow by at
// least what one hdd worker writes: this kernel keeps no blkio.throttle statistics, every cgroup's are 0); a
// retried inject starts one stressor; after the revert no stress-ng process is left in the container and its
// stressor container is gone.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stressIo } from '../faults/stress-io.ts';
import { isStressor, type StressHandle } from '../faults/stress-common.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { uniqueId } from './helpers.ts';
import {
  createNetwork,
  docker,
  removeContainers,
  removeNetwork,
  startTarget,
  type KernelTarget,
} from './support/kernel-targets.ts';

const id = uniqueId('fl-sio');
const net = `${id}-net`;
const ports = { containers: createDockerContainerPort(docker), kernel: createDockerKernelPort(docker) } as Ports;
const kernel = ports.kernel!;
let target: KernelTarget;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await createNetwork(net);
  target = await startTarget(`${id}-target`, net);
});
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f().catch(() => undefined);
});
afterAll(async () => {
  await removeContainers(id);
  for (const c of await docker.listContainers({
    all: true,
    filters: { label: [`faultline.stress.target=${target?.id}`] },
  }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  await removeNetwork(net);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const blkio = (file: string) => path.join('/sys/fs/cgroup/blkio/docker', target.id, file);
/** Bytes the processes read from and wrote to storage so far (/proc/<pid>/io); a process gone counts 0. */
const ioBytes = (pids: number[]) =>
  pids.reduce((n, pid) => {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      return n + Number(/read_bytes: (\d+)/.exec(io)?.[1]) + Number(/^write_bytes: (\d+)/m.exec(io)?.[1]);
    } catch {
      return n;
    }
  }, 0);
const stressorPids = async () => ((await kernel.processes(target.id)) ?? []).filter(isStressor).map((p) => p.pid);
const on = () => ({ container: { id: target.id, name: target.name }, run: 'stress-io-test' });

describe('stress.io', () => {
  it("the container's stress-ng processes do the block I/O asked; nothing left after the revert", async () => {
    expect(existsSync(blkio('cgroup.procs'))).toBe(true);
    const s = stressIo.spec.parse({ kind: 'stress.io', duration: '30s', workers: 1 });
    const h = (await stressIo.prepare(ports, s, on())) as StressHandle;
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
    await stressIo.inject(ports, s, h);
    cleanup.push(() => stressIo.revert(ports, h));
    await stressIo.inject(ports, s, h); // retried: finds its stressor running
    expect(await docker.listContainers({ all: true, filters: { name: [h.stressor] } })).toHaveLength(1);
    const pids = await stressorPids();
    expect(pids.length).toBeGreaterThanOrEqual(2);
    // In the target's blkio cgroup or one under it (the stressor's own, whose parent is the target's).
    for (const pid of pids) {
      const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => l.split(':')[1]?.split(',').includes('blkio'));
      expect(line?.split(':')[2], `pid ${pid}'s blkio cgroup`).toMatch(new RegExp(`^/docker/${target.id}(/|$)`));
    }
    // Waits for the event: 16 MiB written (and read back) with O_DIRECT by the container's stress-ng processes.
    let done = 0;
    for (const end = Date.now() + 60_000; Date.now() < end && done < 16 * 2 ** 20; await sleep(200))
      done = ioBytes(await stressorPids());
    console.log(
      `stress.io 1 worker: the container's stress-ng processes did ${(done / 2 ** 20).toFixed(1)} MiB of block I/O`,
    );
    expect(done).toBeGreaterThanOrEqual(16 * 2 ** 20);
    expect(await stressIo.revert(ports, h)).toEqual({ changed: true });
    expect(await stressorPids()).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { name: [h.stressor] } })).toEqual([]);
    expect(await stressIo.revert(ports, h)).toEqual({ changed: false });
  });
});
