// Chaos Toolkit's own code on journals Faultline wrote: chaostoolkit-lib in .tools/ctk (scripts/setup.sh installs
// it from PyPI, with the toxiproxy extension the proxy faults' actions name) runs scripts/ctk/check-journal.py:
// its loader, its experiment validation, its own tolerance check against each recorded probe output.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config.ts';

export const CTK_PYTHON = path.join(PROJECT_ROOT, '.tools', 'ctk', 'bin', 'python3');

export interface CtkChecked {
  file: string;
  ok: boolean;
  problems: string[];
  /** Steady-state probe outputs chaoslib judged. */
  judged: number;
  status: string;
  deviated: boolean;
}

/**
 * Each journal file checked by chaostoolkit-lib. `docker` and `faultline` (a link to bin/faultline.mjs in
 * `scratch`/bin) are on PATH: chaoslib validates a process activity by finding its executable.
 */
export function checkWithChaosToolkit(files: string[], scratch: string): CtkChecked[] {
  if (!existsSync(CTK_PYTHON))
    throw new Error('Chaos Toolkit is not installed in .tools/ctk: run bash scripts/setup.sh');
  const bin = path.join(scratch, 'bin');
  mkdirSync(bin, { recursive: true });
  if (!existsSync(path.join(bin, 'faultline')))
    symlinkSync(path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), path.join(bin, 'faultline'));
  const r = spawnSync(CTK_PYTHON, [path.join(PROJECT_ROOT, 'scripts', 'ctk', 'check-journal.py'), ...files], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`check-journal.py exited ${r.status}: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as CtkChecked);
}
