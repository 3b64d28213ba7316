// Host presence (workflows/host.ts) on the time-skipping test server, through the registry's own functions
// (activities/hosts.ts): a registration lives as long as its workflow, costs nothing while it waits (a month
// of skipped time adds no event), survives its agents, and is retired without any worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { forgetHost, registered, registerHost } from '../../activities/hosts.ts';
import { HostConflict, InvalidInput } from '../../errors.ts';
import { hostWorkflowId, type HostRecord } from '../../experiments/hosts.ts';
import { startWorker, taskQueue, timeSkippingEnv } from './support/workflow-env.ts';

const EventType = temporal.api.enums.v1.EventType;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const record = (fleetQueue: string, over: Partial<HostRecord> = {}): HostRecord => ({
  host: 'alpha',
  fleetQueue,
  daemonId: 'DAEMON-A',
  daemonName: 'alpha-docker',
  dockerHost: 'unix:///var/run/docker.sock',
  registeredAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

/** The number of events once the agent completed its first workflow task (its presence is then waiting). */
async function settledHistory(h: WorkflowHandle): Promise<number> {
  for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
    const events = (await h.fetchHistory()).events ?? [];
    if (events.some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) return events.length;
  }
  throw new Error('the host agent never ran its presence workflow');
}

describe('host presence workflow', () => {
  it('holds its registration for a month of skipped time with no new event, then is forgotten', async () => {
    const fleet = taskQueue('fleet');
    const rec = record(fleet);
    const agent = await startWorker(env, { taskQueue: `${fleet}@alpha` });
    try {
      expect(await registerHost(env.client, rec)).toEqual({ standby: false });
      const h = env.client.workflow.getHandle(hostWorkflowId(fleet, 'alpha'));
      const before = await settledHistory(h);
      const t0 = await env.currentTimeMs();
      await env.sleep(30 * 24 * 3_600_000);
      expect((await env.currentTimeMs()) - t0).toBeGreaterThanOrEqual(30 * 24 * 3_600_000);
      expect(await registered(env.client, fleet, 'alpha')).toEqual(rec);
      expect((await h.describe()).status.name).toBe('RUNNING');
      expect((await h.fetchHistory()).events?.length).toBe(before);

      // A second agent of the same daemon is a standby; another daemon under the same name is refused.
      expect(await registerHost(env.client, { ...rec, registeredAt: '2026-02-01T00:00:00.000Z' })).toEqual({
        standby: true,
      });
      await expect(registerHost(env.client, record(fleet, { daemonId: 'DAEMON-B' }))).rejects.toThrow(HostConflict);
      expect(await registered(env.client, fleet, 'alpha')).toEqual(rec);
    } finally {
      await agent.stop();
    }
    // Retired with no agent running at all.
    await forgetHost(env.client, fleet, 'alpha', 'bob');
    expect(await registered(env.client, fleet, 'alpha')).toBeUndefined();
    await expect(forgetHost(env.client, fleet, 'alpha')).rejects.toThrow(InvalidInput);
  });

  it('a host registered while none of its agents runs is registered all the same', async () => {
    const fleet = taskQueue('fleet');
    await registerHost(env.client, record(fleet, { host: 'beta' }));
    expect((await registered(env.client, fleet, 'beta'))?.daemonId).toBe('DAEMON-A');
    await forgetHost(env.client, fleet, 'beta');
    expect(await registered(env.client, fleet, 'beta')).toBeUndefined();
  });
});
