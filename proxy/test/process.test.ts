// The process entry as it ships: bundled by esbuild into one ESM file (the proxy container runs
// exactly that), started with a Toxiproxy-format config and a token, stopped by SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../cli/dev-server.ts';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../bundle.ts';
import { request } from 'undici';
import { startProxyServer } from '../server.ts';
import { Client, echoServer } from './support.ts';

let echo: Awaited<ReturnType<typeof echoServer>>;
let dir: string;
beforeAll(async () => {
  echo = await echoServer();
  dir = mkdtempSync(path.join(tmpdir(), 'faultline-proxy-'));
});
afterAll(() => echo.close());

describe('proxy process', () => {
  it('bundles to one ESM file that loads a populate config, requires its token, and exits 0 on SIGTERM', async () => {
    const bundle = path.join(dir, 'proxy.mjs');
    await build({
      entryPoints: [path.resolve('proxy/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: ESM_REQUIRE_BANNER,
      outfile: bundle,
      logLevel: 'error',
    });
    const [adminPort, listenPort] = [await freePort(), await freePort()];
    const config = path.join(dir, 'proxy.json');
    writeFileSync(
      config,
      JSON.stringify([{ name: 'echo', listen: `127.0.0.1:${listenPort}`, upstream: `127.0.0.1:${echo.port}` }]),
    );
    const child = spawn(
      process.execPath,
      [bundle, '--host', '127.0.0.1', '--port', String(adminPort), '--config', config],
      {
        env: { ...process.env, FAULTLINE_PROXY_TOKEN: 'tok' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const check = (): void => void (log.includes('admin API') ? resolve() : undefined);
      child.stderr.on('data', check);
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
    });
    const base = `http://127.0.0.1:${adminPort}`;
    expect((await request(`${base}/proxies`)).statusCode).toBe(401);
    const r = await request(`${base}/proxies/echo`, { headers: { authorization: 'Bearer tok' } });
    expect(await r.body.json()).toMatchObject({ name: 'echo', listen: `127.0.0.1:${listenPort}`, enabled: true });
    const c = new Client(listenPort);
    c.write('through the bundle');
    expect(await c.read(18)).toBe('through the bundle');
    c.destroy();
    child.kill('SIGTERM');
    const code = await new Promise((res) => child.once('exit', res));
    expect(code).toBe(0);
  });

  it('`faultline proxy` runs it in the foreground and stops on SIGINT; off loopback without a token it exits 2', async () => {
    const port = await freePort();
    const bin = path.resolve('bin/faultline.mjs');
    const child = spawn(process.execPath, [bin, 'proxy', '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    while (!out.includes('admin API')) {
      if (child.exitCode !== null) throw new Error(`exited: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const v = await request(`http://127.0.0.1:${port}/version`);
    expect(await v.body.json()).toMatchObject({ version: '2.12.0' });
    child.kill('SIGINT');
    expect(await new Promise((res) => child.once('exit', res))).toBe(0);
    const refused = spawn(process.execPath, [bin, 'proxy', '--host', '0.0.0.0', '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, FAULTLINE_PROXY_TOKEN: '' },
    });
    let err = '';
    refused.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise((res) => refused.once('exit', res))).toBe(2);
    expect(err).toMatch(/without a token/);
  });

  it('refuses to start on a bad config, naming the file and the problem', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ listen: '127.0.0.1:0', upstream: 'x:1' }]));
    await expect(startProxyServer({ port: 0, config: bad })).rejects.toThrow(
      /bad\.json: missing required field: name at proxy 1/,
    );
    writeFileSync(bad, '{not json');
    await expect(startProxyServer({ port: 0, config: bad })).rejects.toThrow(/cannot read config .*bad\.json/);
  });
});
