// Shared by process.kill and process.stop: processes inside a container chosen by `name` (the kernel's name of
// the process or its program's file name) or by `pattern` (a regular expression on its command line), read
// from inside the container's own PID namespace (a helper of the tools image joins it: the target needs no
// shell or tools of its own). Chosen at prepare and recorded with their start times, so a signal is sent only
// to those very processes (a PID reused since is never touched). PID 1 is the container's main process:
// killing or stopping it takes down or freezes the whole container, so a choice that includes it is refused at
// prepare (nothing injected) unless `includePid1: true` says so.
import { z } from 'zod';
import type { FaultTarget } from './types.ts';
import type { Ports } from './ports.ts';
import type { KernelPort, NsProcess, ProcessRef } from './kernel-ports.ts';
import { containerOf, type ContainerHandle } from './container-common.ts';
import { FaultTargetGone, InvalidInput } from '../errors.ts';

export interface ProcessHandle extends ContainerHandle {
  /** The processes chosen at prepare: PID in the container, start time, command line. */
  procs: (ProcessRef & { command: string })[];
}

const validRegex = (p: string) => {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
};

export const processFields = {
  name: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\0]+$/, { message: "must be a process name without '/' (use pattern for a path)" })
    .optional()
    .describe("The process's name (as ps shows it, or its program's file name), e.g. nginx."),
  pattern: z
    .string()
    .min(1)
    .max(1000)
    .refine(validRegex, { message: 'must be a valid regular expression' })
    .optional()
    .describe('A regular expression matched against the whole command line, e.g. "worker --queue=mail".'),
  includePid1: z
    .boolean()
    .default(false)
    .describe("Allow the choice to include PID 1, the container's main process (it takes the container down)."),
};

/** `name` or `pattern`, exactly one of them. */
export const oneChooser = (s: { name?: string | undefined; pattern?: string | undefined }) =>
  (s.name === undefined) !== (s.pattern === undefined);
export const oneChooserIssue = {
  message: 'give exactly one of name (a process name) or pattern (a regular expression on the command line)',
  path: ['name'],
};

export interface ProcessChoice {
  name?: string | undefined;
  pattern?: string | undefined;
  includePid1: boolean;
}

const base = (p: string) => p.split('/').pop() ?? p;

/** Whether the process is chosen: its kernel name or program file name is `name`, or `pattern` matches its command line. */
export function chosen(p: NsProcess, c: ProcessChoice): boolean {
  if (c.name !== undefined) return p.name === c.name || base(p.command.split(' ')[0] ?? '') === c.name;
  return c.pattern !== undefined && new RegExp(c.pattern).test(p.command || p.name);
}

export const chooserText = (c: ProcessChoice) => (c.name !== undefined ? `named ${c.name}` : `matching /${c.pattern}/`);

export function kernelOf(ports: Ports, kind: string): KernelPort {
  if (!ports.kernel)
    throw new InvalidInput(
      `${kind} acts inside the container's PID namespace: it runs on the host's agent, whose ports have none here`,
    );
  return ports.kernel;
}

/** The container and the processes chosen in it; refused (nothing injected) when none, or PID 1 without consent. */
export async function prepareProcesses(
  ports: Ports,
  kind: string,
  c: ProcessChoice,
  t: FaultTarget,
): Promise<ProcessHandle> {
  const h = await containerOf(ports, t);
  const all = await kernelOf(ports, kind).nsProcesses(h.containerId);
  if (!all) throw new FaultTargetGone(`${kind}: ${h.containerName} is not running`);
  const mine = all.filter((p) => p.state !== 'Z' && chosen(p, c));
  const field = c.name !== undefined ? 'name' : 'pattern';
  if (!mine.length)
    throw new InvalidInput(
      `${field}: no process ${chooserText(c)} in ${h.containerName} (it runs: ${all
        .slice(0, 8)
        .map((p) => `${p.pid} ${p.name}`)
        .join(', ')}); nothing injected`,
    );
  const one = mine.find((p) => p.pid === 1);
  if (one && !c.includePid1)
    throw new InvalidInput(
      `${field}: ${chooserText(c)} includes PID 1 of ${h.containerName} (${one.command || one.name}), its main process: signalling it takes the whole container with it; choose its workers only, or say includePid1: true; nothing injected`,
    );
  return { ...h, procs: mine.map((p) => ({ pid: p.pid, start: p.start, command: p.command || p.name })) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The chosen processes as they are now (same PID and start time), or null when the container is not running. */
export async function stillThere(ports: Ports, kind: string, h: ProcessHandle): Promise<NsProcess[] | null> {
  const now = await kernelOf(ports, kind).nsProcesses(h.containerId);
  return now && now.filter((p) => h.procs.some((r) => r.pid === p.pid && r.start === p.start));
}

/** Polls `ok` on the chosen processes as they are now until it holds or `ms` passes; the last reading. */
export async function waitFor(
  ports: Ports,
  kind: string,
  h: ProcessHandle,
  ok: (now: NsProcess[] | null) => boolean,
  ms: number,
): Promise<{ ok: boolean; now: NsProcess[] | null }> {
  for (const until = Date.now() + ms; ; await sleep(100)) {
    const now = await stillThere(ports, kind, h);
    if (ok(now)) return { ok: true, now };
    if (Date.now() >= until) return { ok: false, now };
  }
}

/**
 * Sends `signal` (a name without SIG) to those of `procs` that are still the ones chosen: the workers from
 * inside the PID namespace; PID 1 through the daemon, from outside it (the kernel drops SIGKILL and SIGSTOP
 * sent to a namespace's init from inside it). The PIDs signalled; null when the container is not running.
 */
export async function signalChosen(
  ports: Ports,
  kind: string,
  h: ProcessHandle,
  signal: string,
  procs: ProcessRef[] = h.procs,
): Promise<number[] | null> {
  const workers = procs.filter((p) => p.pid !== 1).map(({ pid, start }) => ({ pid, start }));
  const init = procs.find((p) => p.pid === 1);
  const sent = workers.length ? await kernelOf(ports, kind).signalProcesses(h.containerId, signal, workers) : [];
  if (!init) return sent;
  const now = await kernelOf(ports, kind).nsProcesses(h.containerId);
  if (!now?.some((p) => p.pid === 1 && p.start === init.start)) return sent ?? (now ? [] : null);
  await ports.containers.kill(h.containerId, /^\d+$/.test(signal) ? signal : `SIG${signal}`);
  return [...(sent ?? []), 1];
}
