// stress.cpu: keep `cores` CPUs busy inside the container (stress-ng --cpu in its own cgroups: accounted and
// limited as the container); never more than the container's own CPU limit (or the host's CPUs without one):
// refused at prepare, nothing started. The stressor ends at the revert, with its lease (the warden removes it),
// or by its own timeout at the latest.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { injectStress, kernelFor, prepareStress, revertStress, type StressHandle } from './stress-common.ts';
import { FaultTargetGone, InvalidInput } from '../errors.ts';

const spec = z.strictObject({
  kind: z.literal('stress.cpu'),
  ...faultBase,
  cores: z
    .number()
    .min(0.01, { message: 'must be at least 0.01 cores' })
    .max(1024, { message: 'must be at most 1024 cores' })
    .describe("CPUs kept busy inside the container, e.g. 0.5 or 2; at most the container's CPU limit."),
});
export type StressCpuSpec = z.infer<typeof spec>;

/**
 * stress-ng's workers for `cores`: whole workers running flat out; the stressor's own cgroup holds them to
 * `cores` CPUs in all (StressorSpec.cpus). Not `--cpu-load`: stress-ng paces it by the wall clock (busy for a
 * slice, then idle as long again), so a worker that waited for a CPU during its slice still idles after it and
 * the target got 0.17 of the 0.5 cores asked on this loaded machine.
 */
export function cpuArgs(cores: number): string[] {
  return ['--cpu', String(Math.ceil(cores)), '--cpu-method', 'matrixprod', '--quiet'];
}

const plural = (n: number) => `${+n.toFixed(2)} core${n === 1 ? '' : 's'}`;

export const stressCpu: FaultKind<typeof spec, StressHandle> = {
  name: 'stress.cpu',
  spec,
  needsContainer: true,
  describe: (s, t) => `keep ${plural(s.cores)} busy in ${t.container?.name} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => {
    const h = await prepareStress(ports, s.kind, t, cpuArgs(s.cores), s.duration, s.cores);
    const limits = await kernelFor(ports, s.kind).limits(h.containerId);
    if (!limits) throw new FaultTargetGone(`stress.cpu: ${h.containerName} no longer exists`);
    const max = limits.cpus ?? limits.hostCpus;
    if (s.cores > max + 1e-9)
      throw new InvalidInput(
        `cores: ${plural(s.cores)} is more than ${h.containerName} may use (${limits.cpus !== undefined ? `its CPU limit is ${plural(max)}` : `no CPU limit: the host has ${plural(max)}`}); nothing injected`,
      );
    return h;
  },
  inject: async (ports, _s, h) => injectStress(ports, 'stress.cpu', h),
  revert: async (ports, h) => revertStress(ports, 'stress.cpu', h),
};
