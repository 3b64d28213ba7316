// disk.fill against the real daemon: the file is there inside the target at the size asked and the free space
// there dropped by it (read from inside the target: `docker exec` node's fs.statSync / statfsSync), and both are
// back after the revert; a path through a symbolic link (here one to the host-side "/" of the helper: it could
// lead outside the container) and a size over the free space are refused at prepare with nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskFill, type DiskFillHandle } from '../faults/disk-fill.ts';
import type { Ports } from '../faults/ports.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import { ensureDemoImage } from '../demo/image.ts';
import { uniqueId } from './helpers.ts';
import { docker, removeContainers } from './support/kernel-targets.ts';

const id = uniqueId('fl-disk');
const ports = { containers: createDockerContainerPort(docker), kernel: createDockerKernelPort(docker) } as Ports;
let target: { id: string; name: string };

beforeAll(async () => {
  const name = `${id}-target`;
  const c = await docker.createContainer({
    name,
    Image: await ensureDemoImage(docker),
    Cmd: ['/usr/bin/node', '-e', "require('fs').symlinkSync('/', '/tmp/escape'); setInterval(() => {}, 1e9)"],
    Labels: { 'faultline.test': name },
    HostConfig: { NetworkMode: 'none' },
  });
  await c.start();
  target = { id: c.id, name };
});
afterAll(async () => {
  await removeContainers(id);
});

/** Inside the target: the files in /tmp with their sizes, and the free bytes there. */
async function inside(): Promise<{ files: Record<string, number>; free: number }> {
  const js = `const fs = require('fs'); const files = {}; for (const f of fs.readdirSync('/tmp')) { const st = fs.lstatSync('/tmp/' + f); if (st.isFile()) files[f] = st.size; } const s = fs.statfsSync('/tmp'); console.log(JSON.stringify({ files, free: s.bavail * s.bsize }));`;
  const ex = await docker
    .getContainer(target.id)
    .exec({ Cmd: ['/usr/bin/node', '-e', js], AttachStdout: true, AttachStderr: true });
  const stream = await ex.start({ hijack: true, stdin: false });
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => stream.on('end', r));
  const m = /\{"files".*\}/.exec(out);
  if (!m) throw new Error(`inside the target: ${out}`);
  return JSON.parse(m[0]) as { files: Record<string, number>; free: number };
}
const on = () => ({ container: target, run: 'disk-fill-test' });

describe('disk.fill', () => {
  it('the file is there at the size asked, seen from inside the target; gone after the revert', async () => {
    const before = await inside();
    const s = diskFill.spec.parse({ kind: 'disk.fill', duration: '30s', path: '/tmp', size: '64MiB' });
    const h = (await diskFill.prepare(ports, s, on())) as DiskFillHandle;
    expect(h.file).toMatch(/^faultline-fill-\w{6}-\w{6}$/);
    await diskFill.inject(ports, s, h);
    await diskFill.inject(ports, s, h); // retried: the file is there already
    const during = await inside();
    expect(during.files[h.file]).toBe(64 * 2 ** 20);
    console.log(
      `disk.fill 64MiB: free space at /tmp fell by ${((before.free - during.free) / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(before.free - during.free).toBeGreaterThanOrEqual(60 * 2 ** 20); // others write to the same disk too
    expect(await diskFill.revert(ports, h)).toEqual({ changed: true });
    expect((await inside()).files[h.file]).toBeUndefined();
    expect(await diskFill.revert(ports, h)).toEqual({ changed: false });
  });

  it('a path through a symbolic link, and a size over the free space, are refused at prepare; nothing written', async () => {
    const link = diskFill.spec.parse({ kind: 'disk.fill', duration: '30s', path: '/tmp/escape/tmp', size: '1MiB' });
    await expect(diskFill.prepare(ports, link, on())).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringMatching(/^path: \/tmp\/escape is a symbolic link in .*; nothing injected$/),
    });
    const big = diskFill.spec.parse({ kind: 'disk.fill', duration: '30s', path: '/tmp', size: '100000GiB' });
    await expect(diskFill.prepare(ports, big, on())).rejects.toThrow(
      /^size: 100000GiB is more than the free space at \/tmp in .* free\); nothing injected$/,
    );
    expect(Object.keys((await inside()).files).filter((f) => f.startsWith('faultline-fill-'))).toEqual([]);
  });
});
