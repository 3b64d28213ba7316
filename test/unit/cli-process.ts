// The CLI in a child process for unit tests: nothing listens at the Temporal address they give it, so a
// command that got past validation could not start anything (and would exit 3, not 2).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config.ts';

export function runCli(args: string[], env: Record<string, string>, cwd = PROJECT_ROOT) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `n` generated files written to `dir` as `PREFIX-I.yaml|json`, rendered in the sampled format; their names. */
export function writeSamples(
  dir: string,
  prefix: string,
  sample: [unknown, 'yaml' | 'json'][],
  render: (data: unknown, format: 'yaml' | 'json') => string,
): string[] {
  return sample.map(([data, fmt], i) => {
    const f = `${prefix}-${i}.${fmt}`;
    writeFileSync(path.join(dir, f), render(data, fmt));
    return f;
  });
}
