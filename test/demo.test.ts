// The demo stack end to end on the real daemon: up, serve, survive a killed backend, come back to
// shape on a second demoUp, and go down without touching anything it did not create.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import Dockerode from 'dockerode';
import { demoDown, demoUp, proxyAvailable, type DemoStack } from '../demo/index.ts';
import { httpGet } from '../demo/stack.ts';

const docker = new Dockerode();
const prefix = `fltest-demo-${process.pid}`;
const decoyName = `${prefix}-decoy`;
let stack: DemoStack;
let frontPort = 0;
let proxyAdminPort = 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function ours(): Promise<string[]> {
  const cs = await docker.listContainers({ all: true, filters: { label: [`faultline.demo=${prefix}`] } });
  return cs.map((c) => (c.Names[0] ?? '').replace(/^\//, '')).sort();
}

beforeAll(async () => {
  frontPort = await freePort();
  proxyAdminPort = await freePort();
  await demoDown({ prefix });
  stack = await demoUp({ prefix, frontPort, proxyAdminPort, replicas: 3 });
});

afterAll(async () => {
  await demoDown({ prefix });
  await docker
    .getContainer(decoyName)
    .remove({ force: true })
    .catch(() => undefined);
});

describe('demo stack', () => {
  it('comes up with the documented shape, published on 127.0.0.1 only', async () => {
    const backends = [1, 2, 3].map((i) => `${prefix}-backend-${i}`);
    expect(stack).toMatchObject({ prefix, network: `${prefix}-net`, frontUrl: `http://127.0.0.1:${frontPort}` });
    expect(stack.containers.backends).toEqual(backends);
    const front = await docker.getContainer(stack.containers.front).inspect();
    expect(front.Config.Labels).toMatchObject({
      'faultline.protected': 'true',
      'faultline.role': 'front',
      'faultline.demo': prefix,
    });
    expect(front.HostConfig.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(frontPort) }],
    });
    for (const b of backends) {
      const i = await docker.getContainer(b).inspect();
      expect(i.Config.Labels).toMatchObject({ 'faultline.role': 'backend', 'faultline.demo': prefix });
      expect(i.HostConfig.RestartPolicy?.Name).toBe('no');
      expect(i.NetworkSettings.Networks[stack.network]?.Aliases).toContain('backend');
    }
    if (proxyAvailable()) {
      expect(stack.containers.proxy).toBe(`${prefix}-proxy`);
      const p = await docker.getContainer(stack.containers.proxy!).inspect();
      expect(p.Config.Labels['faultline.component']).toBe('proxy');
      expect(p.HostConfig.PortBindings).toEqual({
        '8474/tcp': [{ HostIp: '127.0.0.1', HostPort: String(proxyAdminPort) }],
      });
      expect(stack.proxyAdminUrl).toBe(`http://127.0.0.1:${proxyAdminPort}`);
      expect(stack.proxyToken).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    } else {
      expect(stack.containers.proxy).toBeUndefined();
    }
  });

  it('the front answers 200 from every backend, round robin', async () => {
    expect((await httpGet(`${stack.frontUrl}/health`, 2000)).status).toBe(200);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await httpGet(`${stack.frontUrl}/`, 2000);
      expect(r.status).toBe(200);
      seen.add((JSON.parse(r.body) as { backend: string }).backend);
    }
    expect([...seen].sort()).toEqual(stack.containers.backends);
  });

  it("the front's /status reports each backend's error rate, p95 and health; a stopped worker shows as its 503s", async () => {
    type Status = {
      windowSeconds: number;
      backends: {
        name: string;
        tries: number;
        errorRate: number | null;
        p95Ms: number | null;
        lastError: string | null;
        health: {
          ok: boolean;
          memory: { usageBytes: number; limitBytes: number | null; oomKills: number | null };
          tmpFreeBytes: number;
          dns: Record<string, string>;
          worker: { pid: number | null; up: boolean; restarts: number };
        };
      }[];
    };
    const status = async () => JSON.parse((await httpGet(`${stack.frontUrl}/status`, 5000)).body) as Status;
    const st = await status();
    expect(st.windowSeconds).toBe(30);
    expect(st.backends.map((b) => b.name)).toEqual(stack.containers.backends);
    for (const b of st.backends) {
      expect(b).toMatchObject({ errorRate: 0, lastError: null });
      expect(b.tries).toBeGreaterThanOrEqual(2); // the round robin above
      expect(b.p95Ms).toBeGreaterThan(0);
      expect(b.health).toMatchObject({ ok: true, worker: { up: true, restarts: 0 } });
      expect(b.health.memory).toMatchObject({ limitBytes: 256 * 2 ** 20, oomKills: 0 });
      expect(b.health.memory.usageBytes).toBeGreaterThan(0);
      expect(b.health.tmpFreeBytes).toBeGreaterThan(0);
      expect(b.health.dns['db.internal']).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/); // no such name on the demo's network
    }
    // SIGSTOP to one backend's worker (from the host): that backend answers 503, the front moves on and says so.
    const stopped = stack.containers.backends[2]!;
    const workerPid = Number(
      (
        (await docker.getContainer(stopped).top({ ps_args: '-o pid,args' })) as { Processes: string[][] }
      ).Processes.find((p) => / --worker$/.test(p[1] ?? ''))?.[0],
    );
    expect(workerPid).toBeGreaterThan(0);
    process.kill(workerPid, 'SIGSTOP');
    try {
      for (let i = 0; (await status()).backends[2]!.health.worker.up; i++) {
        expect(i, 'the backend never noticed its stopped worker').toBeLessThan(100);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (let i = 0; i < 6; i++) {
        const r = await httpGet(`${stack.frontUrl}/`, 3000);
        expect(r.status).toBe(200);
        expect((JSON.parse(r.body) as { backend: string }).backend).not.toBe(stopped);
      }
      const after = (await status()).backends[2]!;
      expect(after.errorRate).toBeGreaterThan(0);
      expect(after.lastError).toBe('status 503');
      expect(after.health).toMatchObject({ ok: false, worker: { up: false } });
    } finally {
      process.kill(workerPid, 'SIGCONT');
    }
  });

  it.runIf(proxyAvailable())('the proxy admin API lists one proxy per backend (token required)', async () => {
    const res = await httpGet(`${stack.proxyAdminUrl}/proxies`, 2000, { authorization: `Bearer ${stack.proxyToken}` });
    expect(res.status).toBe(200);
    expect((await httpGet(`${stack.proxyAdminUrl}/proxies`, 2000)).status).toBe(401); // bound to 0.0.0.0 in its container
    const proxies = JSON.parse(res.body) as Record<string, { listen: string; upstream: string; enabled: boolean }>;
    expect(Object.keys(proxies).sort()).toEqual(['backend-1', 'backend-2', 'backend-3']);
    expect(proxies['backend-2']).toMatchObject({
      listen: '0.0.0.0:21002',
      upstream: `${prefix}-backend-2:8080`,
      enabled: true,
    });
  });

  it('a paused backend costs one per-try timeout, then the front moves on', async () => {
    const frozen = stack.containers.backends[0]!;
    await docker.getContainer(frozen).pause();
    try {
      for (let i = 0; i < 6; i++) {
        const t = performance.now();
        const r = await httpGet(`${stack.frontUrl}/`, 3000);
        expect(r.status).toBe(200);
        expect((JSON.parse(r.body) as { backend: string }).backend).not.toBe(frozen);
        expect(performance.now() - t).toBeLessThan(1500); // 250 ms per try, not the client's timeout
      }
    } finally {
      await docker.getContainer(frozen).unpause();
    }
  });

  it('killing one backend still gives 200 from the front, never from the dead one', async () => {
    const dead = stack.containers.backends[1]!;
    await docker.getContainer(dead).kill({ signal: 'SIGKILL' });
    expect((await docker.getContainer(dead).inspect()).State.Running).toBe(false);
    for (let i = 0; i < 9; i++) {
      const r = await httpGet(`${stack.frontUrl}/`, 3000);
      expect(r.status).toBe(200);
      expect((JSON.parse(r.body) as { backend: string }).backend).not.toBe(dead);
    }
    // RestartPolicy none: it stays dead until someone reverts.
    expect((await docker.getContainer(dead).inspect()).State.Running).toBe(false);
  });

  it('all backends down gives a JSON 502/504 from the front', async () => {
    await Promise.all(
      stack.containers.backends.map((b) =>
        docker
          .getContainer(b)
          .kill({ signal: 'SIGKILL' })
          .catch(() => undefined),
      ),
    );
    const r = await httpGet(`${stack.frontUrl}/`, 5000);
    expect([502, 504]).toContain(r.status);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'all backends failed' });
  });

  it('demoUp again is idempotent: same containers, dead backends started again', async () => {
    const before = await ours();
    const ids = await Promise.all(before.map(async (n) => (await docker.getContainer(n).inspect()).Id));
    const again = await demoUp({ prefix, frontPort, proxyAdminPort, replicas: 3 });
    expect(again.containers).toEqual(stack.containers);
    expect(again.proxyToken).toBe(stack.proxyToken);
    expect(await ours()).toEqual(before);
    expect(await Promise.all(before.map(async (n) => (await docker.getContainer(n).inspect()).Id))).toEqual(ids);
    for (const b of stack.containers.backends)
      expect((await docker.getContainer(b).inspect()).State.Running).toBe(true);
    expect((await httpGet(`${stack.frontUrl}/`, 2000)).status).toBe(200);
  });

  it('demoDown removes its containers and network and nothing else', async () => {
    const image = stack.image;
    // Same name prefix, same network, but not created by the demo: must survive.
    const decoy = await docker.createContainer({
      name: decoyName,
      Image: image,
      Cmd: ['/usr/bin/node', '/app/app.mjs'],
      Labels: { 'faultline.test': prefix },
    });
    await decoy.start();
    const { removed } = await demoDown({ prefix });
    expect(removed).toEqual(
      expect.arrayContaining([stack.containers.front, ...stack.containers.backends, stack.network]),
    );
    expect(await ours()).toEqual([]);
    expect(
      (await docker.listNetworks({ filters: { name: [stack.network] } })).filter((n) => n.Name === stack.network),
    ).toEqual([]);
    expect((await docker.getContainer(decoyName).inspect()).State.Running).toBe(true);
    await expect(httpGet(`${stack.frontUrl}/health`, 1000)).rejects.toThrow();
    expect((await demoDown({ prefix })).removed).toEqual([]); // idempotent
  });
});
