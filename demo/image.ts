// Builds the demo image with no registry: a root filesystem assembled from the host's own Node binary
// and the shared libraries it links, plus the demo app, the fault proxy, the warden (worker/warden-main.ts) and
// the dns.* kinds' resolver (worker/dns-resolver-main.ts) bundled by esbuild, then `docker import`ed. The warden's containers use the same image. Tagged by a content hash so an unchanged build is skipped.
import { createHash } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { existsSync, promises as fs, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../proxy/bundle.ts';

export const DEMO_REPO = 'faultline-demo';
/** Where node lives inside the image; the host's copy is whichever binary runs this code (nvm, /usr/bin, ...). */
const NODE_IN_IMAGE = '/usr/bin/node';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APP_ENTRY = path.join(ROOT, 'demo', 'app.ts');
const PROXY_ENTRY = path.join(ROOT, 'proxy', 'main.ts');
const WARDEN_ENTRY = path.join(ROOT, 'worker', 'warden-main.ts');
const RESOLVER_ENTRY = path.join(ROOT, 'worker', 'dns-resolver-main.ts');

/** True when the fault proxy's source is present, so the image carries /app/proxy.mjs. */
export function proxyAvailable(): boolean {
  return existsSync(PROXY_ENTRY);
}

async function bundle(entry: string): Promise<Buffer> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    // dockerode's ssh transport loads optional native add-ons inside try/catch; the image uses the socket.
    external: ['cpu-features', '*.node'],
    // CommonJS dependencies call require() and read __dirname (dockerode's ssh2); give the ESM bundle both.
    banner: {
      js: [
        ESM_REQUIRE_BANNER.js,
        'const __filename = new URL(import.meta.url).pathname;',
        "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
      ].join(' '),
    },
  });
  const out = r.outputFiles[0];
  if (!out) throw new Error(`esbuild produced nothing for ${entry}`);
  return Buffer.from(out.contents);
}

interface HostFile {
  src: string;
  dest: string;
}

/** The host files the image needs: node, every library `ldd` lists, and the dynamic loader. */
async function hostFiles(): Promise<HostFile[]> {
  if (process.platform !== 'linux')
    throw new Error(`the demo image is built from the host's Linux node binary; ${process.platform} is not supported`);
  const node = realpathSync(process.execPath);
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)('ldd', [node]));
  } catch (e) {
    throw new Error(`ldd ${node} failed (is it a dynamically linked Linux binary?): ${(e as Error).message}`);
  }
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.add(m[1]);
  }
  return [{ src: node, dest: NODE_IN_IMAGE }, ...[...libs].sort().map((l) => ({ src: l, dest: l }))];
}

const ETC: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n',
  'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  'etc/nsswitch.conf': 'hosts: files dns\n',
  'etc/hosts': '127.0.0.1 localhost\n',
  'etc/resolv.conf': '',
  'etc/hostname': '',
};

/** Writes the root filesystem into `dir`. */
async function assemble(
  dir: string,
  files: HostFile[],
  app: Buffer,
  proxy: Buffer | null,
  warden: Buffer,
  resolver: Buffer,
): Promise<void> {
  for (const f of files) {
    const dest = path.join(dir, f.dest);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.copyFile(f.src, dest); // follows symlinks: the image gets the real bytes under the listed name
    await fs.chmod(dest, 0o755);
  }
  for (const [rel, text] of Object.entries(ETC)) {
    await fs.mkdir(path.join(dir, path.dirname(rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }
  await fs.mkdir(path.join(dir, 'tmp'), { recursive: true, mode: 0o1777 });
  await fs.chmod(path.join(dir, 'tmp'), 0o1777);
  await fs.mkdir(path.join(dir, 'app'), { recursive: true });
  await fs.writeFile(path.join(dir, 'app', 'app.mjs'), app);
  if (proxy) await fs.writeFile(path.join(dir, 'app', 'proxy.mjs'), proxy);
  await fs.writeFile(path.join(dir, 'app', 'warden.mjs'), warden);
  await fs.writeFile(path.join(dir, 'app', 'dns-resolver.mjs'), resolver);
}

async function imageExists(docker: Dockerode, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

async function importDir(docker: Dockerode, dir: string, tag: string, withProxy: boolean): Promise<void> {
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
    repo: DEMO_REPO,
    tag,
    changes: [
      'CMD ["/usr/bin/node", "/app/app.mjs"]',
      'WORKDIR /app',
      'ENV ROLE=backend PORT=8080',
      `LABEL faultline.demo.proxy=${withProxy}`,
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

/**
 * Returns `faultline-demo:<hash>`, building and importing it first unless that tag already exists.
 * The hash covers the bundles and the identity (path, size, mtime) of every host file copied in.
 */
export async function ensureDemoImage(docker: Dockerode): Promise<string> {
  const [app, proxy, warden, resolver, files] = await Promise.all([
    bundle(APP_ENTRY),
    proxyAvailable() ? bundle(PROXY_ENTRY) : Promise.resolve(null),
    bundle(WARDEN_ENTRY),
    bundle(RESOLVER_ENTRY),
    hostFiles(),
  ]);
  const h = createHash('sha256');
  h.update('faultline-demo/v1\0');
  for (const f of files) {
    const st = statSync(f.src);
    h.update(`${f.src}\0${f.dest}\0${st.size}\0${st.mtimeMs}\0`);
  }
  h.update(app)
    .update('\0')
    .update(proxy ?? 'no-proxy')
    .update('\0')
    .update(warden)
    .update('\0')
    .update(resolver);
  const tag = h.digest('hex').slice(0, 16);
  const ref = `${DEMO_REPO}:${tag}`;
  if (await imageExists(docker, ref)) return ref;

  const dir = await fs.mkdtemp(path.join(tmpdir(), 'faultline-demo-rootfs-'));
  try {
    await assemble(dir, files, app, proxy, warden, resolver);
    await importDir(docker, dir, tag, proxy !== null);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  if (!(await imageExists(docker, ref))) throw new Error(`docker import finished but ${ref} is missing`);
  await pruneOldDemoImages(docker, ref);
  return ref;
}

/**
 * Each build is ~100 MB: drop faultline-demo tags that no container uses (the daemon refuses the rest)
 * and that are over 10 minutes old, so a concurrent demoUp that just built one still finds it.
 */
async function pruneOldDemoImages(docker: Dockerode, keep: string): Promise<void> {
  const images = await docker.listImages({ filters: { reference: [`${DEMO_REPO}:*`] } });
  const cutoff = Date.now() / 1000 - 600;
  for (const img of images) {
    if (img.Created > cutoff) continue;
    for (const t of img.RepoTags ?? []) {
      if (t === keep || !t.startsWith(`${DEMO_REPO}:`)) continue;
      await docker
        .getImage(t)
        .remove({ noprune: false })
        .catch(() => undefined); // in use (409): keep it
    }
  }
}

/** True when the image carries the fault proxy (built while proxy/main.ts existed). */
export async function imageHasProxy(docker: Dockerode, ref: string): Promise<boolean> {
  const info = await docker.getImage(ref).inspect();
  return Boolean(info.Config?.Labels?.['faultline.demo.proxy'] === 'true');
}
