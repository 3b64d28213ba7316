// process.kill: a signal (default SIGKILL) to the processes inside a container chosen by name or pattern
// (./process-common.ts), sent from inside its PID namespace and only to the processes chosen at prepare. The
// effect is checked from inside: after SIGKILL every chosen process is gone. Nothing is brought back at the
// revert (a supervisor inside the container may restart its workers; that is what the experiment observes),
// except that a container whose PID 1 was killed (includePid1: true) is started again, as container.kill
// does. Stopping signals are refused at validation: process.stop stops and continues.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import { isStoppingSignal } from './container-kill.ts';
import { expectRestored, restoreState } from './container-common.ts';
import {
  chooserText,
  oneChooser,
  oneChooserIssue,
  prepareProcesses,
  processFields,
  signalChosen,
  waitFor,
  type ProcessHandle,
} from './process-common.ts';
import { FaultNotInEffect, FaultTargetGone } from '../errors.ts';

const SIGNALS = new Set(
  'HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS'.split(
    ' ',
  ),
);
const bare = (s: string) => s.toUpperCase().replace(/^SIG/, '');

const spec = z
  .strictObject({
    kind: z.literal('process.kill'),
    ...faultBase,
    ...processFields,
    signal: z
      .string()
      .regex(/^(SIG)?[A-Z0-9]+$/, { message: 'must be a signal name such as SIGKILL or SIGTERM' })
      .refine((s) => !isStoppingSignal(s), {
        message:
          'a stopping signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) would leave the processes stopped with nothing to continue them; use kind process.stop, which continues them at the revert',
      })
      .refine(
        (s) => isStoppingSignal(s) || (/^\d+$/.test(s) ? Number(s) >= 1 && Number(s) <= 31 : SIGNALS.has(bare(s))),
        {
          message: 'unknown signal: use a Linux signal name such as SIGKILL, SIGTERM or SIGHUP, or a number 1..31',
        },
      )
      .default('SIGKILL'),
  })
  .refine(oneChooser, oneChooserIssue);
export type ProcessKillSpec = z.infer<typeof spec>;

export const processKill: FaultKind<typeof spec, ProcessHandle> = {
  name: 'process.kill',
  spec,
  needsContainer: true,
  describe: (s, t) =>
    `${s.signal} to processes ${chooserText(s)} in ${t.container?.name}, for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => prepareProcesses(ports, s.kind, s, t),
  inject: async (ports, s, h) => {
    // A retried inject signals only the chosen processes still there: those killed already are not.
    const sent = await signalChosen(ports, s.kind, h, bare(s.signal));
    if (sent === null && !h.procs.some((p) => p.pid === 1))
      throw new FaultTargetGone(`process.kill: ${h.containerName} is not running`);
    if (bare(s.signal) !== 'KILL' && s.signal !== '9') return; // may be handled (a reload on SIGHUP): delivered
    const r = await waitFor(ports, s.kind, h, (now) => !now || now.every((p) => p.state === 'Z'), 10_000);
    if (!r.ok)
      throw new FaultNotInEffect(
        `process.kill on ${h.containerName} has no effect: ${r.now?.map((p) => `${p.pid} ${p.name}`).join(', ')} still running after SIGKILL`,
      );
  },
  revert: async (ports, h) => {
    if (!h.procs.some((p) => p.pid === 1)) return { changed: false };
    const changed = await restoreState(ports, h);
    await expectRestored(ports, h, 'kill');
    return { changed };
  },
};
