// The fleet sweep workflow (workflows/sweep.ts) on the time-skipping test server, with mocked sweep
// activities: the open runs are read once and handed to every host's own agent (on the host's task queue)
// and to the proxy's sweep; a host nobody serves is reported unreachable, never waited for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { OpenRunsWire } from '../../activities/sweep.ts';
import type { Orphan, SweepFound } from '../../warden/sweep.ts';
import {
  SWEEP_TYPE,
  type SweepActivityOptions,
  type SweepHostRef,
  type SweepInput,
  type SweepReport,
} from '../../definitions/sweep.ts';
import {
  callsOf,
  mockActivities,
  startWorker,
  taskQueue,
  timeSkippingEnv,
  type TestWorker,
} from './support/workflow-env.ts';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await timeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const OPEN: OpenRunsWire = { ids: ['run-live'], toxics: ['faultline-run-live-0'], unreadable: ['run-mute'] };

const orphan = (host: string, target: string): Orphan => ({
  host,
  type: 'container-fault',
  what: 'container.pause',
  target,
  workflowId: 'run-gone',
  applied: true,
  leaseId: `lease-${target}`,
});

/**
 * A fleet: the fleet queue's worker (open runs, hosts, proxy) and one agent per host in `serve`, each
 * answering its own host's sweep with `found[host]` (or failing with its error).
 */
async function sweep(
  input: Omit<SweepInput, 'hosts'> & { hosts: (fleet: string) => SweepHostRef[] },
  opts: { serve: string[]; found: Record<string, SweepFound | Orphan[] | Error>; proxy?: () => Promise<unknown> },
) {
  const fleet = taskQueue('fleet');
  const hosts = input.hosts(fleet);
  const mocks = mockActivities({
    sweepOpenRuns: async () => OPEN,
    sweepHosts: async () => hosts,
    sweepProxy: opts.proxy ?? (async () => ({ proxy: 'faultline-proxy', orphans: [], spared: [] })),
    sweepHost: async (_open: OpenRunsWire, _fix: boolean, _opts: SweepActivityOptions) => {
      const host = hosts.find((h) => h.taskQueue === Context.current().info.taskQueue)?.host ?? '?';
      const r = opts.found[host] ?? { orphans: [], spared: [] };
      if (r instanceof Error) throw r;
      return r;
    },
  });
  const workers: TestWorker[] = [await startWorker(env, { taskQueue: fleet, activities: mocks.activities })];
  try {
    for (const h of hosts.filter((x) => opts.serve.includes(x.host)))
      workers.push(await startWorker(env, { taskQueue: h.taskQueue, activities: mocks.activities }));
    const report = (await env.client.workflow.execute(SWEEP_TYPE, {
      taskQueue: fleet,
      workflowId: `sweep-${fleet}`,
      args: [{ fix: input.fix, hostWaitMs: input.hostWaitMs }],
    })) as SweepReport;
    return { report, calls: mocks.calls, fleet, hosts };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

const at = (fleet: string, host: string, agents = 1): SweepHostRef => ({ host, taskQueue: `${fleet}@${host}`, agents });

describe('sweep workflow', () => {
  it("reads the open runs once and sweeps each host on its own agent's queue with them, then the proxy", async () => {
    const { report, calls, fleet } = await sweep(
      { fix: true, hosts: (f) => [at(f, 'alpha'), at(f, 'beta')] },
      {
        serve: ['alpha', 'beta'],
        found: { alpha: { orphans: [orphan('alpha', 'api-1')], spared: [] }, beta: [orphan('beta', 'api-2')] },
        proxy: async () => ({ proxy: 'faultline-proxy', orphans: [], spared: [] }),
      },
    );
    expect(callsOf(calls, 'sweepOpenRuns')).toHaveLength(1);
    const perHost = callsOf(calls, 'sweepHost');
    expect(perHost.map((c) => c.taskQueue).sort()).toEqual([`${fleet}@alpha`, `${fleet}@beta`]);
    const started = Date.parse(report.startedAt ?? '');
    for (const c of [...perHost, ...callsOf(calls, 'sweepProxy')]) {
      expect(c.args[0]).toEqual(OPEN);
      expect(c.args[1]).toBe(true);
      // Nothing granted after the sweep began may be swept: every sweep is told when it began.
      expect(c.args[2]).toEqual({ startedAt: report.startedAt, fleetQueue: fleet });
      expect(c.at).toBeGreaterThanOrEqual(started);
    }
    expect(report.orphans.map((o) => `${o.host}:${o.target}`).sort()).toEqual(['alpha:api-1', 'beta:api-2']);
    expect(report).toMatchObject({ fix: true, unreachable: [], openRuns: ['run-live'], unreadable: ['run-mute'] });
    expect(report.proxy).toBe('faultline-proxy');
  });

  it('a host with no agent, one whose agent never takes its sweep, a failing host and a failing proxy are reported; the findings of the rest kept', async () => {
    const { report, calls } = await sweep(
      {
        fix: true,
        // An activity nobody picks up holds the test server's clock: its schedule-to-start runs in real time.
        hostWaitMs: 1_000,
        hosts: (f) => [
          at(f, 'alpha'),
          { ...at(f, 'gone', 0), lastSeen: '2026-01-01T00:00:00.000Z' },
          at(f, 'silent'),
          at(f, 'broken'),
        ],
      },
      {
        serve: ['alpha', 'broken'],
        found: {
          alpha: [orphan('alpha', 'api-1')],
          broken: ApplicationFailure.nonRetryable('ledger unreadable', 'InfrastructureError'),
        },
        proxy: async () => {
          throw ApplicationFailure.nonRetryable('proxy admin API refused', 'InfrastructureError');
        },
      },
    );
    // Nothing is scheduled for the host with no agent; the silent host's sweep is never taken.
    expect(
      callsOf(calls, 'sweepHost')
        .map((c) => c.taskQueue.replace(/.*@/, ''))
        .sort(),
    ).toEqual(['alpha', 'broken']);
    expect(report.orphans.map((o) => `${o.host}:${o.target}`)).toEqual(['alpha:api-1']);
    expect([...report.unreachable].sort((a, b) => a.host.localeCompare(b.host))).toEqual([
      { host: 'broken', reason: 'InfrastructureError: ledger unreadable' },
      { host: 'fault proxy', reason: 'InfrastructureError: proxy admin API refused' },
      {
        host: 'gone',
        reason: expect.stringMatching(/^no agent polls task queue .*@gone \(last seen 2026-01-01T00:00:00.000Z\)$/),
      },
      { host: 'silent', reason: expect.stringMatching(/^no agent took its sweep on task queue .*@silent within 1 s$/) },
    ]);
  });
});
