// stress.io: `workers` stress-ng hdd workers inside the container's own cgroups, each writing and reading back
// a file of its own with O_DIRECT (so the block I/O is charged to the container's blkio cgroup, not left to
// the kernel's writeback), plus as many io workers calling sync(). The files live in the stressor's own
// filesystem (the tools image's writable layer, removed with it), never in the target's. Bounded at
// validation (1 to 64 workers); the stressor ends at the revert, with its lease (the warden removes it), or by
// its own timeout at the latest.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { injectStress, prepareStress, revertStress, type StressHandle } from './stress-common.ts';

export const MAX_IO_WORKERS = 64;

const spec = z.strictObject({
  kind: z.literal('stress.io'),
  ...faultBase,
  workers: z
    .number()
    .int({ message: 'must be a whole number of workers' })
    .min(1, { message: 'must be at least 1 worker' })
    .max(MAX_IO_WORKERS, { message: `must be at most ${MAX_IO_WORKERS} workers` })
    .describe('stress-ng hdd workers writing and reading files with direct I/O inside the container, 1 to 64.'),
});
export type StressIoSpec = z.infer<typeof spec>;

/** stress-ng's arguments for `workers` hdd workers (direct I/O, 16 MiB each) and as many sync() workers. */
export function ioArgs(workers: number): string[] {
  return [
    '--hdd',
    String(workers),
    '--hdd-bytes',
    '16m',
    '--hdd-opts',
    'direct,wr-seq,rd-seq',
    '--io',
    String(workers),
    '--temp-path',
    '/tmp',
    '--quiet',
  ];
}

export const stressIo: FaultKind<typeof spec, StressHandle> = {
  name: 'stress.io',
  spec,
  needsContainer: true,
  describe: (s, t) =>
    `${s.workers} I/O worker${s.workers === 1 ? '' : 's'} in ${t.container?.name} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => prepareStress(ports, s.kind, t, ioArgs(s.workers), s.duration),
  inject: async (ports, _s, h) => injectStress(ports, 'stress.io', h),
  revert: async (ports, h) => revertStress(ports, 'stress.io', h),
};
