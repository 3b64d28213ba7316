// disk.fill: a file of `size`, or of `share` of the free space, in the directory `path` inside the container
// (its own filesystem or a volume mounted there), allocated (not sparse) by a helper of the tools image that
// reaches the container's files through its PID 1's root; named after the run and the fault
// (faultline-fill-<run>-<fault>) and removed at the revert (and by the warden when the lease lapses). A path
// that is not absolute or holds `.`/`..` is refused at validation; one through a symbolic link (which could lead
// outside the container), one that is not a directory, or a size over the free space there is refused at
// prepare, with nothing written. The effect is checked from inside: the file's size, and gone after the revert.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { containerOf, type ContainerHandle } from './container-common.ts';
import { faultNonce, shortHash } from './netfilter.ts';
import { sizeBytes } from './stress-memory.ts';
import { kernelOf } from './process-common.ts';
import { FaultNotInEffect, FaultTargetGone, InvalidInput, RevertIncomplete } from '../errors.ts';

export interface DiskFillHandle extends ContainerHandle {
  dir: string;
  file: string;
  bytes: number;
  /** Free bytes at `dir` at prepare. */
  freeBefore: number;
}

/** Why an absolute container path is refused, or undefined when it is a plain absolute one. */
export function pathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'must be an absolute path inside the container, such as /tmp or /data';
  if (/[\0\n]/.test(p)) return 'must not hold a NUL or a newline';
  const parts = p.split('/').filter(Boolean);
  if (parts.some((c) => c === '..'))
    return "must not hold '..': a path that climbs out of its directory could lead outside the container";
  if (parts.some((c) => c === '.')) return "must not hold '.' components: write the path plainly";
  return undefined;
}

const spec = z
  .strictObject({
    kind: z.literal('disk.fill'),
    ...faultBase,
    path: z
      .string()
      .max(1024)
      .superRefine((p, ctx) => {
        const why = pathProblem(p);
        if (why) ctx.addIssue({ code: 'custom', message: why });
      })
      .default('/tmp')
      .describe('The directory inside the container where the file is written (default /tmp).'),
    size: z
      .string()
      .superRefine((t, ctx) => {
        if (sizeBytes(t) === undefined)
          ctx.addIssue({ code: 'custom', message: 'must be a size such as 512MiB, 2GiB or 500MB' });
        else if ((sizeBytes(t) as number) < 1) ctx.addIssue({ code: 'custom', message: 'must be more than 0 bytes' });
      })
      .optional()
      .describe('The file size: 512MiB, 2GiB, 500MB; at most the free space there.'),
    share: z
      .union([
        z.number().gt(0, { message: 'must be more than 0' }).max(1, { message: 'must be at most 1 (100%)' }),
        z
          .string()
          .regex(/^\d+(\.\d+)?%$/, { message: 'must be a share such as 80% or 0.8' })
          .refine((t) => parseFloat(t) > 0 && parseFloat(t) <= 100, {
            message: 'must be more than 0% and at most 100%',
          }),
      ])
      .optional()
      .describe('The share of the free space there to fill: 80% or 0.8.'),
  })
  .refine((s) => (s.size === undefined) !== (s.share === undefined), {
    message: 'give exactly one of size (512MiB) or share (80% of the free space)',
    path: ['size'],
  });
export type DiskFillSpec = z.infer<typeof spec>;

const shareOf = (s: number | string) => (typeof s === 'number' ? s : parseFloat(s) / 100);
const human = (b: number) => (b >= 2 ** 30 ? `${+(b / 2 ** 30).toFixed(2)} GiB` : `${+(b / 2 ** 20).toFixed(1)} MiB`);

export const diskFill: FaultKind<typeof spec, DiskFillHandle> = {
  name: 'disk.fill',
  spec,
  needsContainer: true,
  describe: (s, t) =>
    `fill ${s.size ?? `${+(shareOf(s.share as number | string) * 100).toFixed(1)}% of the free space`} at ${s.path} in ${t.container?.name} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => {
    const c = await containerOf(ports, t);
    const u = await kernelOf(ports, s.kind).dirUsage(c.containerId, s.path);
    if (!u) throw new FaultTargetGone(`disk.fill: ${c.containerName} is not running`);
    if (u.link)
      throw new InvalidInput(
        `path: ${u.link} is a symbolic link in ${c.containerName}: it could lead outside the container, so it is not followed; give the directory it points to; nothing injected`,
      );
    if (u.notDir) throw new InvalidInput(`path: ${s.path} is not a directory in ${c.containerName}; nothing injected`);
    const bytes =
      s.size !== undefined
        ? (sizeBytes(s.size) as number)
        : Math.floor(u.freeBytes * shareOf(s.share as number | string));
    if (bytes > u.freeBytes)
      throw new InvalidInput(
        `size: ${s.size} is more than the free space at ${s.path} in ${c.containerName} (${human(u.freeBytes)} free); nothing injected`,
      );
    if (bytes < 1) throw new InvalidInput(`share: no free space at ${s.path} in ${c.containerName}; nothing injected`);
    return {
      ...c,
      dir: s.path,
      file: `faultline-fill-${shortHash(t.run ?? 'no-run')}-${faultNonce()}`,
      bytes,
      freeBefore: u.freeBytes,
    };
  },
  inject: async (ports, _s, h) => {
    const k = kernelOf(ports, 'disk.fill');
    if (!(await k.fillFile(h.containerId, h.dir, h.file, h.bytes)))
      throw new FaultTargetGone(`disk.fill: ${h.containerName} is not running`);
    const u = await k.dirUsage(h.containerId, h.dir, h.file);
    if (u?.fileBytes !== h.bytes)
      throw new FaultNotInEffect(
        `disk.fill on ${h.containerName} has no effect: ${h.dir}/${h.file} holds ${u?.fileBytes ?? 'nothing'} bytes, not ${h.bytes}`,
      );
  },
  revert: async (ports, h) => {
    const k = kernelOf(ports, 'disk.fill');
    const removed = await k.removeFile(h.containerId, h.dir, h.file);
    if (removed === null)
      return {
        changed: false,
        note: `disk.fill on ${h.containerName}: the container is not running; its file ${h.dir}/${h.file} is removed when it runs again and the revert is retried, or with the container`,
      };
    const u = await k.dirUsage(h.containerId, h.dir, h.file);
    if (u && u.fileBytes !== undefined)
      throw new RevertIncomplete(`disk.fill on ${h.containerName} not reverted: ${h.dir}/${h.file} is still there`);
    return { changed: removed };
  },
};
