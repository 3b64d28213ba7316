// npm run bench:dead-runner — how long does each fault outlive every runner? A fault of each kind is active
// (container faults injected and held by the host's `faultline agent`, a process apart from the fleet worker)
// when the agent, the worker AND the Temporal server are SIGKILLed and none is started again
// (test/dead-runner-scenario.ts);
// measured per kind: SIGKILL -> fault gone (the warden reverts container faults when their lease lapses; the
// proxy drops its toxics). In the same run, Chaos Toolkit's runner is SIGKILLed mid-pause (bench/ctk.ts):
// its rollback never runs. Writes bench/results/dead-runner.json and prints a table. Every kind that leaves
// something to undo is measured, the kernel kinds included (process.kill and container.restart leave nothing).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import Dockerode from 'dockerode';
import { ensureDemoImage } from '../demo/image.ts';
import { deadRunnerScenario } from '../test/dead-runner-scenario.ts';
import { runBench, writeResults } from './results-file.ts';
import { PROJECT_ROOT } from '../config.ts';
import { chaosToolkit, ensureChaosToolkit, LEAK_AFTER_MS } from './ctk.ts';

async function ctkRow() {
  ensureChaosToolkit();
  const docker = new Dockerode();
  const name = `fl-bench-ctk-${process.pid}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fl-bench-ctk-'));
  const web = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  try {
    const c = await docker.createContainer({ name, Image: await ensureDemoImage(docker), Env: ['ROLE=backend'] });
    await c.start();
    return await chaosToolkit('sigkill', name, `http://127.0.0.1:${(web.address() as { port: number }).port}`, dir);
  } finally {
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    await new Promise<void>((r) => web.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The commit measured (and whether the code under test had uncommitted changes). */
function gitCommit(): string {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  const dirty = git('status', '--porcelain', '--', 'faults', 'activities', 'warden', 'worker', 'workflows', 'test');
  return `${git('rev-parse', 'HEAD')}${dirty ? ' (with uncommitted changes)' : ''}`;
}

async function main(): Promise<void> {
  const commit = gitCommit();
  const load0 = os.loadavg();
  const { results, lapsed, agentHost } = await deadRunnerScenario({ log: (l) => console.log(l), kernelKinds: true });
  const ctk = await ctkRow();
  const fmt = (ms: number | null | undefined) => (ms == null ? `never (>${LEAK_AFTER_MS / 1000} s)` : `${ms} ms`);
  console.log(`\ncontainer faults held by the agent of host ${agentHost}; agent, worker and server SIGKILLed`);
  console.log('fault kind          | lease    | gone after every runner died | within lease + 2 s');
  for (const r of results)
    console.log(
      `${r.kind.padEnd(19)} | ${`${r.leaseMs} ms`.padEnd(8)} | ${fmt(r.goneAfterMs).padEnd(28)} | ${r.goneAfterMs !== null && r.goneAfterMs <= r.leaseMs + 2000 ? 'yes' : 'NO'}`,
    );
  console.log(
    `${'Chaos Toolkit pause'.padEnd(19)} | ${'none'.padEnd(8)} | ${fmt(ctk.revertedAfterMs).padEnd(28)} | ${ctk.leaked ? 'NO (leaked: rollback never ran)' : 'yes'}`,
  );
  writeResults('dead-runner', {
    commit,
    loadavg: { before: load0, after: os.loadavg() },
    runners: 'faultline agent + fleet worker + Temporal server, all SIGKILLed',
    faultline: results,
    revertedByWarden: lapsed.filter((l) => l.revertedAt).length,
    chaosToolkit: ctk,
  });
}

runBench(main);
