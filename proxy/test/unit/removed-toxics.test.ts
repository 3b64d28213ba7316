// The fault proxy remembers when a toxic left it and why (Faultline's addition: GET
// /proxies/{p}/toxics/{t}/removed), so a revert that finds a proxy fault gone already can tell the journal
// when it went and whether its lease lapsed. Against a real proxy on loopback, through the port the
// activities use (activities/adapters/proxy-client.ts) and through the proxy fault kinds themselves.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startProxyServer, type ProxyServer } from '../../server.ts';
import { REMEMBERED_REMOVALS } from '../../toxic-collection.ts';
import { echoServer, sleep } from '../support.ts';
import { ProxyClient } from '../../../activities/adapters/proxy-client.ts';
import { faultKind } from '../../../faults/registry.ts';
import type { Ports } from '../../../faults/ports.ts';
import type { ProxyFaultHandle } from '../../../faults/proxy-common.ts';
import { faultSchema, type FaultEntry } from '../../../experiments/schema.ts';

let srv: ProxyServer;
let echo: Awaited<ReturnType<typeof echoServer>>;
let client: ProxyClient;

beforeAll(async () => {
  echo = await echoServer();
  srv = await startProxyServer({ port: 0 });
  client = new ProxyClient(srv.url);
});
afterAll(async () => {
  await srv.close();
  await echo.close();
});
beforeEach(async () => {
  for (const p of srv.proxies.list()) await srv.proxies.remove(p.name);
  await srv.proxies.create({ name: 'api', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}` });
});

const toxic = (name: string) => ({ name, type: 'latency', stream: 'downstream' as const, toxicity: 1, attributes: {} });

describe("the proxy's record of removed toxics", () => {
  it('a DELETE: when and "api"; a lapsed lease: its expiry and "lease"; one still there, re-added or never there: nothing', async () => {
    await client.addToxic('api', toxic('gone'), 60_000);
    const before = Date.now();
    await client.removeToxic('api', 'gone');
    const r = await client.removedToxic('api', 'gone');
    expect(r?.by).toBe('api');
    expect(Date.parse(r?.at ?? '')).toBeGreaterThanOrEqual(before - 1);

    await client.addToxic('api', toxic('lapses'), 50);
    const expires = srv.proxies.get('api').toxics.get('lapses')?.expiresAt ?? Infinity;
    for (let i = 0; (await client.inspectProxy('api'))?.toxics.includes('lapses'); i++) {
      if (i > 100) throw new Error('the lease never lapsed');
      await sleep(20);
    }
    const l = await client.removedToxic('api', 'lapses');
    expect(l?.by).toBe('lease');
    expect(Date.parse(l?.at ?? '')).toBeGreaterThanOrEqual(expires);

    await client.addToxic('api', toxic('gone'), 60_000); // back on its proxy: not gone
    expect(await client.removedToxic('api', 'gone')).toBeNull();
    expect(await client.removedToxic('api', 'never')).toBeNull();
    expect(await client.removedToxic('nope', 'gone')).toBeNull();
  });

  it(`remembers the last ${REMEMBERED_REMOVALS} removals of a proxy`, async () => {
    for (let i = 0; i <= REMEMBERED_REMOVALS; i++) {
      await client.addToxic('api', toxic(`t${i}`), 60_000);
      await client.removeToxic('api', `t${i}`);
    }
    expect(await client.removedToxic('api', 't0')).toBeNull();
    expect((await client.removedToxic('api', 't1'))?.by).toBe('api');
    expect((await client.removedToxic('api', `t${REMEMBERED_REMOVALS}`))?.by).toBe('api');
  });

  it("a proxy fault whose lease lapsed: the revert finds it gone (changed: false) and undoneAt is the proxy's own time, lapsed", async () => {
    const ports = { proxy: client } as unknown as Ports;
    const spec = faultSchema.parse({
      kind: 'proxy.latency',
      proxy: 'api',
      latency: '100ms',
      duration: '1s',
    }) as FaultEntry;
    const kind = faultKind(spec.kind)!;
    const h = (await kind.prepare(ports, spec, {})) as ProxyFaultHandle;
    const since = new Date().toISOString();
    await kind.inject(ports, spec, { ...h, leaseMs: 50 });
    for (let i = 0; (await client.inspectProxy('api'))?.toxics.length; i++) {
      if (i > 100) throw new Error('the lease never lapsed');
      await sleep(20);
    }
    const lapsed = await client.removedToxic('api', h.toxics[0]!.name);
    expect(await kind.revert(ports, h)).toEqual({ changed: false });
    expect(await kind.undoneAt?.(ports, h, since)).toEqual({ at: lapsed?.at, lapsed: true });

    // Removed by a revert: not lapsed; its time is the removal's.
    await kind.inject(ports, spec, h);
    expect(await kind.revert(ports, h)).toEqual({ changed: true });
    const removed = await client.removedToxic('api', h.toxics[0]!.name);
    expect(removed?.by).toBe('api');
    expect(await kind.undoneAt?.(ports, h, since)).toEqual({ at: removed?.at });
  });
});
