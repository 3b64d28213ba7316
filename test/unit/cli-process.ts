// The CLI in a child process for unit tests: nothing listens at the Temporal address they give it, so a
// command that got past validation could not start anything (and would exit 3, not 2).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config.ts';

export function runCli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
