// network.split: a partition between two groups of containers, `from` and `to` (each chosen by selectors of
// its own, as targets are), both ways or one way, every other path untouched: a member of one group and a
// member of the other cannot talk, while either still reaches every container outside the two groups (and
// its own group). The classic case: a replicated service's majority cut off from its minority.
//
// Like network.loss, the rules live in the members' own network namespaces, in chains of the fault's own
// (FL-<run>-<fault>-I and -O, one hook each at the head of INPUT / OUTPUT), put there by the target host's
// agent and leased to its warden; planning makes one fault record per member of either group, so each
// side carries its own rules (a packet is dropped at both ends) and both sides count in the blast radius.
//   both:    each member drops every packet to and from the other group's addresses.
//   one-way: `from` cannot reach `to`: the packets of connections a `from` member opens to a `to` member are
//            dropped (conntrack's original direction, on from's OUTPUT and on to's INPUT), while a `to` member
//            still opens connections to `from` and gets its answers.
// The revert deletes exactly the fault's chains and checks the namespace's rule set against the one
// recorded at prepare; a member restarted meanwhile has a new namespace: the revert says the fault went
// with the old one and applies nothing to the new one. Both groups must live on one host (a Docker bridge
// network is one host's): a member reads the other group's addresses on its own host. IPv4 only.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import type { OwnedChains } from './kernel-ports.ts';
import { gone, kernelOf, prepareNetns, revertOwnedChains, type NetnsFaultHandle } from './netns-common.ts';
import { chainBase, disjointCidrs, faultNonce, ruleComment } from './netfilter.ts';
import { expectChains } from './network-loss.ts';
import { describeGroup, groupMembers, groupSelector, staticOverlap, type GroupSelector } from './groups.ts';
import { FaultTargetGone } from '../errors.ts';

const spec = z
  .strictObject({
    kind: z.literal('network.split'),
    ...faultBase,
    from: groupSelector.describe('One side of the partition (with one-way: the side that cannot reach the other).'),
    to: groupSelector.describe('The other side (with one-way: the side that cannot be reached from `from`).'),
    direction: z
      .enum(['both', 'one-way'])
      .default('both')
      .describe(
        'both: neither group reaches the other; one-way: from cannot reach to (the connections a from member opens to a to member fail), while to still reaches from.',
      ),
  })
  .superRefine((s, ctx) => {
    for (const o of staticOverlap(s.from, s.to, 'from'))
      ctx.addIssue({ code: 'custom', path: ['to', ...o.path], message: o.message });
  });
export type NetworkSplitSpec = z.infer<typeof spec>;

export type SplitSide = 'from' | 'to';

export interface SplitHandle extends NetnsFaultHandle {
  owned: OwnedChains;
  /** The group this member is in. */
  side: SplitSide;
  /** The other group's members on this host when the fault was prepared, and their addresses. */
  peers: string[];
  addresses: string[];
}

/** The chains, hooks and rules of one member (pure: the unit tests check them without a kernel). */
export function splitChains(
  side: SplitSide,
  direction: NetworkSplitSpec['direction'],
  addresses: readonly string[],
  base: string,
  comment: string,
): OwnedChains {
  const owned: OwnedChains = { table: 'filter', chains: [], hooks: [], rules: [] };
  const tag = ['-m', 'comment', '--comment', comment];
  // one-way: only what a from member sends in connections it opened: on from's way out, on to's way in.
  const hooks: ('I' | 'O')[] = direction === 'both' ? ['I', 'O'] : [side === 'from' ? 'O' : 'I'];
  const oneWay = direction === 'one-way' ? ['-m', 'conntrack', '--ctdir', 'ORIGINAL'] : [];
  for (const d of hooks) {
    const ingress = d === 'I';
    const chain = `${base}-${d}`;
    owned.chains.push(chain);
    owned.hooks.push([ingress ? 'INPUT' : 'OUTPUT', '!', ingress ? '-i' : '-o', 'lo', ...tag, '-j', chain]);
    for (const net of disjointCidrs(addresses))
      owned.rules.push([chain, ingress ? '-s' : '-d', net, ...oneWay, ...tag, '-j', 'DROP']);
  }
  return owned;
}

const how = (s: NetworkSplitSpec) => (s.direction === 'both' ? 'both ways' : 'one way: from cannot reach to');

export const networkSplit: FaultKind<typeof spec, SplitHandle> = {
  name: 'network.split',
  spec,
  needsContainer: true,
  groups: (s) => [
    { field: 'from', selector: s.from },
    { field: 'to', selector: s.to },
  ],
  describe: (s, t) =>
    `partition ${describeGroup(s.from)} from ${describeGroup(s.to)} (${how(s)}) at ${t.container?.name} for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => {
    const { base } = await prepareNetns(ports, s.kind, t);
    const here = await ports.containers.list();
    const inGroup = (sel: GroupSelector) => groupMembers(here, sel).some((c) => c.id === base.containerId);
    const side: SplitSide | undefined = inGroup(s.from) ? 'from' : inGroup(s.to) ? 'to' : undefined;
    if (!side)
      throw new FaultTargetGone(
        `network.split: ${base.containerName} is no longer in group from or to; nothing injected`,
      );
    const other: SplitSide = side === 'from' ? 'to' : 'from';
    const peers = groupMembers(here, s[other]).filter((c) => c.id !== base.containerId);
    if (!peers.length)
      throw new FaultTargetGone(
        `network.split: group ${other} (${describeGroup(s[other])}) matches no running container on ${base.containerName}'s host; nothing injected`,
      );
    const addresses: string[] = [];
    for (const p of peers) {
      const a = await kernelOf(ports, s.kind).addresses(p.id);
      if (!a?.length)
        throw new FaultTargetGone(`network.split: ${p.name} (group ${other}) has no IPv4 address on any network`);
      addresses.push(...a);
    }
    const nonce = faultNonce();
    const owned = splitChains(side, s.direction, addresses, chainBase(t.run, nonce), ruleComment(s.kind, t.run, nonce));
    return { ...base, owned, side, peers: peers.map((p) => p.name), addresses: disjointCidrs(addresses) };
  },
  inject: async (ports, _s, h) => {
    const r = await kernelOf(ports, 'network.split').addChains(h.containerId, h.netns, h.owned);
    if (r.state !== 'ok') throw new FaultTargetGone(`${gone('network.split', h, r)}: nothing injected`);
    expectChains('network.split', h, r.snapshot);
  },
  revert: (ports, h) => revertOwnedChains(ports, 'network.split', h),
};
