// stress.memory: hold `size` of memory inside the container (stress-ng --vm, its pages kept and touched, in
// the container's own cgroups: charged to the container, under its limit); never more than the container's
// memory limit (or the host's memory without one): refused at prepare, nothing started. The stressor ends
// at the revert, with its lease (the warden removes it), or by its own timeout at the latest.
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
const MIN_BYTES = 2 ** 20;
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
    else if (b < MIN_BYTES) ctx.addIssue({ code: 'custom', message: 'must be at least 1MiB' });
    else if (b > MAX_BYTES) ctx.addIssue({ code: 'custom', message: 'must be at most 1TiB' });
  })
  .describe(
    "Memory held inside the container: 256MiB, 1GiB, 500MB (1MiB to 1TiB); at most the container's memory limit.",
  );

const spec = z.strictObject({ kind: z.literal('stress.memory'), ...faultBase, size: sizeField });
export type StressMemorySpec = z.infer<typeof spec>;

/** One stress-ng vm worker holding `bytes`, its pages kept mapped and written over and over. */
export function memoryArgs(bytes: number): string[] {
  return ['--vm', '1', '--vm-bytes', `${bytes}`, '--vm-keep', '--quiet'];
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
