// What every benchmark ends with: its results as bench/results/NAME.json (with the date and the machine),
// and a main that exits 0, or prints the error and exits 1.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.ts';

export function writeResults(name: string, body: Record<string, unknown>): void {
  const out = path.join(PROJECT_ROOT, 'bench', 'results', `${name}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  const machine = { cpus: os.cpus().length, node: process.version };
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine, ...body }, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
