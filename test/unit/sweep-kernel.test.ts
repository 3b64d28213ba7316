// The sweep's look at the kinds acting inside a container, on the in-memory kernel port: for a stray chain
// (network.loss, network.split), tbf (network.bandwidth), stressor (stress.cpu), fill file (disk.fill) and
// stopped process (process.stop) and resolver with its redirect (dns.error), kernelApplied says applied while the fault is in place, not applied after
// its revert or once the container restarted (the namespace, and the fault, gone), and leaves every other
// handle to the old judgement (undefined).
import { describe, expect, it } from 'vitest';
import { MemoryWorld } from '../support/memory-ports.ts';
import { faultKind } from '../../faults/registry.ts';
import type { AnyFaultKind } from '../../faults/types.ts';
import { kernelApplied } from '../../warden/sweep-kernel.ts';

const CASES: [string, Record<string, unknown>][] = [
  ['network.loss', { share: '30%' }],
  ['network.split', { from: { names: ['api-1'] }, to: { names: ['api-2'] } }],
  ['network.bandwidth', { rate: '1mbit' }],
  ['stress.cpu', { cores: 0.5 }],
  ['disk.fill', { size: '8MiB' }],
  ['process.stop', { pattern: 'fl-worker$' }],
  ['dns.error', { names: ['db.internal'] }],
];

function world() {
  const w = new MemoryWorld();
  const id = w.addContainer('api-1');
  const peer = w.addContainer('api-2');
  w.addresses.set(id, ['172.18.0.2']);
  w.addresses.set(peer, ['172.18.0.3']);
  w.nsProcs.set(id, [
    { pid: 1, ppid: 0, state: 'S', start: 100, name: 'app', command: 'app' },
    { pid: 7, ppid: 1, state: 'S', start: 120, name: 'node', command: 'node fl-worker' },
  ]);
  return { w, id, ports: w.ports('agent') };
}

describe.each(CASES)('the sweep looks at a stray %s in the kernel', (kind, fields) => {
  const setup = async () => {
    const { w, id, ports } = world();
    const k = faultKind(kind) as AnyFaultKind;
    const spec = k.spec.parse({ kind, duration: '5m', ...fields }) as never;
    const h = (await k.prepare(ports, spec, { container: { id, name: 'api-1' }, run: 'dead' })) as Record<
      string,
      unknown
    >;
    expect(await kernelApplied(ports.kernel, kind, h)).toBe(false);
    await k.inject(ports, spec, h);
    return { w, id, ports, k, h };
  };

  it('applied while in place, not after the revert', async () => {
    const { ports, k, h } = await setup();
    expect(await kernelApplied(ports.kernel, kind, h)).toBe(true);
    await k.revert(ports, h);
    expect(await kernelApplied(ports.kernel, kind, h)).toBe(false);
  });

  it('without a kernel port it does not guess', async () => {
    const { h } = await setup();
    expect(await kernelApplied(undefined, kind, h)).toBeUndefined();
  });
});

describe('the sweep looks at kernel strays', () => {
  it('chains in a namespace the container no longer has are not applied', async () => {
    const { w, id, ports } = world();
    const k = faultKind('network.loss') as AnyFaultKind;
    const spec = k.spec.parse({ kind: 'network.loss', duration: '5m', share: 0.3 }) as never;
    const h = (await k.prepare(ports, spec, { container: { id, name: 'api-1' } })) as Record<string, unknown>;
    await k.inject(ports, spec, h);
    w.renewNamespace(id);
    expect(await kernelApplied(ports.kernel, 'network.loss', h)).toBe(false);
  });

  it("a dns fault's resolver still running is applied, though its redirect is gone", async () => {
    const { w, id, ports } = world();
    const k = faultKind('dns.error') as AnyFaultKind;
    const spec = k.spec.parse({ kind: 'dns.error', duration: '5m', names: ['db.internal'] }) as never;
    const h = (await k.prepare(ports, spec, { container: { id, name: 'api-1' }, run: 'dead' })) as Record<
      string,
      unknown
    >;
    await k.inject(ports, spec, h);
    w.renewNamespace(id); // the chains went with the old namespace; the resolver container did not
    expect(await kernelApplied(ports.kernel, 'dns.error', h)).toBe(true);
    await k.revert(ports, h);
    expect(await kernelApplied(ports.kernel, 'dns.error', h)).toBe(false);
  });

  it('a handle of a container kind is left to the old judgement', async () => {
    const { ports } = world();
    expect(
      await kernelApplied(ports.kernel, 'container.pause', { containerId: 'api-1-id', wasState: 'running' }),
    ).toBeUndefined();
  });
});
