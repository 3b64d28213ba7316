// process.kill and process.stop against the real daemon: a target whose main process (PID 1) runs a worker
// child; the effect is read from inside the target itself (`docker exec` a node script reading the target's own
// /proc): the worker gone after SIGKILL, in state T after process.stop and back to S after the revert; a choice
// that includes PID 1 is refused at prepare and nothing is signalled; with includePid1 the container goes down
// and the revert starts it again.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type Dockerode from 'dockerode';
import { processKill } from '../faults/process-kill.ts';
import { processStop } from '../faults/process-stop.ts';
import type { ProcessHandle } from '../faults/process-common.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { ensureDemoImage } from '../demo/image.ts';
import { uniqueId } from './helpers.ts';
import { docker, nodeIn, removeContainers } from './support/kernel-targets.ts';

const id = uniqueId('fl-proc');
const ports = { containers: createDockerContainerPort(docker), kernel: createDockerKernelPort(docker) } as Ports;
let target: { id: string; name: string };
let n = 0;
const cleanup: (() => Promise<unknown>)[] = [];

const MAIN = `require('child_process').spawn('/usr/bin/node', ['-e', 'setInterval(() => {}, 1000)', 'fl-worker'], { stdio: 'ignore' }); setInterval(() => {}, 1000); console.log('ready');`;
/** Lists the container's processes as it sees them itself: [pid, state, command line]. */
const LIST = `const fs = require('fs'); console.log(JSON.stringify(fs.readdirSync('/proc').filter((d) => /^\\d+$/.test(d)).map((d) => { try { const st = fs.readFileSync('/proc/' + d + '/stat', 'utf8'); return [Number(d), st.slice(st.lastIndexOf(') ') + 2).split(' ')[0], fs.readFileSync('/proc/' + d + '/cmdline', 'utf8').split('\\0').join(' ').trim()]; } catch { return null; } }).filter(Boolean)));`;

beforeEach(async () => {
  const name = `${id}-t${n++}`;
  const c: Dockerode.Container = await docker.createContainer({
    name,
    Image: await ensureDemoImage(docker),
    Cmd: ['/usr/bin/node', '-e', MAIN],
    Labels: { 'faultline.test': name },
    HostConfig: { NetworkMode: 'none' },
  });
  await c.start();
  for (const end = Date.now() + 60_000; !(await c.logs({ stdout: true })).toString().includes('ready');)
    if (Date.now() > end) throw new Error('target did not start');
  target = { id: c.id, name };
});
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f().catch(() => undefined);
});
afterAll(async () => {
  await removeContainers(id);
});

/** The target's processes, read from inside it: [pid, state, command line]. */
async function inside(): Promise<[number, string, string][]> {
  const out = await nodeIn(target.id, LIST);
  const m = /\[\[.*\]\]/.exec(out);
  if (!m) throw new Error(`listing inside the target: ${out}`);
  return (JSON.parse(m[0]) as [number, string, string][]).filter(([, , cmd]) => !cmd.includes("readdirSync('/proc')"));
}
const worker = async () => (await inside()).find(([, , cmd]) => cmd.endsWith('fl-worker'));
const on = () => ({ container: target, run: 'process-test' });

describe('process faults', () => {
  it('process.kill by pattern: the worker is gone, seen from inside the target; PID 1 untouched', async () => {
    const w = await worker();
    expect(w?.[1]).toMatch(/^[SR]$/);
    const s = processKill.spec.parse({ kind: 'process.kill', duration: '30s', pattern: 'fl-worker$' });
    const h = (await processKill.prepare(ports, s, on())) as ProcessHandle;
    expect(h.procs.map((p) => p.pid)).toEqual([w?.[0]]);
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
    await processKill.inject(ports, s, h);
    await processKill.inject(ports, s, h); // retried: nothing left to signal
    const after = await inside();
    expect(after.find(([, , cmd]) => cmd.endsWith('fl-worker'))).toBeUndefined();
    expect(after.find(([pid]) => pid === 1)?.[1]).toMatch(/^[SR]$/);
    expect(await processKill.revert(ports, h)).toEqual({ changed: false });
  });

  it('process.stop by pattern: the worker in state T inside the target; back after the revert', async () => {
    const w = await worker();
    const s = processStop.spec.parse({ kind: 'process.stop', duration: '30s', pattern: 'fl-worker$' });
    const h = (await processStop.prepare(ports, s, on())) as ProcessHandle;
    await processStop.inject(ports, s, h);
    cleanup.push(() => processStop.revert(ports, h));
    expect((await worker())?.[1]).toBe('T');
    expect((await inside()).find(([pid]) => pid === 1)?.[1]).toMatch(/^[SR]$/);
    expect(await processStop.revert(ports, h)).toEqual({ changed: true });
    const back = await worker();
    expect(back?.[0]).toBe(w?.[0]);
    expect(back?.[1]).toMatch(/^[SR]$/);
    expect(await processStop.revert(ports, h)).toEqual({ changed: false });
  });

  it('a choice that includes PID 1 is refused at prepare and nothing is signalled; with includePid1 the revert starts the container again', async () => {
    const s = processStop.spec.parse({ kind: 'process.stop', duration: '30s', name: 'node' });
    await expect(processStop.prepare(ports, s, on())).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(/^name: named node includes PID 1 of .* say includePid1: true; nothing injected$/),
    });
    expect((await inside()).map(([, st]) => st).every((st) => /^[SR]$/.test(st))).toBe(true);
    const k = processKill.spec.parse({
      kind: 'process.kill',
      duration: '30s',
      pattern: '^/usr/bin/node -e require',
      includePid1: true,
    });
    const h = (await processKill.prepare(ports, k, on())) as ProcessHandle;
    expect(h.procs.map((p) => p.pid)).toEqual([1]);
    await processKill.inject(ports, k, h);
    expect((await docker.getContainer(target.id).inspect()).State.Running).toBe(false);
    expect(await processKill.revert(ports, h)).toEqual({ changed: true });
    expect((await docker.getContainer(target.id).inspect()).State.Running).toBe(true);
  });
});
