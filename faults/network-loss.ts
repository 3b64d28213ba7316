// network.loss: drop a share of a container's packets, chosen at random per packet (iptables `statistic`,
// mode random), inside the container's own network namespace: what it receives (ingress), what it sends
// (egress) or both, optionally only to and from named peers (IPv4 networks, containers) and ports.
// The rules live in chains of the fault's own (FL-<run>-<fault>-I and -O) with one hook each at the head of
// INPUT / OUTPUT; the revert deletes exactly those and checks that the namespace's rule set is the one
// recorded at prepare. A target that restarted meanwhile has a new namespace: the fault went with the old
// one, the revert says so and touches nothing in the new one. Loopback traffic inside the container is
// never dropped. IPv4 only (iptables; Docker's default networks).
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultKind } from './types.ts';
import type { Ports } from './ports.ts';
import type { NetnsSnapshot, OwnedChains } from './kernel-ports.ts';
import { gone, kernelOf, prepareNetns, revertOwnedChains, type NetnsFaultHandle } from './netns-common.ts';
import {
  chainBase,
  chainRules,
  chainsPresent,
  disjointCidrs,
  faultNonce,
  parseCidr,
  ruleComment,
} from './netfilter.ts';
import { FaultNotInEffect, FaultTargetGone } from '../errors.ts';

/** A share as a person writes it: "30%" or 0.3; more than 0, at most 100 %. */
export const shareField = z
  .custom<number | string>((v) => typeof v === 'number' || typeof v === 'string', {
    error: (iss) =>
      iss.input === undefined
        ? 'required field "share" is missing (a share such as 30% or 0.3)'
        : 'must be a share such as 30% or 0.3',
  })
  .transform((v, ctx) => {
    const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v) : null;
    const share = typeof v === 'number' ? v : m ? Number(m[1]) / 100 : NaN;
    if (Number.isNaN(share)) {
      ctx.addIssue({ code: 'custom', message: 'must be a share such as 30% or 0.3' });
      return z.NEVER;
    }
    if (share > 1) {
      ctx.addIssue({ code: 'custom', message: 'must be at most 100% (1): a share over 100% drops nothing more' });
      return z.NEVER;
    }
    if (!(share >= 0.0001)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be at least 0.01%: a share of 0 drops nothing (the fault would do nothing)',
      });
      return z.NEVER;
    }
    return share;
  })
  // For editors: what the JSON Schema says (zod cannot describe the check above).
  .meta({
    anyOf: [
      { type: 'number', minimum: 0.0001, maximum: 1 },
      { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*%\\s*$' },
    ],
  })
  .describe('Share of packets dropped, each independently at random: "30%" or 0.3 (0.01% to 100%).');

const cidr = z
  .string()
  .refine((s) => !!parseCidr(s), { message: 'must be an IPv4 address or network such as 172.18.0.5 or 10.0.0.0/8' });
const peerName = z.string().min(1, { message: 'a container name must not be empty' }).max(256);
const port = z.number().int().min(1, { message: 'must be a port from 1 to 65535' }).max(65535, {
  message: 'must be a port from 1 to 65535',
});

export const peersField = z
  .strictObject({
    cidrs: z.array(cidr).min(1).max(16).optional().describe('IPv4 addresses or networks of the peers.'),
    containers: z
      .array(peerName)
      .min(1)
      .max(16)
      .optional()
      .describe(
        "Peer containers by name or id on the target's host; their addresses are read when the fault is prepared.",
      ),
    ports: z
      .array(port)
      .min(1)
      .max(15)
      .optional()
      .describe(
        "TCP/UDP ports: only packets with one of these ports at either end (a peer's service port, or the container's own; at most 15).",
      ),
  })
  .refine((p) => !!(p.cidrs ?? p.containers ?? p.ports), {
    message: 'give cidrs, containers or ports (or leave peers out for all traffic)',
  })
  .describe('Only traffic with these peers is hit (every given condition must hold); without peers, all traffic.');

export const directionField = z
  .enum(['ingress', 'egress', 'both'])
  .default('both')
  .describe('ingress: packets the container receives; egress: packets it sends; both.');

const spec = z.strictObject({
  kind: z.literal('network.loss'),
  ...faultBase,
  share: shareField,
  direction: directionField,
  peers: peersField.optional(),
});
export type NetworkLossSpec = z.infer<typeof spec>;

export interface LossHandle extends NetnsFaultHandle {
  owned: OwnedChains;
}

/** The chains, hooks and rules of a loss fault (pure: the unit tests check them without a kernel). */
export function lossChains(
  s: Pick<NetworkLossSpec, 'share' | 'direction'>,
  addresses: readonly string[] | undefined,
  ports: readonly number[] | undefined,
  base: string,
  comment: string,
): OwnedChains {
  const dirs = s.direction === 'both' ? (['ingress', 'egress'] as const) : [s.direction];
  const owned: OwnedChains = { table: 'filter', chains: [], hooks: [], rules: [] };
  const nets = addresses ? disjointCidrs(addresses) : [undefined];
  const protos = ports?.length ? (['tcp', 'udp'] as const) : [undefined];
  const tag = ['-m', 'comment', '--comment', comment];
  for (const d of dirs) {
    const ingress = d === 'ingress';
    const chain = `${base}-${ingress ? 'I' : 'O'}`;
    owned.chains.push(chain);
    owned.hooks.push([ingress ? 'INPUT' : 'OUTPUT', '!', ingress ? '-i' : '-o', 'lo', ...tag, '-j', chain]);
    for (const net of nets)
      for (const proto of protos)
        owned.rules.push([
          chain,
          ...(net ? [ingress ? '-s' : '-d', net] : []),
          ...(proto ? ['-p', proto, '-m', 'multiport', '--ports', (ports ?? []).join(',')] : []),
          ...['-m', 'statistic', '--mode', 'random', '--probability', s.share.toFixed(6)],
          ...tag,
          '-j',
          'DROP',
        ]);
  }
  return owned;
}

/** After an inject: every chain, hook and rule of the fault is in the namespace, or the inject fails. */
export function expectChains(kind: string, h: NetnsFaultHandle & { owned: OwnedChains }, s: NetnsSnapshot): void {
  const { chains, hooks } = chainsPresent(s, h.owned);
  const rules = h.owned.chains.reduce((n, c) => n + chainRules(s, h.owned.table, c).length, 0);
  if (chains.length === h.owned.chains.length && hooks === h.owned.hooks.length && rules === h.owned.rules.length)
    return;
  throw new FaultNotInEffect(
    `${kind} on ${h.containerName} has no effect: its namespace shows ${chains.length} of ${h.owned.chains.length} chains, ${hooks} of ${h.owned.hooks.length} hooks and ${rules} of ${h.owned.rules.length} rules`,
  );
}

const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;

function peersText(p: NetworkLossSpec['peers']): string {
  if (!p) return '';
  const parts = [
    ...(p.cidrs ?? []),
    ...(p.containers ?? []),
    ...(p.ports?.length ? [`port ${p.ports.join(',')}`] : []),
  ];
  return ` with ${parts.join(', ')}`;
}

/** Every peer's addresses: the networks given and the named containers' addresses (undefined: any peer). */
async function peerAddresses(ports: Ports, kind: string, p: NetworkLossSpec['peers']): Promise<string[] | undefined> {
  if (!p?.cidrs && !p?.containers) return undefined;
  const out = [...(p.cidrs ?? [])];
  for (const name of p.containers ?? []) {
    const a = await kernelOf(ports, kind).addresses(name);
    if (!a) throw new FaultTargetGone(`${kind}: peer container ${name} does not exist on this host`);
    if (!a.length) throw new FaultTargetGone(`${kind}: peer container ${name} has no IPv4 address on any network`);
    out.push(...a);
  }
  return out;
}

export const networkLoss: FaultKind<typeof spec, LossHandle> = {
  name: 'network.loss',
  spec,
  needsContainer: true,
  describe: (s, t) =>
    `drop ${pct(s.share)} of ${t.container?.name}'s packets (${s.direction}${peersText(s.peers)}) for ${formatMs(durationMs(s.duration))}`,
  prepare: async (ports, s, t) => {
    const { base } = await prepareNetns(ports, s.kind, t);
    const nonce = faultNonce();
    const addresses = await peerAddresses(ports, s.kind, s.peers);
    const owned = lossChains(s, addresses, s.peers?.ports, chainBase(t.run, nonce), ruleComment(s.kind, t.run, nonce));
    return { ...base, owned };
  },
  inject: async (ports, _s, h) => {
    const r = await kernelOf(ports, 'network.loss').addChains(h.containerId, h.netns, h.owned);
    if (r.state !== 'ok') throw new FaultTargetGone(`${gone('network.loss', h, r)}: nothing injected`);
    expectChains('network.loss', h, r.snapshot);
  },
  revert: (ports, h) => revertOwnedChains(ports, 'network.loss', h),
};
