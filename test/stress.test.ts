// stress.cpu and stress.memory against the real daemon: the stressor's processes are in a cgroup of its own
// under the target's, under every controller (read from the host's cgroup tree); the CPU stressor's workers
// never idle by themselves and its cgroup's quota is the cores asked, the target's cgroup uses at most that
// (cpuacct.usage), and holds the memory asked, stress-ng's own included (memory.usage_in_bytes); a retried
// inject starts one stressor, and after the revert no stress-ng process is left in the container and its
// usage is back; a stress larger than the container's own limit is refused at prepare and nothing is started.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stressCpu } from '../faults/stress-cpu.ts';
import { stressMemory } from '../faults/stress-memory.ts';
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

const id = uniqueId('fl-stress');
const net = `${id}-net`;
const ports = { containers: createDockerContainerPort(docker), kernel: createDockerKernelPort(docker) } as Ports;
const kernel = ports.kernel!;
const LIMIT_BYTES = 256 * 2 ** 20;
let target: KernelTarget;

beforeAll(async () => {
  await createNetwork(net);
  target = await startTarget(`${id}-target`, net, { nanoCpus: 1e9, memory: LIMIT_BYTES });
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

const CG = '/sys/fs/cgroup';
const cgroupFile = (ctrl: string, file: string) => path.join(CG, ctrl, 'docker', target.id, file);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Reverts of faults a failed test left injected, so the next test starts from a clean target. */
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f().catch(() => undefined);
});
const on = () => ({ container: { id: target.id, name: target.name }, run: 'stress-test' });

/** CPUs the target's cgroup used over `ms` (cpuacct.usage, nanoseconds). */
async function coresUsed(ms = 3_000): Promise<number> {
  const read = () => Number(readFileSync(cgroupFile('cpuacct', 'cpuacct.usage'), 'utf8'));
  const a = read();
  const t = process.hrtime.bigint();
  await sleep(ms);
  return (read() - a) / Number(process.hrtime.bigint() - t);
}

/** CPU seconds the processes used so far (utime + stime from /proc, in clock ticks of 1/100 s). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the whole line)
  }
  return ticks / 100;
}

const memoryUsed = () => Number(readFileSync(cgroupFile('memory', 'memory.usage_in_bytes'), 'utf8'));

/** The stressor's host PIDs (docker top lists the container's cgroup), each checked in every controller. */
async function stressorPids(): Promise<number[]> {
  return ((await kernel.processes(target.id)) ?? []).filter(isStressor).map((p) => p.pid);
}

/** The controllers under which `pid` is in the cgroup `sub` (relative to the target's). */
function controllersHolding(pid: number, sub: string): string[] {
  return readdirSync(CG).filter((ctrl) => {
    const f = cgroupFile(ctrl, path.join(sub, 'cgroup.procs'));
    return existsSync(f) && readFileSync(f, 'utf8').split('\n').includes(String(pid));
  });
}

/** The stressor container's own cgroup, relative to the target's (Docker makes it a child of the target's). */
async function stressorCgroup(h: StressHandle): Promise<string> {
  return (await docker.getContainer(h.stressor).inspect()).Id;
}

/** ns on a CPU and ns waiting for one, from /proc/<pid>/schedstat. */
function schedstat(pid: number): [number, number] {
  const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return [run ?? 0, wait ?? 0];
}

async function stressorsOf(h: StressHandle) {
  return docker.listContainers({ all: true, filters: { name: [h.stressor] } });
}

describe('stress kinds', () => {
  it("stress.cpu: the stressor wants the cores asked all the time and uses at most them, every stress-ng process in a cgroup under the target's; nothing left after the revert", async () => {
    const idle = await coresUsed(2_000);
    const s = stressCpu.spec.parse({ kind: 'stress.cpu', duration: '30s', cores: 0.5 });
    const h = (await stressCpu.prepare(ports, s, on())) as StressHandle;
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
    await stressCpu.inject(ports, s, h);
    cleanup.push(() => stressCpu.revert(ports, h));
    await stressCpu.inject(ports, s, h); // retried: finds its stressor running
    expect(await stressorsOf(h)).toHaveLength(1);
    const pids = await stressorPids();
    expect(pids.length).toBeGreaterThanOrEqual(2); // stress-ng and its worker
    const sub = await stressorCgroup(h);
    const expected = readdirSync(CG).filter((c) => existsSync(cgroupFile(c, 'cgroup.procs')));
    for (const pid of pids) expect(controllersHolding(pid, sub), `pid ${pid}`).toEqual(expected);
    // The stressor's own cgroup is held to the 0.5 cores asked: a CFS quota, not stress-ng's wall-clock pacing.
    const quota = Number(readFileSync(cgroupFile('cpu', `${sub}/cpu.cfs_quota_us`), 'utf8'));
    const period = Number(readFileSync(cgroupFile('cpu', `${sub}/cpu.cfs_period_us`), 'utf8'));
    expect(quota / period).toBeCloseTo(0.5, 5);
    const worker = ((await kernel.processes(target.id)) ?? []).find((p) => /stress-ng-cpu/.test(p.command));
    expect(worker, 'the cpu worker').toBeDefined();
    const throttled = () =>
      Number(/throttled_time (\d+)/.exec(readFileSync(cgroupFile('cpu', `${sub}/cpu.stat`), 'utf8'))?.[1]);
    const [run0, wait0] = schedstat(worker!.pid);
    const throttled0 = throttled();
    const wall0 = process.hrtime.bigint();
    const stressorBefore = cpuSeconds(pids);
    const cgroupBefore = Number(readFileSync(cgroupFile('cpuacct', 'cpuacct.usage'), 'utf8')) / 1e9;
    const busy = await coresUsed();
    const byStressor = cpuSeconds(pids) - stressorBefore;
    const byCgroup = Number(readFileSync(cgroupFile('cpuacct', 'cpuacct.usage'), 'utf8')) / 1e9 - cgroupBefore;
    const [run1, wait1] = schedstat(worker!.pid);
    const wall = Number(process.hrtime.bigint() - wall0);
    const ran = (run1 - run0) / wall;
    const waited = (wait1 - wait0) / wall;
    const held = (throttled() - throttled0) / wall;
    console.log(
      `stress.cpu 0.5 cores (limit 1): the target's cgroup used ${busy.toFixed(2)} cores (idle ${idle.toFixed(2)}); the stressor's ${byStressor.toFixed(2)} CPU s are in the cgroup's ${byCgroup.toFixed(2)}; its worker ran ${ran.toFixed(2)}, waited for a CPU ${waited.toFixed(2)}, held by its quota ${held.toFixed(2)} of the time`,
    );
    // Every CPU second the stressor used is the container's (its own processes idle meanwhile)...
    expect(byCgroup).toBeGreaterThanOrEqual(byStressor * 0.9);
    expect(byStressor).toBeGreaterThan(0.1);
    // ...the worker never idles by itself (running, waiting for a CPU or held by its quota: with --cpu-load's
    // pacing it slept half the time, however long it had waited), so it gets the 0.5 cores whenever the
    // machine has them (bench:faults) and less only when the scheduler gives the container less...
    expect(ran + waited + held).toBeGreaterThan(0.97);
    // ...and never more than asked.
    expect(busy).toBeGreaterThan(idle + 0.03);
    expect(busy).toBeLessThanOrEqual(0.5 * 1.05 + idle);
    expect(await stressCpu.revert(ports, h)).toEqual({ changed: true });
    expect(await stressorPids()).toEqual([]);
    expect(await stressorsOf(h)).toEqual([]);
    expect(existsSync(cgroupFile('cpu', sub)), "the stressor's cgroup is removed with it").toBe(false);
    expect(await coresUsed(2_000)).toBeLessThanOrEqual(idle + 0.1);
    expect(await stressCpu.revert(ports, h)).toEqual({ changed: false });
  });

  it("stress.memory: the target cgroup holds the size asked, stress-ng's own memory included; released after the revert", async () => {
    const before = memoryUsed();
    const size = 64 * 2 ** 20;
    const s = stressMemory.spec.parse({ kind: 'stress.memory', duration: '30s', size: '64MiB' });
    const h = (await stressMemory.prepare(ports, s, on())) as StressHandle;
    await stressMemory.inject(ports, s, h);
    cleanup.push(() => stressMemory.revert(ports, h));
    const sub = await stressorCgroup(h);
    const byStressor = () => Number(readFileSync(cgroupFile('memory', `${sub}/memory.usage_in_bytes`), 'utf8'));
    let own = 0;
    for (const end = Date.now() + 20_000; Date.now() < end && own < size * 0.98; await sleep(200)) own = byStressor();
    await sleep(1_000); // held, not growing: a vm method that takes more for a while would show now
    own = byStressor();
    const held = memoryUsed() - before;
    console.log(
      `stress.memory 64MiB: the stressor's cgroup holds ${(own / 2 ** 20).toFixed(2)} MiB, the target's ${(held / 2 ** 20).toFixed(2)} MiB more`,
    );
    // What the stressor holds, stress-ng's own processes included, is the size asked (it held 76 MiB when they
    // were not counted)...
    expect(own).toBeGreaterThanOrEqual(size * 0.98);
    expect(own).toBeLessThanOrEqual(size * 1.01);
    // ...and it is the target's: its cgroup grew by as much (its own node process may move by a MiB or two).
    expect(held).toBeGreaterThanOrEqual(size * 0.95);
    expect(held).toBeLessThanOrEqual(size * 1.05);
    expect(await stressMemory.revert(ports, h)).toEqual({ changed: true });
    expect(await stressorPids()).toEqual([]);
    expect(memoryUsed() - before).toBeLessThanOrEqual(8 * 2 ** 20);
  });

  it("a stress larger than the container's own limit is refused at prepare, and nothing is started", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const cpu = stressCpu.spec.parse({ kind: 'stress.cpu', duration: '30s', cores: 2 });
    await expect(stressCpu.prepare(ports, cpu, on())).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(
        /^cores: 2 cores is more than .* may use \(its CPU limit is 1 core\); nothing injected/,
      ),
    });
    const mem = stressMemory.spec.parse({ kind: 'stress.memory', duration: '30s', size: '512MiB' });
    await expect(stressMemory.prepare(ports, mem, on())).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(
        /^size: 512MiB is more than .* may hold \(its memory limit is 256 MiB\); nothing injected/,
      ),
    });
    const stressors = await docker.listContainers({ all: true, filters: { label: ['faultline.component=stressor'] } });
    expect(stressors.filter((c) => c.Created >= since)).toEqual([]);
    expect(await stressorPids()).toEqual([]);
  });

  it('a target restarted during the fault: the stressor stays in its cgroup (the same one), the revert ends it', async () => {
    const s = stressCpu.spec.parse({ kind: 'stress.cpu', duration: '30s', cores: 0.2 });
    const h = (await stressCpu.prepare(ports, s, on())) as StressHandle;
    await stressCpu.inject(ports, s, h);
    cleanup.push(() => stressCpu.revert(ports, h));
    await docker.getContainer(target.id).restart({ t: 1 });
    // Docker kills the container's own processes (its PID namespace); the stressor has one of its own.
    expect((await stressorPids()).length).toBeGreaterThanOrEqual(2);
    expect(await stressCpu.revert(ports, h)).toEqual({ changed: true });
    expect(await stressorPids()).toEqual([]);
    expect(await stressorsOf(h)).toEqual([]);
  });
});
