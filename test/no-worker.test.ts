// Commands that need a worker say so when none polls their task queue, instead of waiting (policy apply
// used to wait 12 minutes with no word): the real CLI against the real dev server, on task queues no worker
// ever polled. Each asserts the one-line message (naming the queue and how to start a worker), the exit code
// (3, like every "cannot reach") and that nothing was done; a wait with a --timeout gives up with a line
// saying what goes on. Commands that succeed without a worker (run without --wait, status) warn instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { connectClient, startExperiment, type FaultlineClient } from '../cli/client.ts';
import { temporalTarget } from '../config.ts';
import { admissionWorkflowId } from '../activities/control.ts';
import { parseExperimentFile } from '../experiments/parse.ts';
import { runCli, uniqueId, workflowBundle } from './helpers.ts';

const EXAMPLE = 'experiments/examples/kill-one-backend.yaml';
const POLICY = 'experiments/examples/policy.yaml';
const GAMEDAY = 'experiments/examples/gameday.yaml';
let fc: FaultlineClient;
const started: string[] = [];

beforeAll(async () => {
  fc = await connectClient();
});

afterAll(async () => {
  // Nothing is left running for later files (revert --all would wait for these).
  for (const id of started)
    await fc.client.workflow
      .getHandle(id)
      .terminate('no-worker test done')
      .catch(() => undefined);
  await fc?.close();
});

const noWorker = (tq: string, what: string) =>
  new RegExp(
    `^faultline: no worker polls task queue ${tq}: ${what} needs one; start one with \`faultline worker --task-queue ${tq}\`\n$`,
  );

async function exists(workflowId: string): Promise<boolean> {
  try {
    await fc.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

describe('no worker polls the task queue', () => {
  it('policy apply says so and exits 3; no admission workflow is started', async () => {
    const tq = uniqueId('nowk-policy');
    const r = await runCli(['policy', 'apply', POLICY, '--task-queue', tq]);
    expect(r.stderr).toMatch(noWorker(tq, 'policy apply'));
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(await exists(admissionWorkflowId(tq))).toBe(false);
    // Bad input is still input: exit 2, before anything is asked of Temporal.
    const bad = await runCli(['policy', 'apply', POLICY, '--task-queue', tq, '--timeout', 'soon']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('faultline: --timeout: "soon" is not a duration (e.g. 30s, 5m, 1h)\n');
  });

  it('admission approve, lever pull and lever release say so and exit 3; the lever is not pulled', async () => {
    const tq = uniqueId('nowk-adm');
    for (const [args, what] of [
      [['admission', 'approve', 'some-run', '--who', 'lead'], 'admission approve'],
      [['lever', 'pull', '--reason', 'incident'], 'lever pull'],
      [['lever', 'release'], 'lever release'],
    ] as const) {
      const r = await runCli([...args, '--task-queue', tq]);
      expect(r.stderr).toMatch(noWorker(tq, what));
      expect(r.status).toBe(3);
    }
    expect(await exists(admissionWorkflowId(tq))).toBe(false);
  });

  it('policy show: the default policy when no admission workflow exists; when one exists, says its worker is missing', async () => {
    const tq = uniqueId('nowk-show');
    const fresh = await runCli(['policy', 'show', '--task-queue', tq, '--json']);
    expect(fresh.status, fresh.stderr).toBe(0);
    const state = JSON.parse(fresh.stdout) as { holds: unknown[]; lever?: unknown; policy: { source?: string } };
    expect([state.holds, state.lever, state.policy.source]).toEqual([[], undefined, undefined]); // the default
    // The admission workflow of the queue exists (its worker gone): its state needs that worker.
    await fc.client.workflow.start('admission', { taskQueue: tq, workflowId: admissionWorkflowId(tq), args: [{}] });
    started.push(admissionWorkflowId(tq));
    const r = await runCli(['policy', 'show', '--task-queue', tq]);
    expect(r.stderr).toMatch(noWorker(tq, 'policy show'));
    expect(r.status).toBe(3);
  });

  it('run --wait says so and starts nothing; run without --wait starts the run and warns', async () => {
    const tq = uniqueId('nowk-run');
    const waited = await runCli(['run', EXAMPLE, '--wait', '--task-queue', tq]);
    expect(waited.stderr).toMatch(noWorker(tq, 'run --wait'));
    expect(waited.status).toBe(3);
    expect(waited.stdout).toBe(''); // nothing started: no "started ..." line
    const submitted = await runCli(['run', EXAMPLE, '--task-queue', tq, '--json']);
    expect(submitted.status, submitted.stderr).toBe(0);
    expect(submitted.stderr).toBe(
      `warning: no worker polls task queue ${tq}: the run is started and waits until one starts (\`faultline worker --task-queue ${tq}\`)\n`,
    );
    const { workflowId } = JSON.parse(submitted.stdout) as { workflowId: string };
    started.push(workflowId);
    expect(await exists(workflowId)).toBe(true);
  });

  it("a running run's status warns, its report says so (exit 3), and abort gives up after its --timeout", async () => {
    const tq = uniqueId('nowk-abort');
    const parsed = await parseExperimentFile(EXAMPLE);
    if (!parsed.ok) throw new Error('the example does not validate');
    const { workflowId } = await startExperiment(fc, parsed.experiment, { taskQueue: tq });
    started.push(workflowId);

    const status = await runCli(['status', workflowId]);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stderr).toBe(
      `warning: no worker polls task queue ${tq}: its live journal needs one; start one with \`faultline worker --task-queue ${tq}\`\n`,
    );
    expect(status.stdout).toContain(`${workflowId}: RUNNING`);

    const report = await runCli(['report', workflowId]);
    expect(report.stderr).toMatch(noWorker(tq, `the report of the running run ${workflowId}`));
    expect(report.status).toBe(3);

    const abort = await runCli(['abort', workflowId, '--reason', 'test', '--timeout', '2s']);
    const lines = abort.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `no worker is polling task queue ${tq}: the abort is recorded and its faults are reverted as soon as a worker runs (faultline worker); waiting`,
    );
    expect(lines.at(-1)).toMatch(new RegExp(`^faultline: the abort of ${workflowId}: no answer within 2s; `));
    expect(abort.status).toBe(3);
  });

  it('gameday run --wait says so and starts nothing; run without --wait starts it and warns; the rest say so (exit 3) and change nothing', async () => {
    const tq = uniqueId('nowk-gameday');
    const waited = await runCli(['gameday', 'run', GAMEDAY, '--wait', '--task-queue', tq]);
    expect(waited.stderr).toMatch(noWorker(tq, 'gameday run --wait'));
    expect(waited.status).toBe(3);
    expect(waited.stdout).toBe(''); // nothing started
    const bad = await runCli(['gameday', 'run', GAMEDAY, '--wait', '--timeout', 'soon', '--task-queue', tq]);
    expect(bad.stderr).toBe('faultline: --timeout: "soon" is not a duration (e.g. 30s, 5m, 1h)\n');
    expect(bad.status).toBe(2);
    const submitted = await runCli(['gameday', 'run', GAMEDAY, '--task-queue', tq, '--json']);
    expect(submitted.status, submitted.stderr).toBe(0);
    expect(submitted.stderr).toBe(
      `warning: no worker polls task queue ${tq}: the game day is started and waits until one starts (\`faultline worker --task-queue ${tq}\`)\n`,
    );
    const { workflowId } = JSON.parse(submitted.stdout) as { workflowId: string };
    started.push(workflowId);
    expect(await exists(workflowId)).toBe(true);

    const status = await runCli(['gameday', 'status', workflowId]);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stderr).toBe(
      `warning: no worker polls task queue ${tq}: its live journal needs one; start one with \`faultline worker --task-queue ${tq}\`\n`,
    );
    expect(status.stdout).toContain(`${workflowId}: RUNNING`);
    for (const [args, what] of [
      [['approve', workflowId, '--who', 'bob', '--step', 'go-no-go'], 'gameday approve'],
      [['note', workflowId, 'a note', '--who', 'bob'], 'gameday note'],
      [['skip', workflowId, 'warm-up'], 'gameday skip'],
      [['abort', workflowId, '--reason', 'test'], 'gameday abort'],
    ] as const) {
      const r = await runCli(['gameday', ...args]);
      expect(r.stderr, what).toMatch(noWorker(tq, what));
      expect(r.status, what).toBe(3);
    }
    const report = await runCli(['report', workflowId]);
    expect(report.stderr).toMatch(noWorker(tq, `the report of the running game day ${workflowId}`));
    expect(report.status).toBe(3);
    // Nothing changed: no update reached it (each would be an event in its history).
    const events = (await fc.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    expect(
      events.filter(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionSignaledEventAttributes,
      ),
    ).toEqual([]);
  });

  it('gameday run --wait gives up after its --timeout when no worker runs its experiments, saying the game day goes on (exit 3)', async () => {
    // A worker of the queue's workflows only (no activities): the game day starts and its first experiment
    // waits for an activity worker that never comes. The game day waits; the command does not.
    const tq = uniqueId('nowk-gameday-wait');
    const connection = await NativeConnection.connect({ address: temporalTarget().connection.address });
    const worker = await Worker.create({
      connection,
      namespace: temporalTarget().namespace,
      taskQueue: tq,
      workflowBundle: await workflowBundle(),
    });
    const running = worker.run();
    try {
      const r = await runCli(['gameday', 'run', GAMEDAY, '--wait', '--timeout', '3s', '--task-queue', tq]);
      const id = /^started (\S+)/.exec(r.stdout)?.[1];
      if (id) started.push(id);
      expect(id, r.stdout + r.stderr).toBeTruthy();
      expect(r.stderr).toMatch(
        new RegExp(
          `^faultline: game day ${id}: no answer within 3s; it goes on: \`faultline gameday status ${id}\`, \`faultline gameday abort ${id} --reason TEXT\`\n$`,
        ),
      );
      expect(r.status).toBe(3);
      expect((await fc.client.workflow.getHandle(id as string).describe()).status.name).toBe('RUNNING');
      await fc.client.workflow.getHandle(id as string).terminate('no-worker test done');
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  });
});
