// Whether a fault that acts inside a container's namespaces is still in effect, for the orphan sweep: read
// from the kernel (through the host's kernel port), never assumed from the ledger. By what the lease's
// handle holds: chains of the fault's own (network.loss, network.split, dns.*) and dns.*'s resolver, a tbf under Faultline's qdisc
// handle (network.bandwidth), a stressor (stress.*), a fill file (disk.fill), stopped processes
// (process.stop). A namespace that is not the one the fault was put in (the container restarted, stopped or
// went) holds nothing of it. undefined: the handle is none of these (the caller judges it the old way).
import type { KernelPort, NetnsSnapshot, OwnedChains, OwnedQdisc, ProcessRef } from '../faults/kernel-ports.ts';
import { chainsPresent } from '../faults/netfilter.ts';

interface KernelHandle {
  containerId?: string;
  netns?: string;
  owned?: OwnedChains;
  qdiscs?: OwnedQdisc[];
  stressor?: string;
  resolver?: string;
  dir?: string;
  file?: string;
  procs?: ProcessRef[];
}

/** The tbf Faultline put at an interface's root, if it is still there. */
const ourRoot = (s: NetnsSnapshot, q: OwnedQdisc): boolean =>
  s.qdiscs.some((l) => new RegExp(`^qdisc \\S+ ${q.handle} dev ${q.dev} root\\b`).test(l));

export async function kernelApplied(
  kernel: KernelPort | undefined,
  kind: string,
  handle: Record<string, unknown>,
): Promise<boolean | undefined> {
  const h = handle as KernelHandle;
  if (!h.containerId) return undefined;
  const stops = kind === 'process.stop' && Array.isArray(h.procs);
  const known = !!(h.owned ?? h.qdiscs ?? h.stressor ?? h.resolver ?? (h.dir && h.file)) || stops;
  if (!known) return undefined;
  if (!kernel) return undefined; // no way to look: judged as before (the revert says what it finds)
  if (h.stressor && (await kernel.stressorRunning(h.stressor))) return true;
  // dns.*: its resolver answering is the fault still in effect, even with its redirect gone.
  if (h.resolver && (await kernel.resolverRunning(h.resolver))) return true;
  if (h.netns && (h.owned || h.qdiscs)) {
    const r = await kernel.netns(h.containerId, h.netns);
    if (r.state === 'ok') {
      if (h.owned && chainsPresent(r.snapshot, h.owned).chains.length) return true;
      if (h.qdiscs?.some((q) => ourRoot(r.snapshot, q))) return true;
    }
  }
  if (h.dir && h.file) {
    const u = await kernel.dirUsage(h.containerId, h.dir, h.file);
    if (u?.fileBytes !== undefined) return true;
  }
  if (stops) {
    const ps = await kernel.nsProcesses(h.containerId);
    const refs = h.procs ?? [];
    if (
      ps?.some((p) => (p.state === 'T' || p.state === 't') && refs.some((r) => r.pid === p.pid && r.start === p.start))
    )
      return true;
  }
  return false;
}
