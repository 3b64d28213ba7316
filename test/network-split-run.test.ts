// network.split as a run: the experiment names no targets, only its two groups; planning (on the worker)
// makes one fault record per member, the host's agent prepares and injects each with its lease, and while the
// run observes, from inside the containers the pair across the partition cannot connect while a pair with the
// outsider can. The run passes, both records are reverted, and each member's rule set is as before the run.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWarden, removeWarden } from '../activities/adapters/warden-container.ts';
import { connectClient, getStatus, startExperiment, type FaultlineClient } from '../cli/client.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { ruleset } from '../faults/netfilter.ts';
import { demoExperiment, killProcess, uniqueId, workerProcess } from './helpers.ts';
import {
  connects,
  createNetwork,
  docker,
  removeContainers,
  removeNetwork,
  startTarget,
  type KernelTarget,
} from './support/kernel-targets.ts';

const id = uniqueId('fl-splitrun');
const net = `${id}-net`;
const web = http.createServer((_q, r) => r.end('ok'));
const kernel = createDockerKernelPort(docker);
let ledger: string;
let fc: FaultlineClient;
let a: KernelTarget, b: KernelTarget, out: KernelTarget;

beforeAll(async () => {
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  ledger = mkdtempSync(path.join(os.tmpdir(), 'fl-splitrun-'));
  await createNetwork(net);
  const started = await Promise.all(['a', 'b', 'out'].map((n) => startTarget(`${id}-${n}`, net)));
  [a, b, out] = started as [KernelTarget, KernelTarget, KernelTarget];
  await ensureWarden({ dir: ledger });
  fc = await connectClient();
});
afterAll(async () => {
  await fc?.close();
  await removeWarden({ dir: ledger });
  await removeContainers(id);
  await removeNetwork(net);
  web.close();
  rmSync(ledger, { recursive: true, force: true });
});

const rules = async (t: KernelTarget) => {
  const r = await kernel.netns(t.id);
  if (r.state !== 'ok') throw new Error(`no namespace: ${JSON.stringify(r)}`);
  return ruleset(r.snapshot.rules);
};

describe('network.split as a run', () => {
  it('one record per member, injected by the agent; the pair across cannot connect during the window; passed, reverted, rules as before', async () => {
    const before = await Promise.all([rules(a), rules(b)]);
    const tq = uniqueId('splitrun');
    const worker = await workerProcess(tq, { FAULTLINE_WARDEN_DIR: ledger });
    try {
      const port = (web.address() as { port: number }).port;
      const e = demoExperiment(
        `
title: partition a from b
hypothesis:
  statement: the web server answers
  probes: [ { name: web, type: http, url: "http://127.0.0.1:${port}/", requests: 1 } ]
method:
  - { kind: network.split, from: { names: [ ${a.name} ] }, to: { names: [ ${b.name} ] }, duration: 8s }
blastRadius: { maxTargets: 2 }
afterCheck: { recoveryTimeout: 5s }
`,
        { prefix: id, frontUrl: '' },
      );
      const { workflowId } = await startExperiment(fc, e, { taskQueue: tq });
      for (let i = 0; ; i++) {
        const st = await getStatus(fc, workflowId);
        if (st.journal?.phase === 'observing') break;
        if (st.status !== 'RUNNING' || i > 900) throw new Error(`never observing: ${st.status} ${st.journal?.reason}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const during = { ab: await connects(a, b), ba: await connects(b, a), aOut: await connects(a, out) };
      const phase = (await getStatus(fc, workflowId)).journal?.phase;
      expect(phase, 'the checks ran inside the fault window').toBe('observing');
      expect(during).toEqual({ ab: false, ba: false, aOut: true });
      const j = await fc.client.workflow.getHandle(workflowId).result();
      expect(j.verdict, j.reason).toBe('passed');
      expect(
        j.faults.map((f: { kind: string; target?: { name: string }; status: string }) => [
          f.kind,
          f.target?.name,
          f.status,
        ]),
      ).toEqual([
        ['network.split', a.name, 'reverted'],
        ['network.split', b.name, 'reverted'],
      ]);
      expect([await rules(a), await rules(b)]).toEqual(before);
      expect(await connects(a, b)).toBe(true);
    } finally {
      await killProcess(worker);
    }
  });
});
