// stress.memory: hold `size` of memory inside the container (stress-ng --vm, its pages touched once and kept,
// in a cgroup of its own under the container's: charged to the container, under its limit); `size` is all the
// stressor holds, stress-ng's own processes included; never more than the container's memory limit (or the
// host's memory without one): refused at prepare, nothing started. The stressor ends at the revert, with its
// lease (the warden removes it), or by its own timeout at the latest.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { injectStress, kernelFor, prepareStress, revertStress, type StressHandle } from './stress-common.ts';
import { FaultTargetGone, InvalidInput } from '../errors.ts';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};
/**
 * What stress-ng holds besides its vm worker's pages: the shared statistics area and its processes' own pages
 * (4.2-4.3 MiB measured in the stressor's cgroup, Debian 12's stress-ng 0.15.06, --vm-method write64, 8 MiB to
 * 200 MiB asked), and the worker's page tables, 8 bytes per 4 KiB page (1/512 of what it maps).
 */
export const STRESS_NG_OWN_BYTES = 4.25 * 2 ** 20;
const MIN_BYTES = 8 * 2 ** 20;
const MAX_BYTES = 2 ** 40;

/** "256MiB", "1.5GiB", "500MB", "4096KiB" -> bytes; undefined when not a size. */
export function sizeBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)\s*$/i.exec(text);
  return m ? Math.round(Number(m[1]) * (UNITS[(m[2] as string).toLowerCase()] as number)) : undefined;
}

export const sizeField = z
  .string()
  .superRefine((text, ctx) => {
    const b = sizeBytes(text);
    if (b === undefined) ctx.addIssue({ code: 'custom', message: 'must be a size such as 256MiB, 1GiB or 500MB' });
    else if (b < MIN_BYTES)
      ctx.addIssue({ code: 'custom', message: 'must be at least 8MiB (stress-ng itself holds about 4 MiB of it)' });
    else if (b > MAX_BYTES) ctx.addIssue({ code: 'custom', message: 'must be at most 1TiB' });
  })
  .describe(
    "Memory held inside the container: 256MiB, 1GiB, 500MB (8MiB to 1TiB, stress-ng's own 4 MiB included); at most the container's memory limit.",
  );

const spec = z.strictObject({ kind: z.literal('stress.memory'), ...faultBase, size: sizeField });
export type StressMemorySpec = z.infer<typeof spec>;

/**
 * One stress-ng vm worker mapping what is left of `bytes` once stress-ng's own share (STRESS_NG_OWN_BYTES and
 * the page tables) is taken off, in whole pages, writing each page once (write64) and then holding them without
 * using a CPU (--vm-hang 0). One vm method: the default cycles through all of them and some take 8 MiB more
 * for a while (76 MiB held for 64 MiB asked).
 */
export function memoryArgs(bytes: number): string[] {
  const vm = Math.floor(((bytes - STRESS_NG_OWN_BYTES) * 512) / 513 / 4096) * 4096;
  return ['--vm', '1', '--vm-bytes', `${vm}`, '--vm-keep', '--vm-hang', '0', '--vm-method', 'write64', '--quiet'];
}

const mib = (b: number) => (b >= 2 ** 30 ? `${+(b / 2 ** 30).toFixed(2)} GiB` : `${+(b / 2 ** 20).toFixed(1)} MiB`);

export const stressMemory: FaultKind<typeof spec, StressHandle> = {
  name: 'stress.memory',
  spec,
  needsContainer: true,
  describe: (s, t) => `hold ${s.size} of memory in ${t.container?.name} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => {
    const bytes = sizeBytes(s.size) as number;
    const h = await prepareStress(ports, s.kind, t, memoryArgs(bytes), s.duration);
    const limits = await kernelFor(ports, s.kind).limits(h.containerId);
    if (!limits) throw new FaultTargetGone(`stress.memory: ${h.containerName} no longer exists`);
    const max = limits.memoryBytes ?? limits.hostMemoryBytes;
    if (bytes > max)
      throw new InvalidInput(
        `size: ${s.size} is more than ${h.containerName} may hold (${limits.memoryBytes !== undefined ? `its memory limit is ${mib(max)}` : `no memory limit: the host has ${mib(max)}`}); nothing injected`,
      );
    return h;
  },
  inject: async (ports, _s, h) => injectStress(ports, 'stress.memory', h),
  revert: async (ports, h) => revertStress(ports, 'stress.memory', h),
};
