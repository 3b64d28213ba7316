// stress.cpu and stress.memory without a kernel: the language (cores, sizes; refused with their position),
// stress-ng's arguments, and the lifecycle on the in-memory kernel port: sized against the container's own
// limit (or the host's without one) and refused at prepare with nothing started when larger, a retried inject
// starts one stressor, the revert ends it and leaves no stress-ng process, the warden ends a lapsed one.
import { describe, expect, it } from 'vitest';
import { cpuArgs, stressCpu } from '../../faults/stress-cpu.ts';
import { memoryArgs, sizeBytes, STRESS_NG_OWN_BYTES, stressMemory } from '../../faults/stress-memory.ts';
import type { StressHandle } from '../../faults/stress-common.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { faultProblems } from './support/fault-problems.ts';

const problems = faultProblems('stress.yaml');

describe('stress: the language', () => {
  it('cores and sizes out of range or not sizes are refused with their position', () => {
    expect(problems('{ kind: stress.cpu, cores: 0, duration: 5s }')).toEqual([
      expect.stringMatching(/^stress\.yaml:5:\d+ method\.0\.cores: must be at least 0\.01/),
    ]);
    expect(problems('{ kind: stress.cpu, cores: 2000, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.cores: must be at most 1024/),
    ]);
    expect(problems('{ kind: stress.memory, size: lots, duration: 5s }')).toEqual([
      expect.stringMatching(/^stress\.yaml:5:\d+ method\.0\.size: must be a size such as 256MiB, 1GiB or 500MB/),
    ]);
    expect(problems('{ kind: stress.memory, size: 10KiB, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.size: must be at least 8MiB \(stress-ng itself holds about 4 MiB of it\)/),
    ]);
    expect(problems('{ kind: stress.memory, size: 4MiB, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.size: must be at least 8MiB/),
    ]);
    expect(problems('{ kind: stress.memory, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.size: required field "size" is missing/),
    ]);
  });

  it("sizes in SI or binary units, and stress-ng's arguments", () => {
    expect([sizeBytes('256MiB'), sizeBytes('1.5GiB'), sizeBytes('500MB'), sizeBytes('4096 KiB')]).toEqual([
      256 * 2 ** 20,
      1.5 * 2 ** 30,
      500e6,
      4 * 2 ** 20,
    ]);
    // Workers flat out (no wall-clock --cpu-load); the stressor's cgroup holds them to the cores asked.
    expect(cpuArgs(1.5)).toEqual(['--cpu', '2', '--cpu-method', 'matrixprod', '--quiet']);
    expect(cpuArgs(0.25)).toEqual(['--cpu', '1', '--cpu-method', 'matrixprod', '--quiet']);
    // stress-ng's own 4.25 MiB and the worker's page tables come out of the size asked, in whole pages.
    const vm = (bytes: number) => Number(memoryArgs(bytes)[3]);
    expect(memoryArgs(64 * 2 ** 20)).toEqual([
      '--vm',
      '1',
      '--vm-bytes',
      String(vm(64 * 2 ** 20)),
      '--vm-keep',
      '--vm-hang',
      '0',
      '--vm-method',
      'write64',
      '--quiet',
    ]);
    for (const mib of [8, 64, 256, 4096]) {
      const bytes = mib * 2 ** 20;
      expect(vm(bytes) % 4096).toBe(0);
      const held = vm(bytes) + vm(bytes) / 512 + STRESS_NG_OWN_BYTES;
      expect(held).toBeLessThanOrEqual(bytes);
      expect(held).toBeGreaterThan(bytes - 8192);
    }
  });
});

describe('stress on the in-memory kernel port', () => {
  const setup = () => {
    const w = new MemoryWorld();
    const id = w.addContainer('api-1');
    w.limits.set(id, { cpus: 1, memoryBytes: 256 * 2 ** 20 });
    return { w, id, ports: w.ports('agent'), target: { container: { id, name: 'api-1' }, run: 'r' } };
  };

  it("larger than the container's limit: refused at prepare, nothing started; without a limit the host's bounds it", async () => {
    const { w, id, ports, target } = setup();
    await expect(
      stressCpu.prepare(ports, stressCpu.spec.parse({ kind: 'stress.cpu', cores: 1.5, duration: '5s' }), target),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: 'cores: 1.5 cores is more than api-1 may use (its CPU limit is 1 core); nothing injected',
    });
    await expect(
      stressMemory.prepare(
        ports,
        stressMemory.spec.parse({ kind: 'stress.memory', size: '1GiB', duration: '5s' }),
        target,
      ),
    ).rejects.toThrow(/^size: 1GiB is more than api-1 may hold \(its memory limit is 256 MiB\); nothing injected$/);
    w.limits.delete(id);
    await expect(
      stressCpu.prepare(ports, stressCpu.spec.parse({ kind: 'stress.cpu', cores: 9, duration: '5s' }), target),
    ).rejects.toThrow(/no CPU limit: the host has 8 cores/);
    expect(w.calls.filter((c) => c.effect !== 'none')).toEqual([]);
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('a retried inject starts one stressor; the revert ends it; the warden ends a lapsed one', async () => {
    const { w, ports, target } = setup();
    const s = stressMemory.spec.parse({ kind: 'stress.memory', size: '64MiB', duration: '5s' });
    const h = (await stressMemory.prepare(ports, s, target)) as StressHandle;
    expect(h.stressor).toMatch(/^faultline-stress-\w{6}-\w{6}$/);
    expect(h.timeoutSeconds).toBe(5 + 120);
    await stressMemory.inject(ports, s, h);
    await stressMemory.inject(ports, s, h);
    expect(w.calls.filter((c) => c.op === 'startStressor' && c.effect === 'apply')).toHaveLength(1);
    expect(await stressMemory.revert(ports, h)).toEqual({ changed: true });
    expect(await stressMemory.revert(ports, h)).toEqual({ changed: false });
    expect(w.kernelLeftovers()).toEqual([]);

    w.useLeases();
    const c = stressCpu.spec.parse({ kind: 'stress.cpu', cores: 0.5, duration: '5s' });
    const h2 = (await stressCpu.prepare(ports, c, target)) as StressHandle;
    await stressCpu.inject(ports, c, h2);
    expect(w.kernelLeftovers()).toEqual([`stressor:${h2.stressor}`]);
    // The stressor's own cgroup is held to the cores asked (a CPU quota, not stress-ng's wall-clock pacing).
    expect(w.stressors.get(h2.stressor)).toMatchObject({
      cpus: 0.5,
      args: ['--cpu', '1', '--cpu-method', 'matrixprod', '--quiet'],
    });
    await w
      .leasePort('agent')
      .grant({ id: 'l3', kind: 'stress.cpu', handle: h2, leaseMs: 1, grantedAt: new Date().toISOString() });
    const [rec] = await w.lapse();
    expect(rec?.revertedAt).toBeDefined();
    expect(w.kernelLeftovers()).toEqual([]);
  });
});
