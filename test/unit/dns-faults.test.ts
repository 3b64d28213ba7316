// dns.error and dns.spoof without a kernel: the language (a name pattern, an address, an rcode: refused at
// validation with their position, so nothing is injected), how a pattern matches a name, what the resolver
// answers (real DNS messages encoded and decoded with dns-packet), the nat chain, and the lifecycle on the
// in-memory kernel port: a target without an IPv4 nameserver refused at prepare with nothing started, a
// retried inject starts one resolver, the revert ends it and leaves the rules as at prepare.
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { nameMatches, patternProblem } from '../../faults/dns-names.ts';
import { answerQuery } from '../../faults/dns-answer.ts';
import { DNS_RESOLVER_UID, dnsChains } from '../../faults/dns-common.ts';
import { dnsError } from '../../faults/dns-error.ts';
import { dnsSpoof } from '../../faults/dns-spoof.ts';
import { ruleset } from '../../faults/netfilter.ts';
import { demuxLogs, parseNameservers } from '../../activities/adapters/kernel.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { faultProblems } from './support/fault-problems.ts';

const problems = faultProblems('dns.yaml');

describe('dns: the language', () => {
  it('a name pattern that is not one, an address that does not parse, a wrong rcode: refused with their position', () => {
    expect(problems('{ kind: dns.error, names: [ api.internal, "a..b", "foo*.svc", "-x.y" ], duration: 5s }')).toEqual([
      expect.stringMatching(/^dns\.yaml:5:\d+ method\.0\.names\.1: has an empty label/),
      expect.stringMatching(
        /^dns\.yaml:5:\d+ method\.0\.names\.2: "foo\*": a wildcard is only the whole leftmost label/,
      ),
      expect.stringMatching(/^dns\.yaml:5:\d+ method\.0\.names\.3: "-x" is not a DNS label/),
    ]);
    expect(problems('{ kind: dns.error, names: [ api ], rcode: REFUSED, duration: 5s }')).toEqual([
      expect.stringMatching(/^dns\.yaml:5:\d+ method\.0\.rcode: must be one of "NXDOMAIN", "SERVFAIL", not "REFUSED"/),
    ]);
    expect(problems('{ kind: dns.spoof, names: [ api ], address: 10.0.0.300, duration: 5s }')).toEqual([
      expect.stringMatching(/^dns\.yaml:5:\d+ method\.0\.address: must be an IPv4 or IPv6 address/),
    ]);
    expect(problems('{ kind: dns.spoof, names: [ api ], duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.address: required field "address" is missing/),
    ]);
    expect(problems('{ kind: dns.spoof, names: [], address: 10.0.0.1, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.names: needs at least 1 entry/),
    ]);
    expect(problems('{ kind: dns.error, names: [ "*.svc.local", "*", API.Internal. ], duration: 5s }')).toEqual([]);
    expect(problems('{ kind: dns.spoof, names: [ api ], address: "fd00::99", duration: 5s }')).toEqual([]);
    expect(dnsError.spec.parse({ kind: 'dns.error', names: ['a'], duration: '1s' }).rcode).toBe('NXDOMAIN');
  });

  it('patterns: exact names (any case, trailing dot or not), *.domain for every name under it (not itself), * for all', () => {
    expect(patternProblem('*.')).toMatch(/wildcard needs a domain/);
    expect(patternProblem('x'.repeat(64))).toMatch(/is not a DNS label/);
    expect(patternProblem('_srv._tcp.example')).toBeUndefined();
    expect(nameMatches('api.internal', 'API.internal.')).toBe(true);
    expect(nameMatches('api.internal', 'x.api.internal')).toBe(false);
    expect(nameMatches('*.svc.local', 'a.b.svc.local')).toBe(true);
    expect(nameMatches('*.svc.local', 'svc.local')).toBe(false);
    expect(nameMatches('*.svc.local', 'xsvc.local')).toBe(false);
    expect(nameMatches('*', 'anything.at.all')).toBe(true);
  });
});

/** dns-packet decodes the response code too, which its types leave out. */
const decode = (b: Buffer | undefined) => dnsPacket.decode(b!) as dnsPacket.DecodedPacket & { rcode: string };

const query = (name: string, type: 'A' | 'AAAA' | 'MX', id = 4242) =>
  dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
  });

describe("dns: the resolver's answers", () => {
  it('a name given: NXDOMAIN or SERVFAIL with the query id, question and RD kept; any other name is forwarded', () => {
    const nx = decode(answerQuery(query('db.internal', 'A'), { names: ['db.internal'], rcode: 'NXDOMAIN' }));
    expect(nx).toMatchObject({ type: 'response', id: 4242, rcode: 'NXDOMAIN', flag_rd: true, flag_ra: true });
    expect(nx.questions).toEqual([{ name: 'db.internal', type: 'A', class: 'IN' }]);
    expect(nx.answers).toEqual([]);
    const sf = decode(answerQuery(query('x.svc', 'AAAA'), { names: ['*.svc'], rcode: 'SERVFAIL' }));
    expect(sf.rcode).toBe('SERVFAIL');
    expect(answerQuery(query('other.internal', 'A'), { names: ['db.internal'], rcode: 'NXDOMAIN' })).toBeUndefined();
    expect(answerQuery(Buffer.from('not a dns message'), { names: ['*'], rcode: 'NXDOMAIN' })).toBeUndefined();
    const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'db', class: 'IN' }] });
    expect(answerQuery(response, { names: ['*'], rcode: 'NXDOMAIN' })).toBeUndefined();
  });

  it('spoof: an IPv4 address answers A (TTL 0), AAAA gets no record (NOERROR); an IPv6 one answers AAAA', () => {
    const a = decode(answerQuery(query('db', 'A'), { names: ['db'], address: '10.9.8.7' }));
    expect(a.rcode).toBe('NOERROR');
    expect(a.answers).toEqual([{ name: 'db', type: 'A', class: 'IN', ttl: 0, flush: false, data: '10.9.8.7' }]);
    const none = decode(answerQuery(query('db', 'AAAA'), { names: ['db'], address: '10.9.8.7' }));
    expect({ rcode: none.rcode, answers: none.answers }).toEqual({ rcode: 'NOERROR', answers: [] });
    const six = decode(answerQuery(query('db', 'AAAA'), { names: ['db'], address: 'fd00::99' }));
    expect(six.answers?.[0]).toMatchObject({ type: 'AAAA', data: 'fd00::99' });
    const mx = decode(answerQuery(query('db', 'MX'), { names: ['db'], address: '10.9.8.7' }));
    expect(mx.answers).toEqual([]);
  });
});

describe('dns: the redirect', () => {
  it("one nat chain hooked at the head of OUTPUT for every uid but the resolver's; a REDIRECT per nameserver and transport, bounded in time", () => {
    const until = Date.UTC(2026, 11, 7, 23, 0, 30, 500);
    const o = dnsChains(
      [
        { port: 20001, upstream: '127.0.0.11' },
        { port: 20002, upstream: '10.0.0.2' },
      ],
      until,
      'FL-a-b',
      'tag',
    );
    expect(o.table).toBe('nat');
    expect(o.chains).toEqual(['FL-a-b-D']);
    expect(o.hooks).toEqual([
      [
        'OUTPUT',
        '-m',
        'owner',
        '!',
        '--uid-owner',
        String(DNS_RESOLVER_UID),
        '-m',
        'comment',
        '--comment',
        'tag',
        '-j',
        'FL-a-b-D',
      ],
    ]);
    expect(o.rules.map((r) => r.join(' '))).toEqual([
      'FL-a-b-D -d 127.0.0.11/32 -p udp -m udp --dport 53 -m time --datestop 2026-12-07T23:00:30 -m comment --comment tag -j REDIRECT --to-ports 20001',
      'FL-a-b-D -d 127.0.0.11/32 -p tcp -m tcp --dport 53 -m time --datestop 2026-12-07T23:00:30 -m comment --comment tag -j REDIRECT --to-ports 20001',
      'FL-a-b-D -d 10.0.0.2/32 -p udp -m udp --dport 53 -m time --datestop 2026-12-07T23:00:30 -m comment --comment tag -j REDIRECT --to-ports 20002',
      'FL-a-b-D -d 10.0.0.2/32 -p tcp -m tcp --dport 53 -m time --datestop 2026-12-07T23:00:30 -m comment --comment tag -j REDIRECT --to-ports 20002',
    ]);
  });

  it("the adapter reads a resolv.conf's nameservers and a container's multiplexed log", () => {
    expect(
      parseNameservers('# x\nsearch a\nnameserver 127.0.0.11\n  nameserver fe80::1%eth0\noptions ndots:0\n'),
    ).toEqual(['127.0.0.11', 'fe80::1']);
    const frame = (t: number, s: string) =>
      Buffer.concat([Buffer.from([t, 0, 0, 0, 0, 0, 0, s.length]), Buffer.from(s)]);
    expect(demuxLogs(Buffer.concat([frame(1, 'ready: :20001\n'), frame(2, 'oops\n')]))).toBe('ready: :20001\noops\n');
  });
});

describe('dns on the in-memory kernel port', () => {
  const setup = () => {
    const w = new MemoryWorld();
    const id = w.addContainer('api-1');
    return { w, id, ports: w.ports('agent'), target: { container: { id, name: 'api-1' }, run: 'r' } };
  };

  it("a target on the host's network (its namespace is the host's): refused at prepare, nothing started", async () => {
    const w = new MemoryWorld();
    const id = w.addContainer('agent-on-host', { host: [] });
    const s = dnsError.spec.parse({ kind: 'dns.error', names: ['db'], duration: '5s' });
    await expect(
      dnsError.prepare(w.ports('agent'), s, { container: { id, name: 'agent-on-host' } }),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(
        /^dns\.error on agent-on-host: the container uses the host's network .*nothing injected$/,
      ),
    });
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('no IPv4 nameserver in the target: refused at prepare, nothing started', async () => {
    const { w, id, ports, target } = setup();
    w.nameservers.set(id, ['fd00::53']);
    const s = dnsError.spec.parse({ kind: 'dns.error', names: ['db'], duration: '5s' });
    await expect(dnsError.prepare(ports, s, target)).rejects.toMatchObject({
      name: 'InvalidInput',
      message:
        "dns.error: api-1's /etc/resolv.conf names no IPv4 nameserver (fd00::53): there is no DNS traffic to redirect; nothing injected",
    });
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('a retried inject starts one resolver and one chain; the revert ends both, rules as at prepare; again: no change', async () => {
    const { w, ports, target } = setup();
    const s = dnsSpoof.spec.parse({ kind: 'dns.spoof', names: ['db'], address: '10.1.1.1', duration: '5s' });
    const h = await dnsSpoof.prepare(ports, s, target);
    expect(h.config).toMatchObject({ names: ['db'], address: '10.1.1.1', listen: [{ upstream: '127.0.0.11' }] });
    await dnsSpoof.inject(ports, s, h);
    await dnsSpoof.inject(ports, s, h);
    expect(w.kernelLeftovers().sort()).toEqual([
      `chain:${h.containerId}:${h.owned.chains[0]}`,
      `resolver:${h.resolver}`,
    ]);
    expect(await dnsSpoof.revert(ports, h)).toEqual({ changed: true });
    expect(w.kernelLeftovers()).toEqual([]);
    const now = await ports.kernel!.netns(h.containerId);
    expect(now.state === 'ok' && ruleset(now.snapshot.rules)).toEqual(h.rulesBefore);
    expect(await dnsSpoof.revert(ports, h)).toEqual({ changed: false });
  });
});
