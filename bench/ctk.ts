// Chaos Toolkit (PyPI) as the peer in benchmarks: installed into .tools/ctk (never committed), run against
// one of our own containers with `docker pause` / `docker unpause` as its action and rollback. Shared by
// bench:crash and bench:dead-runner. Loopback and our own containers only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Dockerode from 'dockerode';
import { PROJECT_ROOT } from '../config.ts';

const docker = new Dockerode();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const LEAK_AFTER_MS = 30_000;
const CTK = path.join(PROJECT_ROOT, '.tools', 'ctk', 'bin', 'chaos');
// The venv's own interpreter runs the script: its shebang names the worktree the venv was created in, which
// may be gone (.tools is shared between worktrees).
const PYTHON = path.join(PROJECT_ROOT, '.tools', 'ctk', 'bin', 'python3');

export function ensureChaosToolkit(): void {
  if (existsSync(CTK)) return;
  console.log('installing Chaos Toolkit from PyPI into .tools/ctk …');
  const venv = spawnSync('python3', ['-m', 'venv', path.join(PROJECT_ROOT, '.tools', 'ctk')], { stdio: 'inherit' });
  const pip =
    venv.status === 0 &&
    spawnSync(path.join(PROJECT_ROOT, '.tools', 'ctk', 'bin', 'pip'), ['install', '-q', 'chaostoolkit'], {
      stdio: 'inherit',
    });
  if (!pip || pip.status !== 0) throw new Error('could not install chaostoolkit');
}

async function state(name: string): Promise<string> {
  return (await docker.getContainer(name).inspect()).State.Status;
}

export async function waitState(name: string, want: string, timeoutMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if ((await state(name)) === want) return Date.now() - t0;
    await sleep(20);
  }
  return undefined;
}

export function killed(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

function ctkExperiment(backend: string, frontUrl: string): object {
  return {
    version: '1.0.0',
    title: 'pause one backend',
    description: "the same fault as Faultline's run",
    'steady-state-hypothesis': {
      title: 'front answers',
      probes: [
        { type: 'probe', name: 'front', tolerance: 200, provider: { type: 'http', url: `${frontUrl}/`, timeout: 2 } },
      ],
    },
    method: [
      {
        type: 'action',
        name: 'pause',
        provider: { type: 'process', path: 'docker', arguments: ['pause', backend] },
        pauses: { after: 60 },
      },
    ],
    rollbacks: [
      {
        type: 'action',
        name: 'unpause',
        provider: { type: 'process', path: 'docker', arguments: ['unpause', backend] },
      },
    ],
  };
}

export interface Row {
  tool: string;
  scenario: string;
  revertedAfterMs?: number;
  leaked: boolean;
  note: string;
}

export async function chaosToolkit(
  scenario: 'sigkill' | 'abort',
  backend: string,
  frontUrl: string,
  dir: string,
): Promise<Row> {
  const file = path.join(dir, `ctk-${scenario}.json`);
  writeFileSync(file, JSON.stringify(ctkExperiment(backend, frontUrl)));
  const child = spawn(
    PYTHON,
    [
      CTK,
      '--no-version-check',
      '--log-file',
      path.join(dir, `ctk-${scenario}.log`),
      'run',
      '--journal-path',
      path.join(dir, `journal-${scenario}.json`),
      file,
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  // A runner that cannot start (e.g. a broken venv) fails the bench with its reason, so the caller's cleanup runs.
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  spawnFailed.catch(() => undefined);
  if ((await Promise.race([waitState(backend, 'paused', 60_000), spawnFailed])) === undefined)
    throw new Error('chaos toolkit never paused the backend');
  await sleep(1000);
  const t0 = Date.now();
  if (scenario === 'sigkill') await killed(child, 'SIGKILL');
  else child.kill('SIGINT');
  const back = await waitState(backend, 'running', LEAK_AFTER_MS);
  await killed(child, 'SIGKILL');
  if (back === undefined) await docker.getContainer(backend).unpause(); // clean up what the peer leaked
  return {
    tool: 'Chaos Toolkit 1.19 (default rollback strategy)',
    scenario: scenario === 'sigkill' ? 'runner SIGKILLed mid-fault' : 'operator abort (Ctrl-C)',
    revertedAfterMs: back === undefined ? undefined : Date.now() - t0,
    leaked: back === undefined,
    note: back === undefined ? `still paused ${LEAK_AFTER_MS / 1000} s later; rollback never ran` : 'rollback ran',
  };
}
