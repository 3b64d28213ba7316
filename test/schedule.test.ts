// Schedules end to end: a `kind: Schedule` file becomes a real Temporal Schedule (checked through the
// server's schedule API), starts runs on its own, stops while paused, runs once on trigger, pauses itself
// with the reason as its note when a run aborts, and is gone after delete. The CLI does each step.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoStack } from '../demo/index.ts';
import { connectClient, type FaultlineClient } from '../cli/client.ts';
import type { ScheduledRunResult } from '../definitions/scheduled.ts';
import { inProcessWorker, runCli, uniqueId } from './helpers.ts';
import { freePort } from '../cli/dev-server.ts';
import { GAME_DAY_TYPE } from '../definitions/gameday.ts';

let stack: DemoStack;
let fc: FaultlineClient;
let stop: (() => Promise<void>) | undefined;
const dir = mkdtempSync(path.join(os.tmpdir(), 'faultline-schedule-'));
const TQ = uniqueId('sched');

beforeAll(async () => {
  stack = await demoUp({ prefix: uniqueId('fl-sch'), frontPort: await freePort(), proxyAdminPort: await freePort() });
  fc = await connectClient();
  stop = (await inProcessWorker(TQ)).stop;
});

afterAll(async () => {
  await stop?.();
  await fc?.close();
  if (stack) await demoDown({ prefix: stack.prefix });
});

function writeExperiment(name: string, guardUrl: string): void {
  writeFileSync(
    path.join(dir, name),
    `title: scheduled pause
hypothesis:
  statement: the front answers while one backend is frozen
  probes: [ { name: front-ok, type: http, url: "${stack.frontUrl}/", requests: 3, timeout: 2s } ]
targets: { names: [ ${stack.containers.backends[0]} ] }
method: [ { kind: container.pause, duration: 1s } ]
guard:
  interval: 250ms
  probes: [ { name: g, type: http, url: "${guardUrl}", requests: 1, timeout: 500ms } ]
`,
  );
}

const cli = async (...args: string[]) => {
  const r = await runCli([...args, '--json']);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

async function until<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never: ${what}`);
}

describe('schedules', () => {
  it('every few seconds: runs start, pause stops them, trigger starts one, delete removes it; the server lists it', async () => {
    writeExperiment('ok.yaml', `${stack.frontUrl}/`);
    const id = uniqueId('every').toLowerCase();
    const file = path.join(dir, 'every.yaml');
    writeFileSync(file, `kind: Schedule\nid: ${id}\nexperiment: ./ok.yaml\nevery: 4s\ncatchupWindow: 30s\n`);
    expect(await cli('schedule', 'create', file, '--task-queue', TQ)).toEqual({ scheduleId: id });

    // The server's own schedule API lists it (from visibility, which lags a creation by a moment), with the
    // interval and the short catch-up window.
    await until(async () => {
      for await (const s of fc.client.schedule.list()) if (s.scheduleId === id) return true;
      return undefined;
    }, `schedule ${id} listed by the server`);
    const desc = await fc.client.schedule.getHandle(id).describe();
    expect(desc.spec.intervals?.[0]?.every).toBe(4000);
    expect(desc.policies.catchupWindow).toBe(30_000);
    expect(desc.action.workflowType).toBe('scheduledRun');

    // It starts runs by itself; each run's experiment is a child workflow that passes.
    const first = await until(async () => {
      const d = await fc.client.schedule.getHandle(id).describe();
      return d.info.recentActions[0]?.action.workflow.workflowId;
    }, 'a first scheduled run');
    const r = (await fc.client.workflow.getHandle(first).result()) as ScheduledRunResult;
    expect(r.verdict, r.reason).toBe('passed');
    expect(r.pausedSchedule).toBe(false);

    // Paused (with a reason as the note): no new run starts.
    await cli('schedule', 'pause', id, '--reason', 'maintenance');
    const paused = (await cli('schedule', 'describe', id)) as { paused: boolean; note: string; actionsTaken: number };
    expect(paused).toMatchObject({ paused: true, note: 'maintenance' });
    await new Promise((res) => setTimeout(res, 9_000)); // two intervals
    const still = await fc.client.schedule.getHandle(id).describe();
    expect(still.info.numActionsTaken).toBe(paused.actionsTaken);

    // Trigger runs one now, even while paused.
    await cli('schedule', 'trigger', id);
    await until(async () => {
      const d = await fc.client.schedule.getHandle(id).describe();
      return d.info.numActionsTaken === paused.actionsTaken + 1 ? true : undefined;
    }, 'the triggered run');

    const rows = (await cli('schedule', 'list')) as unknown as { id: string; paused: boolean }[];
    expect(rows.find((x) => x.id === id)).toMatchObject({ paused: true });

    await cli('schedule', 'delete', id);
    await until(async () => {
      for await (const s of fc.client.schedule.list()) if (s.scheduleId === id) return undefined;
      return true;
    }, `schedule ${id} gone from the server's list`);
    const gone = await runCli(['schedule', 'describe', id]);
    expect(gone.status).toBe(2);
    expect(gone.stderr).toContain(`no schedule with ID ${id}`);
  });

  it('a schedule that runs a game day (one inline experiment): its action carries the game day compiled with it', async () => {
    const id = uniqueId('gd').toLowerCase();
    writeFileSync(
      path.join(dir, 'gd.yaml'),
      `kind: GameDay
title: scheduled game day
owner: alice
steps:
  - name: inline
    experiment:
      title: inline pause
      hypothesis: { statement: s, probes: [ { name: p, type: http, url: "${stack.frontUrl}/", requests: 1, timeout: 1s } ] }
      targets: { names: [ ${stack.containers.backends[0]} ] }
      method: [ { kind: container.pause, duration: 1s } ]
`,
    );
    const file = path.join(dir, 'gd.schedule.yaml');
    writeFileSync(file, `kind: Schedule\nid: ${id}\ngameDay: ./gd.yaml\nevery: 1h\npaused: true\n`);
    expect(await cli('schedule', 'create', file, '--task-queue', TQ)).toEqual({ scheduleId: id });
    const d = await fc.client.schedule.getHandle(id).describe();
    expect(d.state.paused).toBe(true);
    expect(d.action.type === 'startWorkflow' && d.action.args?.[0]).toMatchObject({
      scheduleId: id,
      childType: GAME_DAY_TYPE,
      title: 'Game day: scheduled game day',
      childArgs: [
        {
          title: 'scheduled game day',
          file: path.join(dir, 'gd.yaml'),
          searchAttributes: fc.searchAttributes,
          steps: [{ name: 'inline', kind: 'experiments', experiments: [{ experiment: { title: 'inline pause' } }] }],
        },
      ],
    });
    await cli('schedule', 'delete', id);
  });

  it('a run that ends aborted pauses its schedule, with the reason as the note', async () => {
    writeExperiment('abort.yaml', 'http://127.0.0.1:1/'); // the guard fails at once: aborted
    const id = uniqueId('abort').toLowerCase();
    const file = path.join(dir, 'abort.yaml.schedule.yaml');
    writeFileSync(file, `kind: Schedule\nid: ${id}\nexperiment: ./abort.yaml\nevery: 1h\n`);
    await cli('schedule', 'create', file, '--task-queue', TQ);
    await cli('schedule', 'trigger', id);
    const runId = await until(async () => {
      const d = await fc.client.schedule.getHandle(id).describe();
      return d.info.recentActions[0]?.action.workflow.workflowId;
    }, 'the triggered run');
    const r = (await fc.client.workflow.getHandle(runId).result()) as ScheduledRunResult;
    expect(r.verdict).toBe('aborted');
    expect(r.pausedSchedule).toBe(true);
    const d = await fc.client.schedule.getHandle(id).describe();
    expect(d.state.paused).toBe(true);
    expect(d.state.note).toMatch(new RegExp(`^paused by ${r.child}: aborted: `));
    await fc.client.schedule.getHandle(id).delete();
  });
});
