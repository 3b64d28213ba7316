// process.kill and process.stop without a kernel: the language (exactly one of name or pattern, a pattern that
// compiles, no stopping signal for kill; refused with their position), the parsing of the helper's /proc
// records, and the lifecycle on the in-memory kernel port: PID 1 refused at prepare with nothing signalled,
// a stop continued at the revert (idempotent), the warden continuing a lapsed one.
import { describe, expect, it } from 'vitest';
import { processKill } from '../../faults/process-kill.ts';
import { processStop } from '../../faults/process-stop.ts';
import type { ProcessHandle } from '../../faults/process-common.ts';
import { parseProcesses } from '../../activities/adapters/kernel.ts';
import { MemoryWorld } from '../support/memory-ports.ts';
import { faultProblems } from './support/fault-problems.ts';

const problems = faultProblems('proc.yaml');

describe('process faults: the language', () => {
  it('bad choices and signals are refused with their position', () => {
    expect(problems('{ kind: process.kill, pattern: "worker(", duration: 5s }')).toEqual([
      expect.stringMatching(/^proc\.yaml:5:\d+ method\.0\.pattern: must be a valid regular expression/),
    ]);
    expect(problems('{ kind: process.stop, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.name: give exactly one of name .* or pattern/),
    ]);
    expect(problems('{ kind: process.stop, name: a, pattern: b, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.name: give exactly one of name/),
    ]);
    expect(problems('{ kind: process.kill, name: worker, signal: SIGSTOP, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.signal: a stopping signal .* use kind process\.stop/),
    ]);
    expect(problems('{ kind: process.kill, name: /usr/bin/worker, duration: 5s }')).toEqual([
      expect.stringMatching(/method\.0\.name: must be a process name without '\/'/),
    ]);
    expect(problems('{ kind: process.kill, name: worker, signal: SIGTERM, duration: 5s }')).toEqual([]);
  });

  it("the helper's /proc records: names with spaces and parentheses, NUL-separated command lines", () => {
    const stat = (pid: number, comm: string, st: string) =>
      `${pid} (${comm}) ${st} 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 10`;
    expect(
      parseProcesses(`${stat(1, 'node', 'S')}\n/usr/bin/node\0-e\0x\0\x1e\n${stat(7, 'a (b) c', 'T')}\n\x1e\n`),
    ).toEqual([
      { pid: 1, ppid: 1, name: 'node', state: 'S', start: 4242, command: '/usr/bin/node -e x' },
      { pid: 7, ppid: 1, name: 'a (b) c', state: 'T', start: 4242, command: '' },
    ]);
  });
});

describe('process faults on the in-memory kernel port', () => {
  const setup = () => {
    const w = new MemoryWorld();
    const id = w.addContainer('api-1');
    w.nsProcs.set(id, [
      { pid: 1, ppid: 0, state: 'S', start: 100, name: 'app', command: '/app/server' },
      { pid: 9, ppid: 1, state: 'S', start: 200, name: 'worker', command: '/app/worker --queue mail' },
    ]);
    return { w, id, ports: w.ports('agent'), target: { container: { id, name: 'api-1' }, run: 'r' } };
  };

  it('a choice including PID 1 is refused at prepare, nothing signalled; one matching nothing too', async () => {
    const { w, ports, target } = setup();
    const s = processStop.spec.parse({ kind: 'process.stop', pattern: '^/app/', duration: '5s' });
    await expect(processStop.prepare(ports, s, target)).rejects.toThrow(
      /^pattern: matching \/\^\/app\/\/ includes PID 1 of api-1 \(\/app\/server\), its main process: .* say includePid1: true; nothing injected$/,
    );
    const none = processKill.spec.parse({ kind: 'process.kill', name: 'nginx', duration: '5s' });
    await expect(processKill.prepare(ports, none, target)).rejects.toThrow(
      /^name: no process named nginx in api-1 \(it runs: 1 app, 9 worker\); nothing injected$/,
    );
    expect(w.calls.filter((c) => c.effect !== 'none')).toEqual([]);
  });

  it('stop then continue (idempotent); the warden continues a lapsed stop; kill of a worker has nothing to undo', async () => {
    const { w, id, ports, target } = setup();
    const s = processStop.spec.parse({ kind: 'process.stop', name: 'worker', duration: '5s' });
    const h = (await processStop.prepare(ports, s, target)) as ProcessHandle;
    expect(h.procs).toEqual([{ pid: 9, start: 200, command: '/app/worker --queue mail' }]);
    await processStop.inject(ports, s, h);
    expect(w.nsProcs.get(id)?.find((p) => p.pid === 9)?.state).toBe('T');
    expect(await processStop.revert(ports, h)).toEqual({ changed: true });
    expect(await processStop.revert(ports, h)).toEqual({ changed: false });
    expect(w.nsProcs.get(id)?.find((p) => p.pid === 9)?.state).toBe('S');

    w.useLeases();
    const h2 = (await processStop.prepare(ports, s, target)) as ProcessHandle;
    await processStop.inject(ports, s, h2);
    await w
      .leasePort('agent')
      .grant({ id: 'l-ps', kind: 'process.stop', handle: h2, leaseMs: 1, grantedAt: new Date().toISOString() });
    const [rec] = await w.lapse();
    expect(rec?.revertedAt).toBeDefined();
    expect(w.nsProcs.get(id)?.find((p) => p.pid === 9)?.state).toBe('S');

    const k = processKill.spec.parse({ kind: 'process.kill', pattern: 'queue mail', duration: '5s' });
    const hk = (await processKill.prepare(ports, k, target)) as ProcessHandle;
    await processKill.inject(ports, k, hk);
    expect(w.nsProcs.get(id)?.map((p) => p.pid)).toEqual([1]);
    expect(await processKill.revert(ports, hk)).toEqual({ changed: false });
  });
});
