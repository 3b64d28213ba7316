// Records game-day histories for test/unit/replay-gameday.test.ts: the game-day workflow of this checkout,
// with the stand-in experiment child of gameday-workflows.ts, on its own Temporal dev server (free ports,
// throw-away database), driven through the cases below with the messages an old client sends (an approval
// without a step name). Written once, from the code before a change, so the new code is proven to replay
// them; never re-record them with newer code.
//
//   npx tsx scripts/record-gameday-histories.ts [DIR [CASE...]]
//   GD_PREFIX=main-loop- npx tsx scripts/record-gameday-histories.ts   (files and workflow IDs get the prefix,
//   so histories of a newer checkout sit beside the older ones: the replay test derives each ID from its file)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { freePort, startDevServer, temporalBinary } from '../cli/dev-server.ts';
import type { GameDayInput, GameDayJournal, GameDayStep } from '../experiments/gameday-types.ts';
import type { Experiment } from '../experiments/schema.ts';
import {
  abortGameDayUpdate,
  addNoteUpdate,
  approveGateUpdate,
  gameDayQuery,
  skipStepUpdate,
} from '../definitions/gameday.ts';

const prefix = process.env.GD_PREFIX ?? '';
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(process.argv[2] ?? path.join(here, '..', 'test', 'fixtures', 'gameday-histories'));
mkdirSync(outDir, { recursive: true });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'faultline-gd-record-'));
const server = await startDevServer({
  dbFile: path.join(tmp, 'temporal.db'),
  port: await freePort(),
  uiPort: await freePort(),
  logFile: path.join(tmp, 'temporal.log'),
});
const { NativeConnection, Worker } = await import('@temporalio/worker'); // as scripts/record-histories.ts
const taskQueue = 'gameday-record';
const nc = await NativeConnection.connect({ address: server.address });
const worker = await Worker.create({
  connection: nc,
  taskQueue,
  workflowsPath: path.join(here, '..', 'test', 'unit', 'gameday-workflows.ts'),
});
const running = worker.run();
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });

export const exp = (title: string) => ({
  experiment: { title, method: [{ kind: 'container.pause' }] } as unknown as Experiment,
  file: `${title.replace(/\W+/g, '-')}.yaml`,
});
const step = (
  name: string,
  titles: string[],
  onFailure: 'stop' | 'continue' | 'ask' = 'stop',
  deadline?: string,
): GameDayStep => ({
  name,
  kind: 'experiments',
  experiments: titles.map(exp),
  onFailure,
  ...(deadline ? { deadline } : {}),
});
const gate = (name: string): GameDayStep => ({ name, kind: 'gate', text: `${name}?` });
const note = (name: string): GameDayStep => ({ name, kind: 'note', text: `${name}.` });
const input = (title: string, steps: GameDayStep[], searchAttributes = false): GameDayInput => ({
  title,
  owner: 'alice',
  approvers: ['bob', 'carol'],
  observers: ['dave'],
  steps,
  searchAttributes,
});

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
}
const waitingAt = (h: WorkflowHandle, s: string) =>
  until(`waiting at ${s}`, async () => (await h.query(gameDayQuery)).waitingAt === s);
const stepIs = (h: WorkflowHandle, s: string, status: string) =>
  until(`${s} ${status}`, async () => (await h.query(gameDayQuery)).steps.find((x) => x.name === s)?.status === status);

function save(name: string, h: WorkflowHandle, j: GameDayJournal): void {
  const json = execFileSync(
    temporalBinary(),
    ['workflow', 'show', '--workflow-id', h.workflowId, '--output', 'json', '--address', server.address],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  writeFileSync(path.join(outDir, `${name}.json`), json.endsWith('\n') ? json : `${json}\n`);
  console.log(`${name}: ${j.verdict} (${j.steps.map((s) => `${s.name} ${s.status}`).join(', ')})`);
}

const cases: Record<string, () => Promise<void>> = {
  // A note, a gate with a note and an approval, a passed step, a refuted step under `continue`, a
  // parallel step with an aborted child under `ask` answered by an approver, a second gate, a last step.
  'continue-and-ask': async () => {
    const h = await client.workflow.start('runGameDay', {
      taskQueue,
      workflowId: `gd-${prefix}continue-and-ask`,
      args: [
        input('continue and ask', [
          note('intro'),
          gate('go-no-go'),
          step('warm-up', ['passed']),
          step('breaks', ['refuted'], 'continue'),
          step('latency-and-pause', ['aborted', 'passed after 1s'], 'ask'),
          gate('second'),
          step('last', ['passed']),
        ]),
      ],
    });
    await waitingAt(h, 'go-no-go');
    await h.executeUpdate(addNoteUpdate, { args: [{ who: 'dave', text: 'dashboards green' }] });
    await h.executeUpdate(approveGateUpdate, { args: [{ who: 'bob' }] });
    await waitingAt(h, 'latency-and-pause');
    await h.executeUpdate(approveGateUpdate, { args: [{ who: 'bob' }] });
    await waitingAt(h, 'second');
    await h.executeUpdate(approveGateUpdate, { args: [{ who: 'alice' }] });
    save(`${prefix}continue-and-ask`, h, await h.result());
  },
  // Two gates in a row: bob opens the first, carol's approval (meant for the first, sent late, no step
  // name) opens the second.
  'late-approval': async () => {
    const h = await client.workflow.start('runGameDay', {
      taskQueue,
      workflowId: `gd-${prefix}late-approval`,
      args: [input('late approval', [gate('a'), gate('b'), step('after', ['passed'])])],
    });
    await waitingAt(h, 'a');
    await h.executeUpdate(approveGateUpdate, { args: [{ who: 'bob' }] });
    await waitingAt(h, 'b');
    await h.executeUpdate(approveGateUpdate, { args: [{ who: 'carol' }] });
    save(`${prefix}late-approval`, h, await h.result());
  },
  // A step past its deadline under `continue`, a step skipped while it runs, a gate skipped while it
  // waits, a pending step skipped before it starts.
  'deadline-and-skips': async () => {
    const h = await client.workflow.start('runGameDay', {
      taskQueue,
      workflowId: `gd-${prefix}deadline-and-skips`,
      args: [
        input('deadline and skips', [
          step('slow', ['passed after 1h'], 'continue', '2s'),
          step('skip-me', ['passed after 1h']),
          gate('gate'),
          step('never', ['passed']),
          step('end', ['passed']),
        ]),
      ],
    });
    await h.executeUpdate(skipStepUpdate, { args: [{ step: 'never', who: 'alice' }] });
    await stepIs(h, 'skip-me', 'running');
    await until('skip-me has its child', async () => !!(await h.query(gameDayQuery)).steps[1]?.children.length);
    await h.executeUpdate(skipStepUpdate, { args: [{ step: 'skip-me', who: 'alice' }] });
    await waitingAt(h, 'gate');
    await h.executeUpdate(skipStepUpdate, { args: [{ step: 'gate', who: 'bob' }] });
    save(`${prefix}deadline-and-skips`, h, await h.result());
  },
  // A refuted step under `ask`, aborted while it waits for the answer.
  'abort-at-ask': async () => {
    const h = await client.workflow.start('runGameDay', {
      taskQueue,
      workflowId: `gd-${prefix}abort-at-ask`,
      args: [input('abort at ask', [step('breaks', ['refuted'], 'ask'), step('after', ['passed'])])],
    });
    await waitingAt(h, 'breaks');
    await h.executeUpdate(abortGameDayUpdate, { args: [{ who: 'alice', reason: 'enough' }] });
    save(`${prefix}abort-at-ask`, h, await h.result());
  },
  // A gate approved, then a running parallel step aborted (both children cancelled and reverted).
  'gate-then-abort': async () => {
    const h = await client.workflow.start('runGameDay', {
      taskQueue,
      workflowId: `gd-${prefix}gate-then-abort`,
      args: [
        input('gate then abort', [
          gate('go'),
          step('long', ['passed after 1h', 'passed after 2h'], 'stop', '3h'),
          note('after'),
        ]),
      ],
    });
    await waitingAt(h, 'go');
    await h.executeUpdate(approveGateUpdate, { args: [{ who: 'bob' }] });
    await until('both children run', async () => (await h.query(gameDayQuery)).steps[1]?.children.length === 2);
    await h.executeUpdate(abortGameDayUpdate, { args: [{ who: 'alice', reason: 'incident' }] });
    save(`${prefix}gate-then-abort`, h, await h.result());
  },
  // With Faultline's search attributes (the verdict is upserted at the end): a refuted step under
  // `continue`, then a passed one.
  'search-attributes': async () => {
    const h = await client.workflow.start('runGameDay', {
      taskQueue,
      workflowId: `gd-${prefix}search-attributes`,
      args: [input('search attributes', [step('breaks', ['refuted'], 'continue'), step('after', ['passed'])], true)],
    });
    save(`${prefix}search-attributes`, h, await h.result());
  },
  // A refuted step under `stop`: the rest is skipped.
  stop: async () => {
    const h = await client.workflow.start('runGameDay', {
      taskQueue,
      workflowId: `gd-${prefix}stop`,
      args: [input('stop', [step('breaks', ['passed', 'refuted']), gate('never'), step('after', ['passed'])])],
    });
    save(`${prefix}stop`, h, await h.result());
  },
};

try {
  const only = process.argv.slice(3);
  for (const [name, run] of Object.entries(cases)) if (!only.length || only.includes(name)) await run();
} finally {
  worker.shutdown();
  await running;
  await nc.close();
  await connection.close();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
