// stress.io without a kernel: the language (workers: whole, 1 to 64; refused with their position), stress-ng's
// arguments, and the lifecycle on the in-memory kernel port: a retried inject starts one stressor, the revert
// ends it, the warden ends a lapsed one.
import { describe, expect, it } from 'vitest';
import { ioArgs, stressIo } from '../../faults/stress-io.ts';
import type { StressHandle } from '../../faults/stress-common.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { faultProblems } from './support/fault-problems.ts';

const problems = faultProblems('io.yaml');

describe('stress.io', () => {
  it('workers that are not a whole number from 1 to 64 are refused with their position', () => {
    expect(problems('{ kind: stress.io, workers: 0, duration: 5s }')).toEqual([
      expect.stringMatching(/^io\.yaml:5:\d+ method\.0\.workers: must be at least 1\b/),
    ]);
    expect(problems('{ kind: stress.io, workers: 65, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.workers: must be at most 64\b/),
    ]);
    expect(problems('{ kind: stress.io, workers: 1.5, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.workers: must be (a whole number|an integer)/),
    ]);
    expect(problems('{ kind: stress.io, workers: 2, duration: 5s }')).toEqual([]);
  });

  it("stress-ng's arguments: hdd workers with direct I/O and as many sync() workers, files in the stressor's /tmp", () => {
    expect(ioArgs(2)).toEqual([
      '--hdd',
      '2',
      '--hdd-bytes',
      '16m',
      '--hdd-opts',
      'direct,wr-seq,rd-seq',
      '--io',
      '2',
      '--temp-path',
      '/tmp',
      '--quiet',
    ]);
  });

  it('a retried inject starts one stressor; the revert ends it; the warden ends a lapsed one', async () => {
    const w = new MemoryWorld();
    const id = w.addContainer('api-1');
    const ports = w.ports('agent');
    const target = { container: { id, name: 'api-1' }, run: 'r' };
    const s = stressIo.spec.parse({ kind: 'stress.io', workers: 2, duration: '5s' });
    const h = (await stressIo.prepare(ports, s, target)) as StressHandle;
    expect(h.stressor).toMatch(/^faultline-stress-\w{6}-\w{6}$/);
    await stressIo.inject(ports, s, h);
    await stressIo.inject(ports, s, h);
    expect(w.calls.filter((c) => c.op === 'startStressor' && c.effect === 'apply')).toHaveLength(1);
    expect(await stressIo.revert(ports, h)).toEqual({ changed: true });
    expect(await stressIo.revert(ports, h)).toEqual({ changed: false });
    expect(w.kernelLeftovers()).toEqual([]);

    w.useLeases();
    const h2 = (await stressIo.prepare(ports, s, target)) as StressHandle;
    await stressIo.inject(ports, s, h2);
    expect(w.kernelLeftovers()).toEqual([`stressor:${h2.stressor}`]);
    await w
      .leasePort('agent')
      .grant({ id: 'l-io', kind: 'stress.io', handle: h2, leaseMs: 1, grantedAt: new Date().toISOString() });
    const [rec] = await w.lapse();
    expect(rec?.revertedAt).toBeDefined();
    expect(w.kernelLeftovers()).toEqual([]);
  });
});
