// network.bandwidth: limit what a container sends to a rate, with a token bucket (tc tbf) at the root of
// its interfaces inside its own network namespace, under Faultline's reserved qdisc handle (fa17:). Only
// an interface whose root is the kernel's default (noqueue, pfifo_fast, fq_codel, mq with handle 0:) is
// ever limited: a root qdisc someone else put there is never replaced (the fault is refused at prepare,
// nothing injected), and the revert deletes only a root that carries Faultline's handle, then checks that
// the root is the one recorded at prepare. A target restarted meanwhile: the fault went with its old
// namespace; the revert says so and applies nothing to the new one. Egress only (what the container
// sends; limit the other direction on the peer).
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import type { NetnsSnapshot, OwnedQdisc } from './kernel-ports.ts';
import { gone, goneSincePrepare, kernelOf, prepareNetns, type NetnsFaultHandle } from './netns-common.ts';
import { FaultNotInEffect, FaultTargetGone, RevertIncomplete } from '../errors.ts';

/** The major qdisc handle Faultline owns: a root qdisc with it is Faultline's, every other one is not. */
export const QDISC_HANDLE = 'fa17:';
const MIN_RATE_BITS = 8_000;
const MAX_RATE_BITS = 100_000_000_000;
const UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

/** "512kbit", "10mbit", "1gbit" (bits per second, SI) -> bits per second; undefined when not a rate. */
export function rateBits(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)\s*$/i.exec(text);
  return m ? Math.round(Number(m[1]) * (UNITS[(m[2] as string).toLowerCase()] as number)) : undefined;
}

export const rateField = z
  .string()
  .superRefine((text, ctx) => {
    const bits = rateBits(text);
    if (bits === undefined)
      ctx.addIssue({ code: 'custom', message: 'must be a rate such as 512kbit, 10mbit or 1gbit (bits per second)' });
    else if (bits < MIN_RATE_BITS)
      ctx.addIssue({ code: 'custom', message: 'must be at least 8kbit (1 KB/s): below it nothing passes at all' });
    else if (bits > MAX_RATE_BITS) ctx.addIssue({ code: 'custom', message: 'must be at most 100gbit' });
  })
  .describe('What the container may send, in bits per second: 512kbit, 10mbit, 1gbit (8kbit to 100gbit).');

const spec = z.strictObject({
  kind: z.literal('network.bandwidth'),
  ...faultBase,
  rate: rateField,
  network: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe('Only the interface on this Docker network; without it, every interface of the container but lo.'),
});
export type NetworkBandwidthSpec = z.infer<typeof spec>;

export interface BandwidthHandle extends NetnsFaultHandle {
  /** One tbf per interface, under Faultline's handle. */
  qdiscs: OwnedQdisc[];
  /** Each interface's root qdisc at prepare ("noqueue 0:"): what the revert must leave. */
  rootsBefore: Record<string, string>;
  rateBits: number;
}

/** The root qdisc of an interface as "<kind> <handle>", or undefined. */
export function rootOf(s: NetnsSnapshot, dev: string): string | undefined {
  for (const l of s.qdiscs) {
    const m = /^qdisc (\S+) (\S+) dev (\S+) root\b/.exec(l);
    if (m && m[3] === dev) return `${m[1]} ${m[2]}`;
  }
  return undefined;
}

/** What the kernel puts at an interface's root by itself: nobody's qdisc. */
const DEFAULT_ROOT = /^(noqueue|pfifo_fast|fq_codel|mq|pfifo|fq) 0:$/;

/** tbf's arguments: the rate, a bucket of 10 ms at that rate (at least two full frames), 100 ms of queue. */
export function tbfArgs(bits: number): string[] {
  const burst = Math.max(Math.ceil(bits / 8 / 100), 3_028);
  return ['tbf', 'rate', `${bits}bit`, 'burst', `${burst}b`, 'latency', '100ms'];
}

const rateText = (bits: number) =>
  bits >= 1e9
    ? `${+(bits / 1e9).toFixed(3)}gbit`
    : bits >= 1e6
      ? `${+(bits / 1e6).toFixed(3)}mbit`
      : `${+(bits / 1e3).toFixed(3)}kbit`;

export const networkBandwidth: FaultKind<typeof spec, BandwidthHandle> = {
  name: 'network.bandwidth',
  spec,
  needsContainer: true,
  describe: (s, t) =>
    `limit what ${t.container?.name} sends${s.network ? ` on ${s.network}` : ''} to ${s.rate} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => {
    const { base, snapshot } = await prepareNetns(ports, s.kind, t);
    let links = snapshot.links;
    if (s.network) {
      const mac = await kernelOf(ports, s.kind).macOn(base.containerId, s.network);
      links = links.filter((l) => l.mac === mac);
      if (!mac || !links.length)
        throw new FaultTargetGone(`network.bandwidth: ${base.containerName} has no interface on network ${s.network}`);
    }
    if (!links.length) throw new FaultTargetGone(`network.bandwidth: ${base.containerName} has no interface but lo`);
    const bits = rateBits(s.rate) as number;
    const rootsBefore: Record<string, string> = {};
    for (const l of links) {
      const root = rootOf(snapshot, l.name) ?? 'none';
      if (!DEFAULT_ROOT.test(root))
        throw new FaultTargetGone(
          `network.bandwidth: ${l.name} of ${base.containerName} has a root qdisc Faultline does not replace (${root}${root.endsWith(` ${QDISC_HANDLE}`) ? ': another Faultline bandwidth fault holds it' : ''}); nothing injected`,
        );
      rootsBefore[l.name] = root;
    }
    return {
      ...base,
      qdiscs: links.map((l) => ({ dev: l.name, handle: QDISC_HANDLE, args: tbfArgs(bits) })),
      rootsBefore,
      rateBits: bits,
    };
  },
  inject: async (ports, _s, h) => {
    const kernel = kernelOf(ports, 'network.bandwidth');
    let snapshot: NetnsSnapshot | undefined;
    for (const q of h.qdiscs) {
      const r = await kernel.addQdisc(h.containerId, h.netns, q);
      if (r.state !== 'ok') throw new FaultTargetGone(`${gone('network.bandwidth', h, r)}: nothing injected`);
      snapshot = r.snapshot;
    }
    const missing = h.qdiscs.filter((q) => snapshot && rootOf(snapshot, q.dev) !== `tbf ${q.handle}`);
    if (missing.length)
      throw new FaultNotInEffect(
        `network.bandwidth on ${h.containerName} has no effect: ${missing.map((q) => `${q.dev}'s root is ${snapshot ? (rootOf(snapshot, q.dev) ?? 'none') : 'unknown'}`).join(', ')}, expected tbf ${QDISC_HANDLE} at ${rateText(h.rateBits)}`,
      );
  },
  revert: async (ports, h) => {
    const note = await goneSincePrepare(ports, 'network.bandwidth', h);
    if (note) return { changed: false, note };
    const kernel = kernelOf(ports, 'network.bandwidth');
    let changed = false;
    let snapshot: NetnsSnapshot | undefined;
    for (const q of h.qdiscs) {
      const r = await kernel.removeQdisc(h.containerId, h.netns, q);
      if (r.state !== 'ok') return { changed: false, note: gone('network.bandwidth', h, r) };
      changed ||= !!r.changed;
      snapshot = r.snapshot;
    }
    const differs = Object.entries(h.rootsBefore).filter(([dev, root]) => snapshot && rootOf(snapshot, dev) !== root);
    if (differs.length)
      throw new RevertIncomplete(
        `network.bandwidth on ${h.containerName} not reverted: ${differs.map(([dev, root]) => `${dev}'s root qdisc is ${snapshot ? (rootOf(snapshot, dev) ?? 'none') : '?'}, it was ${root}`).join('; ')}`,
      );
    return { changed };
  },
};
