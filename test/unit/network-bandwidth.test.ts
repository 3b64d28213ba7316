// network.bandwidth without a kernel: the language (a rate in bits per second, refused with its position
// when it is not one or is out of range), the token bucket it asks tc for, and its lifecycle on the
// in-memory kernel port: a retried inject applies once, the revert leaves the root qdisc recorded at
// prepare, a root qdisc that is not the kernel's default (someone else's, or another bandwidth fault's) is
// refused at prepare with nothing applied, a restarted target's revert says so and applies nothing, and the
// warden's revert of a lapsed lease.
import { describe, expect, it } from 'vitest';
import { networkBandwidth, rateBits, tbfArgs, type BandwidthHandle } from '../../faults/network-bandwidth.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { faultProblems } from './support/fault-problems.ts';

const problems = faultProblems('bw.yaml');

describe('network.bandwidth: the language', () => {
  it('reads rates in bits per second and refuses what is not one, with its position', () => {
    expect([rateBits('512kbit'), rateBits('10mbit'), rateBits('1.5Gbit'), rateBits('8000bit')]).toEqual([
      512_000, 10_000_000, 1_500_000_000, 8_000,
    ]);
    expect(rateBits('10 MB/s')).toBeUndefined();
    expect(problems('{ kind: network.bandwidth, rate: 10MB, duration: 5s }')).toEqual([
      expect.stringMatching(/^bw\.yaml:5:\d+ method\.0\.rate: must be a rate such as 512kbit, 10mbit or 1gbit/),
    ]);
    expect(problems('{ kind: network.bandwidth, rate: 1kbit, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.rate: must be at least 8kbit/),
    ]);
    expect(problems('{ kind: network.bandwidth, rate: 101gbit, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.rate: must be at most 100gbit/),
    ]);
    expect(problems('{ kind: network.bandwidth, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.rate: required field "rate" is missing/),
    ]);
  });

  it('asks for a bucket of 10 ms at the rate, never less than two full frames', () => {
    expect(tbfArgs(8_000_000)).toEqual(['tbf', 'rate', '8000000bit', 'burst', '10000b', 'latency', '100ms']);
    expect(tbfArgs(64_000)).toEqual(['tbf', 'rate', '64000bit', 'burst', '3028b', 'latency', '100ms']);
  });
});

describe('network.bandwidth on the in-memory kernel port', () => {
  const setup = () => {
    const w = new MemoryWorld();
    const id = w.addContainer('api-1', { demo: ['api'] });
    const ports = w.ports('agent');
    const spec = networkBandwidth.spec.parse({ kind: 'network.bandwidth', duration: '5s', rate: '1mbit' });
    return { w, id, ports, spec, target: { container: { id, name: 'api-1' } } };
  };

  it('a retried inject applies once; the revert leaves the root from before; a second revert changes nothing', async () => {
    const { w, id, ports, spec, target } = setup();
    const h = (await networkBandwidth.prepare(ports, spec, target)) as BandwidthHandle;
    expect(h.rootsBefore).toEqual({ eth0: 'noqueue 0:' });
    expect(h.qdiscs).toEqual([{ dev: 'eth0', handle: 'fa17:', args: tbfArgs(1_000_000) }]);
    await networkBandwidth.inject(ports, spec, h);
    await networkBandwidth.inject(ports, spec, h);
    expect(w.namespaces.get(id)?.qdiscs.get('eth0')).toMatch(/^qdisc tbf fa17: dev eth0 root/);
    expect(await networkBandwidth.revert(ports, h)).toEqual({ changed: true });
    expect(await networkBandwidth.revert(ports, h)).toEqual({ changed: false });
    expect(w.kernelLeftovers()).toEqual([]);
  });

  it('only the interface on the network asked; another network is refused at prepare', async () => {
    const { ports, target } = setup();
    const on = networkBandwidth.spec.parse({
      kind: 'network.bandwidth',
      duration: '5s',
      rate: '1mbit',
      network: 'demo',
    });
    expect(((await networkBandwidth.prepare(ports, on, target)) as BandwidthHandle).qdiscs.map((q) => q.dev)).toEqual([
      'eth0',
    ]);
    const off = { ...on, network: 'elsewhere' };
    await expect(networkBandwidth.prepare(ports, off, target)).rejects.toThrow(/no interface on network elsewhere/);
  });

  it("a root qdisc that is not the kernel's default is refused at prepare, and nothing is applied", async () => {
    const { w, id, ports, spec, target } = setup();
    await ports.kernel!.netns(id); // the namespace as the kernel made it
    w.namespaces.get(id)!.qdiscs.set('eth0', 'qdisc htb 1: dev eth0 root refcnt 2 r2q 10 default 0');
    const calls = w.calls.length;
    await expect(networkBandwidth.prepare(ports, spec, target)).rejects.toThrow(
      /eth0 of api-1 has a root qdisc Faultline does not replace \(htb 1:\); nothing injected/,
    );
    w.namespaces.get(id)!.qdiscs.set('eth0', 'qdisc tbf fa17: dev eth0 root refcnt 2 rate 1Mbit');
    await expect(networkBandwidth.prepare(ports, spec, target)).rejects.toThrow(
      /another Faultline bandwidth fault holds it/,
    );
    expect(w.calls.slice(calls).filter((c) => c.effect !== 'none')).toEqual([]);
  });

  it('a restarted target: the revert says so and applies nothing; the warden reverts a lapsed lease', async () => {
    const { w, id, ports, spec, target } = setup();
    const h = (await networkBandwidth.prepare(ports, spec, target)) as BandwidthHandle;
    await networkBandwidth.inject(ports, spec, h);
    w.renewNamespace(id);
    const calls = w.calls.length;
    expect(await networkBandwidth.revert(ports, h)).toEqual({
      changed: false,
      note: expect.stringMatching(/restarted.*nothing was applied to the new one/),
    });
    expect(w.calls.slice(calls).filter((c) => c.effect !== 'none')).toEqual([]);

    w.useLeases();
    const h2 = (await networkBandwidth.prepare(ports, spec, target)) as BandwidthHandle;
    await networkBandwidth.inject(ports, spec, h2);
    await w
      .leasePort('agent')
      .grant({ id: 'l2', kind: 'network.bandwidth', handle: h2, leaseMs: 1, grantedAt: new Date().toISOString() });
    const [rec] = await w.lapse();
    expect(rec?.revertedAt).toBeDefined();
    expect(w.kernelLeftovers()).toEqual([]);
  });
});
