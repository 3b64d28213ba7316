// The Java test server must keep a long test file's connections. The TS client and the worker's native
// connection each send an HTTP/2 keepalive ping every 30 s, with or without a call open (the native one is
// not configurable in SDK 1.24); grpc-java's default server allows one every 5 minutes, and only while a
// call is open, and answers the third early ping with GOAWAY "too_many_pings" (ENHANCE_YOUR_CALM), closing
// the connection and every call on it: after about 90 s of real time ("rejected by server because of excess
// pings" from the client). scripts/test-server/KeepAliveTestServer.java starts the same server permitting a
// ping at any rate. This test pings faster than the clients do (every 1.5 s, no call open), so the stock
// server's GOAWAY comes within seconds; then a workflow round trip on the same server.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WORKFLOW_TYPE } from '../../definitions/experiment.ts';
import type { Journal } from '../../experiments/journal.ts';
import { taskQueue, timeSkippingEnv, withWorker } from './support/workflow-env.ts';
import { fakeChaos, runInput } from './support/fake-chaos.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** Pings the server `count` times, `everyMs` apart, on an HTTP/2 connection with no call open. */
async function pings(count: number, everyMs: number): Promise<{ answered: number; goaway?: number }> {
  const session = http2.connect(`http://${env.address}`);
  let goaway: number | undefined;
  session.on('goaway', (code: number) => void (goaway = code));
  session.on('error', () => undefined);
  let answered = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    for (let i = 0; i < count && goaway === undefined && !session.destroyed; i++) {
      await new Promise((r) => setTimeout(r, everyMs));
      const ok = await new Promise<boolean>((resolve) => {
        try {
          if (!session.ping((err) => resolve(!err))) resolve(false);
        } catch {
          resolve(false); // the server has closed the connection
        }
      });
      if (ok) answered++;
    }
    await new Promise((r) => setTimeout(r, 200)); // a GOAWAY sent after the last ping's answer
  } finally {
    session.destroy();
  }
  return { answered, goaway };
}

describe('the test server permits keepalive pings', () => {
  it('answers pings every 1.5 s without a call open, never GOAWAY too_many_pings; workflows run after', async () => {
    const r = await pings(5, 1_500);
    expect(r).toEqual({ answered: 5, goaway: undefined });
    const chaos = fakeChaos();
    const queue = taskQueue('keepalive');
    const j = (await withWorker(env, { taskQueue: queue, activities: chaos.activities }, () =>
      env.client.workflow.execute(WORKFLOW_TYPE, { taskQueue: queue, workflowId: 'keepalive', args: [runInput()] }),
    )) as Journal;
    expect(j.verdict).toBe('passed');
    expect(chaos.active.size).toBe(0);
  }, 120_000);
});
