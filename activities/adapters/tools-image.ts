// The image of Faultline's kernel helpers (activities/adapters/kernel.ts), built with no registry: the host's
// own iptables (whichever backend `iptables` is on the host, nft or legacy, with its extensions), tc, ip,
// stress-ng (Debian's, when installed: scripts/setup.sh does it), dash, a few coreutils and util-linux's fallocate, each with the
// shared libraries `ldd` lists, `docker import`ed as faultline-tools:<hash of those files>. A process that
// cannot build it (the warden, in a container of its own) uses the newest one the agent built.
import { createHash } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { existsSync, promises as fs, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { InfrastructureError } from '../../errors.ts';

export const TOOLS_REPO = 'faultline-tools';
export const TOOLS_LABEL = 'faultline.tools';
/** Set on the image when it carries stress-ng. */
export const TOOLS_STRESS_LABEL = 'faultline.tools.stress-ng';
const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

interface HostFile {
  src: string;
  dest: string;
}

function which(name: string): string | undefined {
  for (const d of SEARCH) {
    const p = path.join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

async function libsOf(bin: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ldd', [bin]).catch(() => ({ stdout: '' }));
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** What goes into the image, and the symlinks it needs; throws naming what the host lacks. */
async function hostFiles(): Promise<{ files: HostFile[]; links: [string, string][]; stress: boolean }> {
  if (process.platform !== 'linux') throw new InfrastructureError('the kernel helpers are built from a Linux host');
  const need = (name: string, pkg: string) => {
    const p = which(name);
    if (!p) throw new InfrastructureError(`the host has no ${name}: install ${pkg} (scripts/setup.sh)`);
    return p;
  };
  const iptables = realpathSync(need('iptables', 'iptables'));
  const bins: HostFile[] = [
    { src: iptables, dest: `/usr/sbin/${path.basename(iptables)}` },
    { src: realpathSync(need('tc', 'iproute2')), dest: '/usr/sbin/tc' },
    { src: realpathSync(need('ip', 'iproute2')), dest: '/usr/sbin/ip' },
    { src: realpathSync(need('dash', 'dash')), dest: '/usr/bin/dash' },
    { src: realpathSync(need('readlink', 'coreutils')), dest: '/usr/bin/readlink' },
    { src: realpathSync(need('sleep', 'coreutils')), dest: '/usr/bin/sleep' },
    // process.* (a command line holds NULs: cat) and disk.fill (fallocate, df, stat, rm).
    { src: realpathSync(need('cat', 'coreutils')), dest: '/usr/bin/cat' },
    { src: realpathSync(need('rm', 'coreutils')), dest: '/usr/bin/rm' },
    { src: realpathSync(need('df', 'coreutils')), dest: '/usr/bin/df' },
    { src: realpathSync(need('stat', 'coreutils')), dest: '/usr/bin/stat' },
    { src: realpathSync(need('fallocate', 'util-linux')), dest: '/usr/bin/fallocate' },
  ];
  const stressNg = which('stress-ng');
  if (stressNg) bins.push({ src: realpathSync(stressNg), dest: '/usr/bin/stress-ng' });
  const files = new Map<string, HostFile>();
  for (const b of bins) files.set(b.dest, b);
  // iptables loads its match and target extensions from the directory beside libxtables.
  const xtablesLib = (await libsOf(iptables)).find((l) => path.basename(l).startsWith('libxtables'));
  const extDir = xtablesLib ? path.join(path.dirname(realpathSync(xtablesLib)), 'xtables') : undefined;
  const exts = extDir && existsSync(extDir) ? (await fs.readdir(extDir)).filter((n) => n.endsWith('.so')) : [];
  if (!exts.length)
    throw new InfrastructureError(`iptables' extensions not found beside ${xtablesLib ?? 'libxtables'}`);
  for (const n of exts) {
    const dest = path.join(extDir as string, n);
    files.set(dest, { src: dest, dest });
  }
  for (const f of [...files.values()])
    for (const l of await libsOf(f.src)) if (!files.has(l)) files.set(l, { src: l, dest: l });
  const multi = path.basename(iptables);
  const links: [string, string][] = [
    ['/usr/sbin/iptables', multi],
    ['/usr/sbin/iptables-save', multi],
    ['/usr/sbin/iptables-restore', multi],
    ['/usr/bin/sh', 'dash'],
    ['/bin', 'usr/bin'],
    ['/sbin', 'usr/sbin'],
  ];
  return { files: [...files.values()].sort((a, b) => a.dest.localeCompare(b.dest)), links, stress: !!stressNg };
}

async function exists(docker: Dockerode, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

async function assemble(dir: string, files: HostFile[], links: [string, string][]): Promise<void> {
  for (const f of files) {
    const dest = path.join(dir, f.dest);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.copyFile(f.src, dest);
    await fs.chmod(dest, 0o755);
  }
  for (const [at, to] of links) {
    await fs.mkdir(path.dirname(path.join(dir, at)), { recursive: true });
    await fs.symlink(to, path.join(dir, at)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  for (const d of ['tmp', 'run', 'proc', 'sys', 'dev', 'etc', 'cg'])
    await fs.mkdir(path.join(dir, d), { recursive: true, mode: d === 'tmp' ? 0o1777 : 0o755 });
  await fs.chmod(path.join(dir, 'tmp'), 0o1777);
  await fs.writeFile(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await fs.writeFile(path.join(dir, 'etc', 'group'), 'root:x:0:\n');
}

async function importDir(docker: Dockerode, dir: string, tag: string, stress: boolean): Promise<void> {
  const tar = spawn('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', dir, '-c', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tarErr = '';
  tar.stderr.on('data', (c: Buffer) => (tarErr += c.toString()));
  const tarDone = new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}: ${tarErr.trim()}`))));
  });
  const stream = await docker.importImage(tar.stdout, {
    repo: TOOLS_REPO,
    tag,
    changes: [
      'CMD ["/usr/bin/sleep", "60"]',
      'ENV PATH=/usr/sbin:/usr/bin',
      `LABEL ${TOOLS_LABEL}=1 ${TOOLS_STRESS_LABEL}=${stress}`,
    ],
  });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
      const bad = out?.find((o) => o.error);
      if (err) reject(err);
      else if (bad) reject(new Error(`docker import: ${bad.error}`));
      else resolve();
    });
  });
  await tarDone;
}

/** The newest tools image on the daemon, or undefined. */
async function newestTools(docker: Dockerode): Promise<{ ref: string; stress: boolean } | undefined> {
  const images = await docker.listImages({ filters: { label: [`${TOOLS_LABEL}=1`] } });
  const img = images
    .sort((a, b) => b.Created - a.Created)
    .find((i) => i.RepoTags?.some((t) => t.startsWith(TOOLS_REPO)));
  const ref = img?.RepoTags?.find((t) => t.startsWith(`${TOOLS_REPO}:`));
  return ref ? { ref, stress: img?.Labels?.[TOOLS_STRESS_LABEL] === 'true' } : undefined;
}

const known = new WeakMap<Dockerode, Promise<{ ref: string; stress: boolean }>>();

/**
 * `faultline-tools:<hash>` and whether it carries stress-ng: built from the host's files unless that tag
 * exists; where the host files cannot be read (the warden's own container) the newest one on the daemon.
 * Found once per daemon client and process (`fresh` looks again: the image was removed meanwhile).
 */
export function ensureToolsImage(docker: Dockerode, fresh = false): Promise<{ ref: string; stress: boolean }> {
  let p = fresh ? undefined : known.get(docker);
  if (!p) {
    p = build(docker);
    known.set(docker, p);
    p.catch(() => known.delete(docker));
  }
  return p;
}

async function build(docker: Dockerode): Promise<{ ref: string; stress: boolean }> {
  let host: Awaited<ReturnType<typeof hostFiles>>;
  try {
    host = await hostFiles();
  } catch (e) {
    const found = await newestTools(docker);
    if (found) return found;
    throw e instanceof InfrastructureError
      ? e
      : new InfrastructureError(`cannot build the kernel helpers' image: ${(e as Error).message}`);
  }
  const h = createHash('sha256').update('faultline-tools/v1\0');
  for (const f of host.files) {
    const st = statSync(f.src);
    h.update(`${f.src}\0${f.dest}\0${st.size}\0${st.mtimeMs}\0`);
  }
  for (const [a, b] of host.links) h.update(`${a}->${b}\0`);
  const tag = h.digest('hex').slice(0, 16);
  const ref = `${TOOLS_REPO}:${tag}`;
  if (await exists(docker, ref)) return { ref, stress: host.stress };
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'faultline-tools-rootfs-'));
  try {
    await assemble(dir, host.files, host.links);
    await importDir(docker, dir, tag, host.stress);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  if (!(await exists(docker, ref))) throw new InfrastructureError(`docker import finished but ${ref} is missing`);
  return { ref, stress: host.stress };
}
