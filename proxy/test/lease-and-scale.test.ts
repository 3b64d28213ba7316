// Leases with no client alive (the process that added the toxic is SIGKILLed), and removal while
// 1,000 connections are open: the DELETE does not wait on them and every connection still carries data.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startProxyServer, type ProxyServer } from '../server.ts';
import { Client, echoServer, sleep } from './support.ts';

let srv: ProxyServer;
let echo: Awaited<ReturnType<typeof echoServer>>;

beforeAll(async () => {
  echo = await echoServer();
  srv = await startProxyServer({ port: 0 });
});
afterAll(async () => {
  await srv.close();
  await echo.close();
});

async function api(
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await request(srv.url + p, {
    method: method as 'GET',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('leases', () => {
  it('a toxic outlives nobody: its owner is SIGKILLed and the proxy removes it when the lease runs out', async () => {
    const created = await api('POST', '/proxies', {
      name: 'lease',
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${echo.port}`,
    });
    const port = Number(String(created.json.listen).split(':')[1]);
    const c = new Client(port);
    await c.connected();
    // The owner: a separate process using Faultline's own client, which then hangs until killed.
    const dir = mkdtempSync(path.join(tmpdir(), 'faultline-lease-'));
    const script = path.join(dir, 'owner.mts');
    const clientPath = path.resolve('activities/adapters/proxy-client.ts');
    writeFileSync(
      script,
      `import { ProxyClient } from ${JSON.stringify(clientPath)};
       const c = new ProxyClient(${JSON.stringify(srv.url)});
       await c.addToxic('lease', { name: 'faultline-owned', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 60000, jitter: 0 } }, 3000);
       process.stdout.write('added\\n');
       setInterval(() => undefined, 1000);`,
    );
    const owner = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      owner.stdout.on('data', (d: Buffer) => d.toString().includes('added') && resolve());
      owner.once('exit', (code) => reject(new Error(`owner exited early with ${code}`)));
    });
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));
    expect((await api('GET', '/proxies/lease/toxics/faultline-owned')).status).toBe(200);
    c.write('held by the orphaned toxic');
    await sleep(300);
    expect(c.received.length).toBe(0); // the toxic is live with nobody left to remove it
    // ...until its lease lapses: then it is gone and what it held is delivered, not dropped.
    expect(await c.read(26)).toBe('held by the orphaned toxic');
    expect((await api('GET', '/proxies/lease/toxics/faultline-owned')).status).toBe(404);
    c.destroy();
  });
});

describe('scale', () => {
  it('removes a toxic from 1,000 open connections without waiting on them; all of them still carry data', async () => {
    const created = await api('POST', '/proxies', {
      name: 'many',
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${echo.port}`,
    });
    const port = Number(String(created.json.listen).split(':')[1]);
    const clients: Client[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const made = Array.from({ length: 100 }, () => new Client(port));
      await Promise.all(made.map((c) => c.connected()));
      clients.push(...made);
    }
    await api('POST', '/proxies/many/toxics', { type: 'latency', name: 'slow', attributes: { latency: 120_000 } });
    clients.forEach((c, i) => c.write(`m${String(i).padStart(4, '0')}`));
    await sleep(200);
    expect(clients.every((c) => c.received.length === 0)).toBe(true); // all 1,000 are holding bytes
    const t = performance.now();
    const del = await api('DELETE', '/proxies/many/toxics/slow');
    const tookMs = performance.now() - t;
    expect(del.status).toBe(204);
    expect(tookMs).toBeLessThan(5_000); // generous: "promptly", not a benchmark (bench/proxy.ts measures it)
    const got = await Promise.all(clients.map((c) => c.read(5)));
    expect(got).toEqual(clients.map((_, i) => `m${String(i).padStart(4, '0')}`));
    // and the connections go on working after the removal
    clients.forEach((c) => c.write('again'));
    expect(new Set(await Promise.all(clients.map((c) => c.read(5))))).toEqual(new Set(['again']));
    for (const c of clients) c.destroy();
  });
});
