// Shared by dns.error and dns.spoof: Faultline's resolver (worker/dns-resolver-main.ts, a container that
// shares the target's network namespace and runs as DNS_RESOLVER_UID) answers the names the fault names and
// forwards every other query to the nameserver it was sent to; the container's own DNS traffic to its
// nameservers (those of its /etc/resolv.conf at prepare: Docker's embedded 127.0.0.11 on a user-defined
// network) is redirected to it in the nat table, in a chain of the fault's own (FL-<run>-<fault>-D) with one
// hook at the head of OUTPUT that leaves the resolver's own traffic alone, so its forwarded queries take the
// container's original path (Docker's own nat rules for 127.0.0.11, untouched). The redirect stops matching
// by itself at the fault's deadline (iptables' time match) and the resolver ends then too, whatever else
// happens; the revert removes the resolver and exactly the fault's chain and hook, and checks the namespace's
// rules are those recorded at prepare. A container restarted meanwhile has a new namespace the fault never
// touched: the revert ends the resolver and says so. Queries already in flight over a UDP socket the
// container keeps open follow the path their first packet took (conntrack) until that entry expires.
import { z } from 'zod';
import { faultBase } from './common-schema.ts';
import { durationMs, formatMs } from './duration.ts';
import type { FaultTarget, RevertEffect } from './types.ts';
import type { Ports } from './ports.ts';
import type { OwnedChains } from './kernel-ports.ts';
import type { ResolverConfig } from './dns-answer.ts';
import {
  expectRulesBefore,
  gone,
  goneSincePrepare,
  kernelOf,
  prepareNetns,
  type NetnsFaultHandle,
} from './netns-common.ts';
import { chainBase, chainsPresent, faultNonce, parseCidr, ruleComment, shortHash } from './netfilter.ts';
import { expectChains } from './network-loss.ts';
import { namesField } from './dns-names.ts';
import { FaultNotInEffect, FaultTargetGone, InvalidInput, RevertIncomplete } from '../errors.ts';

/** The uid Faultline's resolver runs as: the redirect leaves its traffic alone (below 65536 for userns maps). */
export const DNS_RESOLVER_UID = 53530;
/** After this long past its fault's own end the redirect stops matching and the resolver ends by itself. */
export const DNS_SLACK_S = 120;
/** The resolver's listening ports are drawn from here (below Linux's ephemeral range), one per nameserver. */
const PORT_BASE = 20_000;
const PORT_SPAN = 9_000;

export { namesField };

export interface DnsHandle extends NetnsFaultHandle {
  owned: OwnedChains;
  /** The resolver's container: faultline-dns-<run>-<fault>. */
  resolver: string;
  config: ResolverConfig;
}

export const dnsBase = { ...faultBase, names: namesField };

/** The nat chain, hook and rules of a DNS fault (pure: the unit tests check them without a kernel). */
export function dnsChains(listen: ResolverConfig['listen'], until: number, base: string, comment: string): OwnedChains {
  const chain = `${base}-D`;
  const tag = ['-m', 'comment', '--comment', comment];
  const stop = new Date(Math.floor(until / 1000) * 1000).toISOString().slice(0, 19);
  return {
    table: 'nat',
    chains: [chain],
    hooks: [['OUTPUT', '-m', 'owner', '!', '--uid-owner', String(DNS_RESOLVER_UID), ...tag, '-j', chain]],
    rules: listen.flatMap((l) =>
      (['udp', 'tcp'] as const).map((p) => [
        chain,
        ...['-d', `${l.upstream}/32`, '-p', p, '-m', p, '--dport', '53'],
        ...['-m', 'time', '--datestop', stop],
        ...tag,
        ...['-j', 'REDIRECT', '--to-ports', String(l.port)],
      ]),
    ),
  };
}

export const namesText = (names: readonly string[]) =>
  names.length > 3 ? `${names.slice(0, 3).join(', ')} (+${names.length - 3} more)` : names.join(', ');

export const forText = (s: { duration: string }, t: FaultTarget) =>
  `in ${t.container?.name} for ${formatMs(durationMs(s.duration))}`;

export async function prepareDns(
  ports: Ports,
  kind: string,
  s: { duration: string; names: string[] },
  t: FaultTarget,
  answer: Pick<ResolverConfig, 'rcode' | 'address'>,
): Promise<DnsHandle> {
  const { base } = await prepareNetns(ports, kind, t);
  const k = kernelOf(ports, kind);
  const servers = await k.nameservers(base.containerId);
  if (!servers) throw new FaultTargetGone(`${kind}: ${base.containerName} is not running`);
  const v4 = [...new Set(servers.filter((a) => !a.includes('/') && !!parseCidr(a)))];
  if (!v4.length)
    throw new InvalidInput(
      `${kind}: ${base.containerName}'s /etc/resolv.conf names no IPv4 nameserver (${servers.join(', ') || 'none'}): there is no DNS traffic to redirect; nothing injected`,
    );
  const nonce = faultNonce();
  const first = PORT_BASE + Math.floor(Math.random() * PORT_SPAN);
  const listen = v4.map((upstream, i) => ({ port: first + i, upstream }));
  const until = Date.now() + durationMs(s.duration) + DNS_SLACK_S * 1000;
  return {
    ...base,
    owned: dnsChains(listen, until, chainBase(t.run, nonce), ruleComment(kind, t.run, nonce)),
    resolver: `faultline-dns-${shortHash(t.run ?? 'no-run')}-${nonce}`,
    // The resolver outlives the redirect by a few seconds: a redirect never points at nothing.
    config: { names: s.names, ...answer, listen, until: until + 5_000 },
  };
}

/** Starts the resolver (a retried inject finds it running), then puts the redirect in place and checks both. */
export async function injectDns(ports: Ports, kind: string, h: DnsHandle): Promise<void> {
  const k = kernelOf(ports, kind);
  const r = await k.startResolver(h.containerId, { name: h.resolver, config: h.config });
  if (!r.ready) {
    await k.stopResolver(h.resolver);
    throw new FaultNotInEffect(
      `${kind} on ${h.containerName} has no effect: its resolver did not start (${r.log.trim() || 'no output'}); nothing redirected`,
    );
  }
  const a = await k.addChains(h.containerId, h.netns, h.owned);
  if (a.state !== 'ok') {
    await k.stopResolver(h.resolver);
    throw new FaultTargetGone(`${gone(kind, h, a)}: nothing injected`);
  }
  expectChains(kind, h, a.snapshot);
}

/** Ends the resolver and removes the redirect (both idempotent); the rules left are those before the fault. */
export async function revertDns(ports: Ports, kind: string, h: DnsHandle): Promise<RevertEffect> {
  const k = kernelOf(ports, kind);
  const running = await k.resolverRunning(h.resolver);
  await k.stopResolver(h.resolver);
  const note = await goneSincePrepare(ports, kind, h);
  if (note) return { changed: running, note };
  const r = await k.removeChains(h.containerId, h.netns, h.owned);
  if (r.state !== 'ok') return { changed: running, note: gone(kind, h, r) };
  const left = chainsPresent(r.snapshot, h.owned);
  if (left.chains.length || left.hooks)
    throw new RevertIncomplete(
      `${kind} on ${h.containerName} not reverted: ${left.chains.length} chains and ${left.hooks} hooks of the fault are still there`,
    );
  expectRulesBefore(kind, h, r.snapshot);
  return { changed: running || (r.changed ?? true) };
}

/** dns.error's rcode: the two a resolver answers with when a name fails. */
export const rcodeField = z
  .enum(['NXDOMAIN', 'SERVFAIL'])
  .default('NXDOMAIN')
  .describe('NXDOMAIN: the name does not exist; SERVFAIL: the resolver could not answer.');
