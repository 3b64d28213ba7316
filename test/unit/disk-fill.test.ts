// disk.fill without a kernel: the language (an absolute plain path, exactly one of size or share; refused with
// their position), and the lifecycle on the in-memory kernel port: a symbolic link or a size over the free space
// refused at prepare with nothing written, a retried inject writes once, the revert removes the file
// (idempotent), the warden removes a lapsed one.
import { describe, expect, it } from 'vitest';
import { diskFill, pathProblem, type DiskFillHandle } from '../../faults/disk-fill.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { faultProblems } from './support/fault-problems.ts';

const problems = faultProblems('disk.yaml');

describe('disk.fill: the language', () => {
  it('paths outside the container, shares over 100 % and two sizes are refused with their position', () => {
    expect(problems('{ kind: disk.fill, path: /data/../../etc, size: 1GiB, duration: 5s }')).toEqual([
      expect.stringMatching(/^disk\.yaml:5:\d+ method\.0\.path: must not hold '\.\.'/),
    ]);
    expect(problems('{ kind: disk.fill, path: data, size: 1GiB, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.path: must be an absolute path inside the container/),
    ]);
    expect(problems('{ kind: disk.fill, share: 120%, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.share: must be more than 0% and at most 100%/),
    ]);
    expect(problems('{ kind: disk.fill, size: 1GiB, share: 50%, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.size: give exactly one of size/),
    ]);
    expect(problems('{ kind: disk.fill, size: lots, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.size: must be a size such as 512MiB/),
    ]);
    expect(problems('{ kind: disk.fill, share: 80%, duration: 5s }')).toEqual([]);
    expect([pathProblem('/'), pathProblem('/var/lib/data'), pathProblem('/a/./b')]).toEqual([
      undefined,
      undefined,
      "must not hold '.' components: write the path plainly",
    ]);
  });
});

describe('disk.fill on the in-memory kernel port', () => {
  const setup = () => {
    const w = new MemoryWorld();
    const id = w.addContainer('api-1');
    w.freeBytes.set(id, 2 ** 30);
    return { w, id, ports: w.ports('agent'), target: { container: { id, name: 'api-1' }, run: 'r' } };
  };

  it('a symbolic link or a size over the free space: refused at prepare, nothing written', async () => {
    const { w, id, ports, target } = setup();
    w.links.set(id, ['/data']);
    const viaLink = diskFill.spec.parse({ kind: 'disk.fill', path: '/data/x', size: '1MiB', duration: '5s' });
    await expect(diskFill.prepare(ports, viaLink, target)).rejects.toThrow(
      /^path: \/data is a symbolic link in api-1: .*; nothing injected$/,
    );
    const big = diskFill.spec.parse({ kind: 'disk.fill', size: '2GiB', duration: '5s' });
    await expect(diskFill.prepare(ports, big, target)).rejects.toThrow(
      'size: 2GiB is more than the free space at /tmp in api-1 (1 GiB free); nothing injected',
    );
    expect(w.calls.filter((c) => c.effect !== 'none')).toEqual([]);
  });

  it('a share of the free space; a retried inject writes once; the revert removes it; the warden removes a lapsed one', async () => {
    const { w, ports, target } = setup();
    const s = diskFill.spec.parse({ kind: 'disk.fill', share: '50%', duration: '5s' });
    const h = (await diskFill.prepare(ports, s, target)) as DiskFillHandle;
    expect(h.bytes).toBe(2 ** 29);
    await diskFill.inject(ports, s, h);
    await diskFill.inject(ports, s, h);
    expect(w.calls.filter((c) => c.op === 'fillFile' && c.effect === 'apply')).toHaveLength(1);
    expect(await diskFill.revert(ports, h)).toEqual({ changed: true });
    expect(await diskFill.revert(ports, h)).toEqual({ changed: false });
    expect(w.kernelLeftovers()).toEqual([]);

    w.useLeases();
    const h2 = (await diskFill.prepare(ports, s, target)) as DiskFillHandle;
    await diskFill.inject(ports, s, h2);
    expect(w.kernelLeftovers()).toHaveLength(1);
    await w
      .leasePort('agent')
      .grant({ id: 'l-df', kind: 'disk.fill', handle: h2, leaseMs: 1, grantedAt: new Date().toISOString() });
    const [rec] = await w.lapse();
    expect(rec?.revertedAt).toBeDefined();
    expect(w.kernelLeftovers()).toEqual([]);
  });
});
