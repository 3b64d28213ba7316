// A guard abort against the real demo: real containers, the real fault proxy, the embedded worker (fleet
// queue and the local host's agent). The guard reverts at once on its conclusion, itself: the container
// fault its host's holder holds (this daemon) and the proxy rule it holds; the journal names the guard, and
// inside the target the fault is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, getStatus, startExperiment, waitForResult, type FaultlineClient } from '../cli/client.ts';
import { freePort } from '../cli/dev-server.ts';
import { containerState, demoExperiment, docker, inProcessWorker, uniqueId } from './helpers.ts';

const TQ = uniqueId('guard-abort');
let stack: DemoStack;
let fc: FaultlineClient;
let worker: Awaited<ReturnType<typeof inProcessWorker>>;

beforeAll(async () => {
  stack = await demoUp({ prefix: uniqueId('fl-gab'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
  worker = await inProcessWorker(TQ, {
    FAULTLINE_PROXY_URL: stack.proxyAdminUrl ?? '',
    FAULTLINE_PROXY_TOKEN: stack.proxyToken ?? '',
  });
});

afterAll(async () => {
  await worker?.stop();
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
});

/** Runs a command inside the container; resolves with its exit code (a paused container refuses the exec). */
async function execInside(name: string, cmd: string[]): Promise<number> {
  const exec = await docker.getContainer(name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise<void>((r) => {
    stream.on('end', () => r());
    stream.resume();
  });
  return (await exec.inspect()).ExitCode ?? -1;
}

async function toxicsOn(route: string): Promise<unknown[]> {
  const r = await request(`${stack.proxyAdminUrl}/proxies/${route}/toxics`, {
    headers: { authorization: `Bearer ${stack.proxyToken}` },
  });
  return (await r.body.json()) as unknown[];
}

describe('a guard abort', () => {
  it("the guard itself reverts its host's container fault and its proxy rule: aborted, revertedBy guard, gone inside the target", async () => {
    const [b1, ...others] = stack.containers.backends as [string, ...string[]];
    const exp = demoExperiment(
      `
title: guard abort
hypothesis:
  statement: the front answers
  probes: [ { name: front, type: http, url: "\${FRONT}/", requests: 4, timeout: 2s, tolerance: { maxErrorRate: 0 } } ]
targets: { names: [ "${b1}" ], mode: one }
method:
  - { kind: container.pause, duration: 60s }
  - { kind: proxy.latency, proxy: backend-2, latency: 5ms, duration: 60s }
blastRadius: { maxTargets: 2 }
guard:
  interval: 250ms
  failuresToAbort: 1
  probes: [ { name: guard, type: http, url: "\${FRONT}/", requests: 2, timeout: 1s, tolerance: { maxErrorRate: 0 } } ]
afterCheck: { recoveryTimeout: 30s }
`,
      stack,
    );
    const { workflowId } = await startExperiment(fc, exp, { taskQueue: TQ });
    for (let i = 0; ; i++) {
      const j = (await getStatus(fc, workflowId)).journal;
      if (j?.phase === 'observing') break;
      if (i > 600 || j?.verdict) throw new Error(`the run never reached its fault window: ${j?.verdict}: ${j?.reason}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await containerState(b1)).toBe('paused');
    expect(await toxicsOn('backend-2')).toHaveLength(1);
    // The service breaks: every other backend paused by hand (the guard's failure, not a fault of the run).
    await Promise.all(others.map((n) => docker.getContainer(n).pause()));
    let j;
    try {
      j = await waitForResult(fc, workflowId);
    } finally {
      await Promise.all(others.map((n) => docker.getContainer(n).unpause()));
    }
    expect(j.verdict, j.reason).toBe('aborted');
    expect(j.abort?.by).toBe('guard');
    expect(j.faults.map((f) => [f.kind, f.status, f.revertedBy])).toEqual([
      ['container.pause', 'reverted', 'guard'],
      ['proxy.latency', 'reverted', 'guard'],
    ]);
    // Gone from inside the target: the container runs commands again, the route carries no rule.
    expect(await containerState(b1)).toBe('running');
    expect(await execInside(b1, ['node', '-e', 'process.exit(0)'])).toBe(0);
    expect(await toxicsOn('backend-2')).toEqual([]);
    expect(j.detectToRevertMs).toBeGreaterThanOrEqual(0);
  });
});
