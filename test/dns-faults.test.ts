// dns.error and dns.spoof against the real daemon and kernel, from inside the target (a container on a
// user-defined network, so its resolver is Docker's embedded DNS at 127.0.0.11, itself made of nat rules in
// the container's namespace): the names given answer as told, to the C library's getaddrinfo (dns.lookup) and
// to a direct query (c-ares, dns.Resolver), while other containers' names still resolve through Docker's
// resolver as before; after the revert every name resolves as before, the resolver is gone and the
// namespace's rules (nat table included) are those recorded at prepare.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsError, type DnsErrorSpec } from '../faults/dns-error.ts';
import { dnsSpoof, type DnsSpoofSpec } from '../faults/dns-spoof.ts';
import { dnsChains, type DnsHandle } from '../faults/dns-common.ts';
import { ruleset } from '../faults/netfilter.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { ensureDemoImage } from '../demo/image.ts';
import { uniqueId } from './helpers.ts';
import {
  createNetwork,
  docker,
  nodeIn,
  removeContainers,
  removeNetwork,
  startIdle,
  startTarget,
  type KernelTarget,
} from './support/kernel-targets.ts';

const id = uniqueId('fl-dns');
const net = `${id}-net`;
const ports: Ports = {
  containers: createDockerContainerPort(docker),
  kernel: createDockerKernelPort(docker, { nodeImage: ensureDemoImage }),
} as Ports;
const kernel = ports.kernel!;
let target: KernelTarget;
let peer: KernelTarget;
let other: KernelTarget;

beforeAll(async () => {
  await createNetwork(net);
  [target, peer, other] = await Promise.all([
    startTarget(`${id}-target`, net),
    startIdle(`${id}-peer`, net),
    startIdle(`${id}-other`, net),
  ]);
});
afterAll(async () => {
  await removeContainers(id);
  await removeNetwork(net);
});

/**
 * How `name` resolves inside the target: getaddrinfo (what applications use) and a direct A query to the
 * container's nameserver (c-ares), each as the address or the error code.
 */
async function resolveInTarget(name: string): Promise<{ lookup: string; query: string }> {
  const script = `
const dns = require('dns');
const name = process.argv[1];
const lookup = new Promise((r) => dns.lookup(name, { family: 4 }, (e, a) => r(e ? e.code : a)));
const query = new dns.promises.Resolver({ timeout: 3000, tries: 1 }).resolve4(name).then((a) => a.join(','), (e) => e.code);
Promise.all([lookup, query]).then(([lookup, query]) => console.log(JSON.stringify({ lookup, query })));
`;
  const out = await nodeIn(target.id, script, [name]);
  const m = /\{"lookup".*\}/.exec(out);
  if (!m) throw new Error(`resolving ${name} in the target: ${out}`);
  return JSON.parse(m[0]) as { lookup: string; query: string };
}

/** An A query for `name` over TCP to the container's nameserver (127.0.0.11), from inside the target: its rcode and answer count. */
async function tcpQueryInTarget(name: string): Promise<{ rcode: number; answers: number }> {
  const script = `
const net = require('net');
const name = process.argv[1];
const qname = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), qname, Buffer.from([0, 1, 0, 1])]);
const s = net.connect(53, '127.0.0.11', () => s.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])));
let b = Buffer.alloc(0);
s.on('data', (d) => {
  b = Buffer.concat([b, d]);
  if (b.length >= 2 && b.length >= 2 + b.readUInt16BE(0)) {
    console.log(JSON.stringify({ rcode: b[5] & 15, answers: b.readUInt16BE(8) }));
    s.end();
  }
});
s.on('error', (e) => console.log(JSON.stringify({ rcode: -1, answers: -1, error: e.code })));
`;
  const out = await nodeIn(target.id, script, [name]);
  const m = /\{"rcode".*\}/.exec(out);
  if (!m) throw new Error(`a TCP query of ${name} in the target: ${out}`);
  return JSON.parse(m[0]) as { rcode: number; answers: number };
}

async function rulesNow(): Promise<string[]> {
  const r = await kernel.netns(target.id);
  if (r.state !== 'ok') throw new Error(`no namespace: ${JSON.stringify(r)}`);
  return ruleset(r.snapshot.rules);
}

const resolvers = async (h: DnsHandle) =>
  docker.listContainers({ all: true, filters: { name: [h.resolver] } }).then((cs) => cs.length);

const dockerNat = (rules: string[]) => rules.filter((l) => /DOCKER_(OUTPUT|POSTROUTING)/.test(l));

describe('dns.error and dns.spoof', () => {
  it('dns.error NXDOMAIN: the name is not found, other names resolve through Docker as before; all as before after revert', async () => {
    const before = await rulesNow();
    expect(dockerNat(before).length).toBeGreaterThan(0); // Docker's embedded DNS, as nat rules of its own
    expect(await resolveInTarget(peer.name)).toEqual({ lookup: peer.ip, query: peer.ip });
    expect(await tcpQueryInTarget(peer.name)).toEqual({ rcode: 0, answers: 1 });
    const s: DnsErrorSpec = dnsError.spec.parse({ kind: 'dns.error', names: [peer.name], duration: '30s' });
    const h = await dnsError.prepare(ports, s, { container: { id: target.id, name: target.name }, run: 'dns-run' });
    expect(h.config.listen.map((l) => l.upstream)).toEqual(['127.0.0.11']);
    const t0 = Date.now();
    await dnsError.inject(ports, s, h);
    const injectMs = Date.now() - t0;
    await dnsError.inject(ports, s, h); // retried: one resolver, the chain replaced and never doubled
    try {
      const during = await rulesNow();
      expect(during.filter((l) => /^-A OUTPUT .*-j FL-/.test(l))).toHaveLength(1);
      expect(dockerNat(during)).toEqual(dockerNat(before)); // Docker's rules untouched
      expect(await resolveInTarget(peer.name)).toEqual({ lookup: 'ENOTFOUND', query: 'ENOTFOUND' });
      expect(await resolveInTarget(peer.name.toUpperCase())).toEqual({ lookup: 'ENOTFOUND', query: 'ENOTFOUND' });
      expect(await resolveInTarget(other.name)).toEqual({ lookup: other.ip, query: other.ip });
      // Over TCP too: the name given answered by the resolver, another forwarded to Docker's resolver over TCP.
      expect(await tcpQueryInTarget(peer.name)).toEqual({ rcode: 3, answers: 0 });
      expect(await tcpQueryInTarget(other.name)).toEqual({ rcode: 0, answers: 1 });
      expect(await resolvers(h)).toBe(1);
    } finally {
      const t1 = Date.now();
      expect(await dnsError.revert(ports, h)).toEqual({ changed: true });
      console.log(
        `dns.error: inject ${injectMs} ms (resolver started, redirect in place), revert ${Date.now() - t1} ms`,
      );
    }
    expect(await rulesNow()).toEqual(h.rulesBefore);
    expect(await resolvers(h)).toBe(0);
    expect(await resolveInTarget(peer.name)).toEqual({ lookup: peer.ip, query: peer.ip });
    expect(await resolveInTarget(other.name)).toEqual({ lookup: other.ip, query: other.ip });
    expect(await tcpQueryInTarget(peer.name)).toEqual({ rcode: 0, answers: 1 });
    expect(await dnsError.revert(ports, h)).toEqual({ changed: false }); // idempotent
  });

  it('dns.error SERVFAIL: the resolver fails for that name only', async () => {
    const s: DnsErrorSpec = dnsError.spec.parse({
      kind: 'dns.error',
      names: [other.name],
      rcode: 'SERVFAIL',
      duration: '30s',
    });
    const h = await dnsError.prepare(ports, s, { container: { id: target.id, name: target.name } });
    await dnsError.inject(ports, s, h);
    try {
      expect(await resolveInTarget(other.name)).toEqual({ lookup: 'EAI_AGAIN', query: 'ESERVFAIL' });
      expect(await resolveInTarget(peer.name)).toEqual({ lookup: peer.ip, query: peer.ip });
    } finally {
      await dnsError.revert(ports, h);
    }
    expect(await rulesNow()).toEqual(h.rulesBefore);
    expect(await resolveInTarget(other.name)).toEqual({ lookup: other.ip, query: other.ip });
  });

  it('dns.spoof: the names (one exact, one wildcard) answer with the address given, others as before; all as before after revert', async () => {
    const s: DnsSpoofSpec = dnsSpoof.spec.parse({
      kind: 'dns.spoof',
      names: [peer.name, '*.spoofed.test'],
      address: '10.9.8.7',
      duration: '30s',
    });
    const h = await dnsSpoof.prepare(ports, s, { container: { id: target.id, name: target.name } });
    const t0 = Date.now();
    await dnsSpoof.inject(ports, s, h);
    console.log(`dns.spoof: inject ${Date.now() - t0} ms (the node image already found by this port)`);
    try {
      expect(await resolveInTarget(peer.name)).toEqual({ lookup: '10.9.8.7', query: '10.9.8.7' });
      expect(await resolveInTarget('api.spoofed.test')).toEqual({ lookup: '10.9.8.7', query: '10.9.8.7' });
      expect(await resolveInTarget(other.name)).toEqual({ lookup: other.ip, query: other.ip });
    } finally {
      expect(await dnsSpoof.revert(ports, h)).toEqual({ changed: true });
    }
    expect(await rulesNow()).toEqual(h.rulesBefore);
    expect(await resolvers(h)).toBe(0);
    expect(await resolveInTarget(peer.name)).toEqual({ lookup: peer.ip, query: peer.ip });
  });

  it("a container on the host's network: refused at prepare (its namespace is the host's), nothing started", async () => {
    const c = await docker.createContainer({
      name: `${id}-hostnet`,
      Image: await ensureDemoImage(docker),
      Cmd: ['/usr/bin/node', '-e', 'setInterval(() => {}, 1e9)'],
      Labels: { 'faultline.test': `${id}-hostnet` },
      HostConfig: { NetworkMode: 'host' },
    });
    await c.start();
    const s: DnsErrorSpec = dnsError.spec.parse({ kind: 'dns.error', names: ['db.internal'], duration: '30s' });
    await expect(dnsError.prepare(ports, s, { container: { id: c.id, name: `${id}-hostnet` } })).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(/uses the host's network .*nothing injected$/),
    });
    const started = await docker.listContainers({
      all: true,
      filters: { label: ['faultline.component=dns-resolver'] },
    });
    expect(started.filter((x) => x.Labels['faultline.dns.target'] === c.id)).toEqual([]);
  });

  it("the redirect's own deadline: past it, the rules stop matching though nothing removed them (every runner dead)", async () => {
    const s: DnsErrorSpec = dnsError.spec.parse({ kind: 'dns.error', names: [peer.name], duration: '30s' });
    const h = await dnsError.prepare(ports, s, { container: { id: target.id, name: target.name } });
    // The same chain with its deadline a second ago (as a fault whose runner and warden both died would have it).
    const base = (h.owned.chains[0] as string).replace(/-D$/, '');
    const comment = h.owned.hooks[0]?.[h.owned.hooks[0].indexOf('--comment') + 1] as string;
    const lapsed: DnsHandle = { ...h, owned: dnsChains(h.config.listen, Date.now() - 1_000, base, comment) };
    await dnsError.inject(ports, s, lapsed);
    try {
      expect((await rulesNow()).filter((l) => /^-A OUTPUT .*-j FL-/.test(l))).toHaveLength(1);
      expect(await resolveInTarget(peer.name)).toEqual({ lookup: peer.ip, query: peer.ip });
    } finally {
      await dnsError.revert(ports, lapsed);
    }
    expect(await rulesNow()).toEqual(h.rulesBefore);
  });

  it('a target restarted during the fault: the revert ends the resolver, says the fault went with the old namespace, touches nothing new', async () => {
    const s: DnsErrorSpec = dnsError.spec.parse({ kind: 'dns.error', names: [peer.name], duration: '30s' });
    const h = await dnsError.prepare(ports, s, { container: { id: target.id, name: target.name } });
    await dnsError.inject(ports, s, h);
    expect(await resolveInTarget(peer.name)).toEqual({ lookup: 'ENOTFOUND', query: 'ENOTFOUND' });
    await docker.getContainer(target.id).restart({ t: 1 });
    const fresh = await kernel.netns(target.id);
    if (fresh.state !== 'ok') throw new Error('no namespace after the restart');
    expect(fresh.snapshot.netns).not.toBe(h.netns);
    expect(await resolveInTarget(peer.name)).toEqual({ lookup: peer.ip, query: peer.ip }); // a new namespace
    const r = await dnsError.revert(ports, h);
    expect(r).toEqual({
      changed: true,
      note: expect.stringMatching(/restarted .*the fault went with its old network namespace .* nothing was applied/),
    });
    expect(await resolvers(h)).toBe(0);
    expect(await rulesNow()).toEqual(ruleset(fresh.snapshot.rules));
  });
});
