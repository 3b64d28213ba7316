// A second, real Docker daemon beside the first, for fleet tests and benchmarks: its own socket, data root,
// exec root, pid file and its own bridge (created here with `ip link`, never docker0: `--bridge=none` would
// delete the first daemon's docker0). No iptables or masquerading, so it never touches the first daemon's
// rules. Images come from the first daemon with `docker save | docker load`. Start it under the e2e lock.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import Dockerode from 'dockerode';

export interface SecondDaemon {
  socketPath: string;
  docker: Dockerode;
  bridge: string;
  /** Copies an image of the first daemon into this one. */
  load(image: string): void;
  stop(): Promise<void>;
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** A /24 in 10.213.0.0/16 that no interface uses yet. */
function freeSubnet(): string {
  const used = spawnSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }).stdout;
  for (let i = 0; i < 50; i++) {
    const n = 10 + Math.floor(Math.random() * 240);
    if (!used.includes(`10.213.${n}.`)) return `10.213.${n}`;
  }
  throw new Error('no free 10.213.x.0/24 for the second daemon bridge');
}

export async function startSecondDaemon(): Promise<SecondDaemon> {
  const dir = mkdtempSync('/tmp/fl-d2-');
  const bridge = `fld2${Math.random().toString(36).slice(2, 8)}`;
  const net = freeSubnet();
  sh('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  let child: ChildProcess | undefined;
  const socketPath = path.join(dir, 'docker.sock');
  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    spawnSync('ip', ['link', 'del', bridge]);
    spawnSync('umount', ['-R', path.join(dir, 'exec')]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    sh('ip', ['addr', 'add', `${net}.1/24`, 'dev', bridge]);
    sh('ip', ['link', 'set', bridge, 'up']);
    child = spawn(
      'dockerd',
      [
        '-H',
        `unix://${socketPath}`,
        '--data-root',
        path.join(dir, 'data'),
        '--exec-root',
        path.join(dir, 'exec'),
        '--pidfile',
        path.join(dir, 'docker.pid'),
        '--bridge',
        bridge,
        '--iptables=false',
        '--ip-masq=false',
        '--userland-proxy=false',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    const docker = new Dockerode({ socketPath });
    for (const end = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 200))) {
      if (child.exitCode !== null) throw new Error(`the second dockerd exited: ${log}`);
      if (
        await docker.ping().then(
          () => true,
          () => false,
        )
      )
        break;
      if (Date.now() > end) throw new Error(`the second dockerd did not answer within 60 s: ${log}`);
    }
    return {
      socketPath,
      docker,
      bridge,
      load(image: string) {
        const r = spawnSync('sh', ['-c', `docker save ${image} | docker -H unix://${socketPath} load -q`], {
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`docker save | load ${image}: ${r.stderr}`);
      },
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
