// The orphan sweeper against the real daemon, the real fault proxy and the real Temporal server: a pause
// left by a run that was terminated (Temporal's terminate skips every revert) while its warden was down,
// and a faultline-* toxic added by hand. `sweep` finds both, `sweep --fix` reverts both, a second `sweep`
// finds nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoImage } from '../demo/image.ts';
import { dockerSocketPath, ensureWarden, removeWarden, wardenName } from '../activities/adapters/warden-container.ts';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { ProxyClient } from '../activities/adapters/proxy-client.ts';
import { connectClient, getStatus, startExperiment, type FaultlineClient } from '../cli/client.ts';
import type { Orphan } from '../warden/sweep.ts';
import { containerState, demoExperiment, docker, killProcess, runCli, uniqueId, workerProcess } from './helpers.ts';

const TOKEN = 'sweep-token';
const id = uniqueId('fl-sweep');
const victim = `${id}-victim`;
let ledger: string;
let proxy: ProxyServer;
let fc: FaultlineClient;
let env: Record<string, string>;
let worker: Awaited<ReturnType<typeof workerProcess>> | undefined;
const web = http.createServer((_q, r) => r.end('ok'));

beforeAll(async () => {
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  ledger = mkdtempSync(path.join(os.tmpdir(), 'fl-sweep-ledger-'));
  proxy = await startProxyServer({ port: 0, token: TOKEN });
  await proxy.proxies.create({ name: 'sweep-route', listen: '127.0.0.1:0', upstream: '127.0.0.1:9' });
  env = { FAULTLINE_WARDEN_DIR: ledger, FAULTLINE_PROXY_URL: proxy.url, FAULTLINE_PROXY_TOKEN: TOKEN };
  const c = await docker.createContainer({
    name: victim,
    Image: await ensureDemoImage(docker),
    Env: ['ROLE=backend'],
    Labels: { 'faultline.test': id },
  });
  await c.start();
  await ensureWarden({ dir: ledger });
  fc = await connectClient();
});

afterAll(async () => {
  if (worker) await killProcess(worker);
  await fc?.close();
  await removeWarden({ dir: ledger });
  await docker
    .getContainer(victim)
    .remove({ force: true })
    .catch(() => undefined);
  await proxy?.close();
  web.close();
  rmSync(ledger, { recursive: true, force: true });
});

async function sweep(...args: string[]): Promise<{ status: number | null; orphans: Orphan[]; stderr: string }> {
  const r = await runCli(['sweep', '--json', ...args], env);
  return { status: r.status, orphans: (JSON.parse(r.stdout) as { orphans: Orphan[] }).orphans, stderr: r.stderr };
}

describe('faultline sweep', () => {
  it('finds a paused container and a stray toxic, --fix reverts both, a second sweep finds nothing', async () => {
    const tq = uniqueId('sweep');
    worker = await workerProcess(tq, env);
    const e = demoExperiment(
      `
title: left behind
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${(web.address() as { port: number }).port}/", requests: 1 } ]
targets: { names: [ ${victim} ], mode: one }
method: [ { kind: container.pause, duration: 5m } ]
`,
      { prefix: id, frontUrl: '' },
    );
    const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
    for (let i = 0; ; i++) {
      const st = await getStatus(fc, workflowId);
      if (st.journal?.phase === 'observing') break;
      if (st.status !== 'RUNNING' || i > 600) throw new Error(`never observing: ${st.status} ${st.journal?.reason}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The warden goes down, then an operator terminates the run: nothing reverts the pause.
    await docker.getContainer(wardenName(ledger, dockerSocketPath() as string)).stop({ t: 1 });
    await fc.client.workflow.getHandle(workflowId).terminate('left behind on purpose');
    await killProcess(worker);
    worker = undefined;
    await new ProxyClient(proxy.url, TOKEN).addToxic(
      'sweep-route',
      {
        name: 'faultline-by-hand-0001',
        type: 'latency',
        stream: 'downstream',
        toxicity: 1,
        attributes: { latency: 50 },
      },
      300_000,
    );
    expect(await containerState(victim)).toBe('paused');

    const first = await sweep();
    expect(first.status, first.stderr).toBe(1);
    expect(first.orphans).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'container-fault',
          what: 'container.pause',
          target: victim,
          workflowId,
          applied: true,
        }),
        expect.objectContaining({ type: 'toxic', what: 'faultline-by-hand-0001', target: 'sweep-route' }),
      ]),
    );
    expect(first.orphans).toHaveLength(2);
    expect(await containerState(victim)).toBe('paused'); // a sweep without --fix changes nothing

    const fixed = await sweep('--fix');
    expect(fixed.status, fixed.stderr).toBe(0);
    expect(fixed.orphans.map((o) => o.fixed)).toEqual([true, true]);
    expect(await containerState(victim)).toBe('running');
    expect(await new ProxyClient(proxy.url, TOKEN).listToxics('sweep-route')).toEqual([]);

    const again = await sweep();
    expect(again.status, again.stderr).toBe(0);
    expect(again.orphans).toEqual([]);
  });
});
