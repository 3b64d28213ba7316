// container.kill: send a signal to the container; revert starts it again if it is not running.
// Stopping signals (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) are refused by validation: they freeze the main
// process while Docker still reports the container running, so neither the effect nor the revert could
// be observed. container.pause freezes a container in a way Docker sees and undoes.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { formatMs, durationMs } from './duration.ts';
import { containerKind, processEnded, upAsBefore } from './container-common.ts';

/** Linux signal names (without SIG) that Docker's kill accepts; numbers 1..64 are accepted too. */
const SIGNALS = new Set(
  'HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS'.split(
    ' ',
  ),
);
/** Job-control stops, by name and by their Linux numbers (x86 and arm: 19 STOP, 20 TSTP, 21 TTIN, 22 TTOU). */
const STOPPING = new Set(['STOP', 'TSTP', 'TTIN', 'TTOU', '19', '20', '21', '22']);
const bare = (s: string) => s.replace(/^SIG/, '');
const isKill = (s: string) => bare(s) === 'KILL' || s === '9';

export function isStoppingSignal(signal: string): boolean {
  return STOPPING.has(bare(signal.toUpperCase()));
}

const spec = z.strictObject({
  kind: z.literal('container.kill'),
  ...faultBase,
  signal: z
    .string()
    .regex(/^(SIG)?[A-Z0-9]+$/, { message: 'must be a signal name such as SIGKILL or SIGTERM' })
    .refine((s) => !isStoppingSignal(s), {
      message:
        'a stopping signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) leaves the container "running" to Docker, so it cannot be observed or reverted; use kind container.pause to freeze a container',
    })
    .refine(
      (s) =>
        /^\d+$/.test(s) ? Number(s) >= 1 && Number(s) <= 64 : SIGNALS.has(bare(s)) || /^RTM(IN|AX)/.test(bare(s)),
      {
        message:
          'unknown signal: use a Linux signal name such as SIGKILL, SIGTERM or SIGHUP, or a number 1..64 (signal 0 sends nothing: the fault would do nothing)',
      },
    )
    .default('SIGKILL'),
});
export type ContainerKillSpec = z.infer<typeof spec>;

export const containerKill = containerKind({
  name: 'container.kill',
  spec,
  verb: 'kill',
  describe: (s, t) => `kill ${t.container?.name} with ${s.signal}, down for ${formatMs(durationMs(s.duration))}`,
  due: upAsBefore,
  act: (ports, s, h) => ports.containers.kill(h.containerId, s.signal),
  // SIGKILL cannot be caught: the process must be gone. Other signals may be handled by the process
  // (a reload on SIGHUP); their effect is the delivery Docker confirmed.
  effect: (s, h) => (isKill(s.signal) ? { holds: processEnded(h), wanted: 'exited', waitMs: 10_000 } : undefined),
});
