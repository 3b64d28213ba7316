// Bad input for container faults: no live warden beside the daemon (its container stopped). The run is
// `not-started`, the reason names the ledger, and nothing reaches the container (no Docker event at all).
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoImage } from '../demo/image.ts';
import { dockerSocketPath, ensureWarden, removeWarden, wardenName } from '../activities/adapters/warden-container.ts';
import { wardenBeat, WARDEN_STALE_MS } from '../activities/adapters/lease-ledger.ts';
import { connectClient, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { demoExperiment, docker, dockerEvents, killProcess, uniqueId, workerProcess } from './helpers.ts';

const id = uniqueId('fl-nowarden');
const victim = `${id}-victim`;
const web = http.createServer((_q, r) => r.end('ok'));
let ledger: string;
let fc: FaultlineClient;
let worker: Awaited<ReturnType<typeof workerProcess>> | undefined;

beforeAll(async () => {
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  ledger = mkdtempSync(path.join(os.tmpdir(), 'fl-nowarden-'));
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
  web.close();
  rmSync(ledger, { recursive: true, force: true });
});

describe('no warden', () => {
  it('a container fault without a live warden: not-started, the reason names the ledger, nothing injected', async () => {
    const tq = uniqueId('nowarden');
    worker = await workerProcess(tq, { FAULTLINE_WARDEN_DIR: ledger });
    await docker.getContainer(wardenName(ledger, dockerSocketPath() as string)).stop({ t: 1 });
    while (((await wardenBeat(ledger))?.ageMs ?? Infinity) <= WARDEN_STALE_MS)
      await new Promise((r) => setTimeout(r, 200)); // until its last heartbeat is stale
    const since = Date.now();
    const port = (web.address() as { port: number }).port;
    const e = demoExperiment(
      `
title: no warden
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${port}/", requests: 1 } ]
targets: { names: [ ${victim} ], mode: one }
method: [ { kind: container.pause, duration: 5s } ]
`,
      { prefix: id, frontUrl: '' },
    );
    const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
    const j = await waitForResult(fc, workflowId);
    expect(j.verdict, j.reason).toBe('not-started');
    expect(j.reason).toContain(ledger);
    expect(j.reason).toMatch(/no warden/);
    const info = await docker.getContainer(victim).inspect();
    expect(info.State.Status).toBe('running');
    expect(await dockerEvents([info.Id], ['pause', 'unpause'], since)).toEqual([]);
  });
});
