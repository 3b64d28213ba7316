// process.stop: SIGSTOP to the processes inside a container chosen by name or pattern (./process-common.ts),
// from inside its PID namespace, only to the processes chosen at prepare; reverted by SIGCONT to those very
// processes (as container.pause is by unpause). Both effects are checked from inside the container: every
// chosen process in state T after the inject, none of them after the revert. A container restarted meanwhile
// has new processes: the stopped ones went with it, the revert says so and signals nothing.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import {
  chooserText,
  oneChooser,
  oneChooserIssue,
  prepareProcesses,
  processFields,
  signalChosen,
  stillThere,
  waitFor,
  type ProcessHandle,
} from './process-common.ts';
import { FaultNotInEffect, FaultTargetGone, RevertIncomplete } from '../errors.ts';

const spec = z
  .strictObject({ kind: z.literal('process.stop'), ...faultBase, ...processFields })
  .refine(oneChooser, oneChooserIssue);
export type ProcessStopSpec = z.infer<typeof spec>;

const stopped = (state: string) => state === 'T' || state === 't';

export const processStop: FaultKind<typeof spec, ProcessHandle> = {
  name: 'process.stop',
  spec,
  needsContainer: true,
  describe: (s, t) =>
    `stop processes ${chooserText(s)} in ${t.container?.name} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => prepareProcesses(ports, s.kind, s, t),
  inject: async (ports, s, h) => {
    const sent = await signalChosen(ports, s.kind, h, 'STOP');
    if (sent === null) throw new FaultTargetGone(`process.stop: ${h.containerName} is not running`);
    const r = await waitFor(ports, s.kind, h, (now) => !!now?.length && now.every((p) => stopped(p.state)), 10_000);
    if (!r.ok)
      throw new FaultNotInEffect(
        `process.stop on ${h.containerName} has no effect: ${
          r.now?.length
            ? r.now.map((p) => `${p.pid} ${p.name} in state ${p.state}`).join(', ')
            : 'none of its processes is left'
        }`,
      );
  },
  revert: async (ports, h) => {
    const before = await stillThere(ports, 'process.stop', h);
    if (!before)
      return {
        changed: false,
        note: `process.stop on ${h.containerName}: the container is not running; its stopped processes went with it`,
      };
    const toContinue = before.filter((p) => stopped(p.state));
    if (!before.length)
      return {
        changed: false,
        note: `process.stop on ${h.containerName}: none of the stopped processes is left (the container restarted or they ended); nothing signalled`,
      };
    if (toContinue.length)
      await signalChosen(
        ports,
        'process.stop',
        h,
        'CONT',
        toContinue.map(({ pid, start }) => ({ pid, start })),
      );
    const r = await waitFor(ports, 'process.stop', h, (now) => !now || now.every((p) => !stopped(p.state)), 5_000);
    if (!r.ok)
      throw new RevertIncomplete(
        `process.stop on ${h.containerName} not reverted: ${r.now?.map((p) => `${p.pid} ${p.name}`).join(', ')} still stopped after SIGCONT`,
      );
    return { changed: toContinue.length > 0 };
  },
};
