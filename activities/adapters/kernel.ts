// KernelPort on the Docker API (faults/kernel-ports.ts): everything happens in short-lived helper containers
// of the faultline-tools image (./tools-image.ts), so the agent and the warden (which has only the daemon's
// socket) act the same way and need no access to the host's /proc.
//  - network namespace: a helper that shares the target's (NetworkMode container:<id>, CAP_NET_ADMIN only)
//    runs iptables, tc and ip there, each call first checking the namespace is the one expected;
//  - cgroups: a stressor container whose cgroup Docker makes a child of the target's under every controller
//    (CgroupParent; with the systemd driver, whose scopes have no children, its shell writes itself into the
//    target's cgroup.procs first, the host's cgroup tree bind-mounted), then stress-ng: every stress-ng process
//    is in the target's cgroups from its first instruction, accounted and limited as the container. It is PID 1
//    of its own PID namespace, so removing the container (SIGKILL) ends every worker of it;
//  - the dns.* kinds' resolver: a container of the node image (o.nodeImage) sharing the target's network
//    namespace, as the uid the redirect leaves alone, without capabilities.
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Dockerode from 'dockerode';
import type {
  DirUsage,
  KernelPort,
  NetnsResult,
  NetnsSnapshot,
  NsProcess,
  OwnedChains,
  ProcessInfo,
  ResolverSpec,
  ResourceLimits,
  StressorSpec,
} from '../../faults/kernel-ports.ts';
import { DNS_RESOLVER_UID } from '../../faults/dns-common.ts';
import { FaultTargetGone, InfrastructureError } from '../../errors.ts';
import { ensureToolsImage } from './tools-image.ts';
import { dockerAt, type DockerEndpoint } from './docker.ts';

export const HELPER_COMPONENT = 'kernel-helper';
export const STRESSOR_COMPONENT = 'stressor';
export const RESOLVER_COMPONENT = 'dns-resolver';
/** How long starting a resolver may take before the inject gives up on it. */
const RESOLVER_READY_MS = 15_000;
/** A helper outlives its call by at most this long if the process that started it dies mid-call. */
const HELPER_LIFETIME_S = 120;

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Exec = (argv: string[], env?: string[]) => Promise<ExecResult>;

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;
const messageOf = (e: unknown) =>
  ((e as { json?: { message?: string } }).json?.message ?? (e as Error).message ?? String(e)).trim();

/** What the daemon says when a container has no namespace to join: it is stopped, restarting or gone. */
function noNamespace(e: unknown): string | undefined {
  const m = messageOf(e);
  if (statusOf(e) === 404 || /no such container/i.test(m)) return 'the container no longer exists';
  if (/non running container|not running|is restarting|is paused|cannot join network/i.test(m))
    return `the container has no network namespace to enter (${m})`;
  return undefined;
}

const SNAPSHOT_SCRIPT = [
  'readlink /proc/self/ns/net',
  'echo @@rules',
  'iptables-save',
  'echo @@qdiscs',
  'tc qdisc show',
  'echo @@links',
  'ip -o link show',
].join('; ');

/**
 * Lists the processes of the PID namespace the helper shares, except the helper's own: only those whose
 * cgroup names the target's id. One record each: its stat line, then its command line (NUL-separated), then
 * a record separator (\x1e).
 */
const PROCESSES_SCRIPT = [
  'for d in /proc/[0-9]*; do',
  '  mine=0',
  '  { while read -r l; do case "$l" in *"$FL_ID"*) mine=1;; esac; done < "$d/cgroup"; } 2>/dev/null || continue',
  '  [ "$mine" = 1 ] || continue',
  '  read -r st < "$d/stat" 2>/dev/null || continue',
  '  printf "%s\\n" "$st"',
  '  cat "$d/cmdline" 2>/dev/null',
  '  printf "\\036\\n"',
  'done',
].join('\n');

/**
 * A directory inside the container seen through /proc/1/root (its root, its mounts): the first component that
 * is a symbolic link (never followed: an absolute one would resolve against the helper's own root), whether it
 * is a directory, its filesystem's free and total bytes (stat -f), and a file's size. Arguments: the
 * directory's components, then "--", then the file name or nothing.
 */
const DIR_SCRIPT = [
  'p=/proc/1/root',
  'while [ "$1" != "--" ]; do p="$p/$1"; shift; if [ -L "$p" ]; then echo "link ${p#/proc/1/root}"; exit 0; fi; done',
  'shift',
  '[ -d "$p" ] || { echo notdir; exit 0; }',
  'stat -f -c "fs %a %b %S" "$p"',
  'if [ -n "$1" ] && [ -f "$p/$1" ] && [ ! -L "$p/$1" ]; then stat -c "file %s" "$p/$1"; fi',
].join('\n');

const dirArgs = (dir: string, file?: string) => [...dir.split('/').filter(Boolean), '--', ...(file ? [file] : [])];
const containerPath = (dir: string, file: string) => `/proc/1/root${dir === '/' ? '' : dir}/${file}`;

export function parseDirUsage(text: string): DirUsage {
  const link = /^link (.*)$/m.exec(text)?.[1];
  if (link) return { freeBytes: 0, sizeBytes: 0, link };
  if (/^notdir$/m.test(text)) return { freeBytes: 0, sizeBytes: 0, notDir: true };
  const fs = /^fs (\d+) (\d+) (\d+)$/m.exec(text);
  const file = /^file (\d+)$/m.exec(text)?.[1];
  if (!fs) throw new InfrastructureError(`unexpected answer reading a directory in the container: ${text.trim()}`);
  const block = Number(fs[3]);
  return {
    freeBytes: Number(fs[1]) * block,
    sizeBytes: Number(fs[2]) * block,
    ...(file !== undefined ? { fileBytes: Number(file) } : {}),
  };
}

/** The records PROCESSES_SCRIPT prints, as processes. */
export function parseProcesses(text: string): NsProcess[] {
  const out: NsProcess[] = [];
  for (const rec of text.split('\x1e\n')) {
    const nl = rec.indexOf('\n');
    const stat = nl >= 0 ? rec.slice(0, nl) : rec;
    const open = stat.indexOf(' (');
    const close = stat.lastIndexOf(') ');
    if (open < 0 || close < open) continue;
    const f = stat.slice(close + 2).split(' ');
    out.push({
      pid: Number(stat.slice(0, open)),
      name: stat.slice(open + 2, close),
      state: f[0] ?? '?',
      ppid: Number(f[1]),
      start: Number(f[19]),
      command: (nl >= 0 ? rec.slice(nl + 1) : '').replace(/\0+$/, '').replace(/\0/g, ' '),
    });
  }
  return out;
}

export function parseSnapshot(text: string): NetnsSnapshot {
  const parts: Record<string, string[]> = { netns: [], rules: [], qdiscs: [], links: [] };
  let at = 'netns';
  for (const line of text.split('\n')) {
    const m = /^@@(rules|qdiscs|links)$/.exec(line.trim());
    if (m) at = m[1] as string;
    else if (line.trim()) parts[at]?.push(line);
  }
  const links = (parts.links ?? [])
    .map((l) => /^\d+:\s+([^:@\s]+)(?:@(\S+))?:.*link\/ether\s+([0-9a-f:]{17})/.exec(l))
    .filter((m): m is RegExpExecArray => !!m && m[1] !== 'lo');
  // The namespace's inode number alone is reused by the kernel (a restarted container's new namespace may
  // get the old one's); its veth peers on the host side are new interfaces with new indexes every time.
  const peers = links.map((m) => `${m[1]}@${m[2] ?? '-'}`).sort();
  const ino = (parts.netns?.[0] ?? '').trim();
  return {
    netns: peers.length ? `${ino} ${peers.join(',')}` : ino,
    rules: (parts.rules ?? []).filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]')),
    qdiscs: (parts.qdiscs ?? []).map((l) => l.trim()),
    links: links.map((m) => ({ name: m[1] as string, mac: m[3] as string })),
  };
}

/** An iptables-save line as arguments (double-quoted words kept whole). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string));
  return out;
}

function restoreLine(args: string[]): string {
  return args
    .map((a) => {
      if (/["\\\n]/.test(a)) throw new InfrastructureError(`a rule argument holds a quote or a newline: ${a}`);
      return /\s/.test(a) || a === '' ? `"${a}"` : a;
    })
    .join(' ');
}

/** The hook rules of a snapshot (rules in built-in chains jumping to one of ours), as -D arguments. */
function hooksIn(s: NetnsSnapshot, owned: OwnedChains): string[][] {
  let table = '';
  const out: string[][] = [];
  for (const line of s.rules) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    if (table !== owned.table || !line.startsWith('-A ')) continue;
    const args = splitRule(line);
    const j = args.indexOf('-j');
    const chain = args[1] ?? '';
    if (j > 0 && owned.chains.includes(args[j + 1] ?? '') && !owned.chains.includes(chain)) out.push(args.slice(1));
  }
  return out;
}

function chainsIn(s: NetnsSnapshot, owned: OwnedChains): string[] {
  let table = '';
  const found: string[] = [];
  for (const line of s.rules) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    const m = /^:(\S+)\s/.exec(line);
    if (table === owned.table && m && owned.chains.includes(m[1] ?? '')) found.push(m[1] as string);
  }
  return found;
}

/** A non-TTY container's log as the daemon sends it (8-byte frame headers) as text. */
export function demuxLogs(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return out;
}

/** The nameserver lines of a resolv.conf. */
export function parseNameservers(text: string): string[] {
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => (m[1] as string).replace(/%.*$/, ''));
}

export interface KernelPortOptions {
  /**
   * The node image (demo/image.ts) that carries the dns.* kinds' resolver (/app/dns-resolver.mjs), built or
   * found on this daemon. The agent's port has it; the warden's does not need it (it only ever stops one).
   */
  nodeImage?: (docker: Dockerode) => Promise<string>;
}

/** The kernel port of the daemon at an endpoint (an agent's own daemon). */
export function createDockerKernelPortAt(e: DockerEndpoint, o: KernelPortOptions = {}): KernelPort {
  return createDockerKernelPort(dockerAt(e), o);
}

export function createDockerKernelPort(docker: Dockerode = new Dockerode(), o: KernelPortOptions = {}): KernelPort {
  const image = (fresh = false) => ensureToolsImage(docker, fresh);
  /** Creates a helper; an image removed since it was found is looked for (or built) again, once. */
  const create = async (opts: Dockerode.ContainerCreateOptions, stress = false): Promise<Dockerode.Container> => {
    const { ref } = await image();
    try {
      return await docker.createContainer({ ...opts, Image: ref });
    } catch (e) {
      if (statusOf(e) !== 404 || !/no such image/i.test(messageOf(e))) throw e;
      const again = await image(true);
      if (stress && !again.stress) throw e;
      return docker.createContainer({ ...opts, Image: again.ref });
    }
  };

  const execIn =
    (c: Dockerode.Container): Exec =>
    async (argv, env) => {
      const ex = await c.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, ...(env ? { Env: env } : {}) });
      const stream = await ex.start({ hijack: true, stdin: false });
      const out = new PassThrough();
      const err = new PassThrough();
      let stdout = '';
      let stderr = '';
      out.on('data', (d: Buffer) => (stdout += d.toString()));
      err.on('data', (d: Buffer) => (stderr += d.toString()));
      docker.modem.demuxStream(stream, out, err);
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      const info = await ex.inspect();
      return { code: info.ExitCode ?? -1, stdout, stderr };
    };

  /** Runs fn with a helper in the container's network namespace; `none` when there is no namespace. */
  async function inNetns(containerId: string, fn: (exec: Exec) => Promise<NetnsResult>): Promise<NetnsResult> {
    let helper: Dockerode.Container;
    try {
      helper = await create({
        name: `faultline-netns-${randomBytes(5).toString('hex')}`,
        Cmd: ['/usr/bin/sleep', String(HELPER_LIFETIME_S)],
        Labels: { 'faultline.component': HELPER_COMPONENT, 'faultline.helper.target': containerId },
        HostConfig: {
          NetworkMode: `container:${containerId}`,
          CapDrop: ['ALL'],
          CapAdd: ['NET_ADMIN', 'NET_RAW'],
          AutoRemove: true,
        },
      });
    } catch (e) {
      const why = noNamespace(e);
      if (why) return { state: 'none', why };
      throw new InfrastructureError(`cannot create a helper in ${containerId}'s namespace: ${messageOf(e)}`);
    }
    try {
      try {
        await helper.start();
      } catch (e) {
        const why = noNamespace(e);
        if (why) return { state: 'none', why };
        throw new InfrastructureError(`cannot start a helper in ${containerId}'s namespace: ${messageOf(e)}`);
      }
      return await fn(execIn(helper));
    } finally {
      // the helper runs with AutoRemove; a failed removal here is one that already happened
      await helper.remove({ force: true }).catch(() => undefined);
    }
  }

  /**
   * Runs fn with a helper in the container's PID namespace (no network, CAP_KILL only; `fs` adds what reading
   * and writing the container's files through /proc/1/root takes); null when it has none.
   */
  async function inPidns<T>(containerId: string, fn: (exec: Exec) => Promise<T>, fs = false): Promise<T | null> {
    let helper: Dockerode.Container;
    try {
      helper = await create({
        name: `faultline-pidns-${randomBytes(5).toString('hex')}`,
        Cmd: ['/usr/bin/sleep', String(HELPER_LIFETIME_S)],
        Labels: { 'faultline.component': HELPER_COMPONENT, 'faultline.helper.target': containerId },
        HostConfig: {
          PidMode: `container:${containerId}`,
          NetworkMode: 'none',
          CapDrop: ['ALL'],
          CapAdd: fs ? ['KILL', 'SYS_PTRACE', 'DAC_OVERRIDE', 'FOWNER'] : ['KILL'],
          AutoRemove: true,
        },
      });
    } catch (e) {
      if (noNamespace(e) || /cannot join pid|joining pid namespace/i.test(messageOf(e))) return null;
      throw new InfrastructureError(`cannot create a helper in ${containerId}'s PID namespace: ${messageOf(e)}`);
    }
    try {
      try {
        await helper.start();
      } catch (e) {
        if (noNamespace(e) || /pid namespace|not running/i.test(messageOf(e))) return null;
        throw new InfrastructureError(`cannot start a helper in ${containerId}'s PID namespace: ${messageOf(e)}`);
      }
      return await fn(execIn(helper));
    } finally {
      // the helper runs with AutoRemove; a failed removal here is one that already happened
      await helper.remove({ force: true }).catch(() => undefined);
    }
  }

  async function listIn(exec: Exec, containerId: string): Promise<NsProcess[]> {
    const r = await exec(['/bin/sh', '-c', PROCESSES_SCRIPT], [`FL_ID=${containerId}`]);
    if (r.code !== 0) throw new InfrastructureError(`listing the container's processes failed: ${r.stderr.trim()}`);
    return parseProcesses(r.stdout);
  }

  /** The container's full id (the helper's filter matches it in every cgroup path); null when it is gone. */
  async function fullId(idOrName: string): Promise<string | null> {
    try {
      const i = await docker.getContainer(idOrName).inspect();
      return i.State.Running ? i.Id : null;
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw e;
    }
  }

  async function snapshot(exec: Exec): Promise<NetnsSnapshot> {
    const r = await exec(['/bin/sh', '-c', SNAPSHOT_SCRIPT]);
    if (r.code !== 0) throw new InfrastructureError(`reading the network namespace failed: ${r.stderr.trim()}`);
    return parseSnapshot(r.stdout);
  }

  async function must(exec: Exec, argv: string[], what: string, env?: string[]): Promise<void> {
    const r = await exec(argv, env);
    if (r.code !== 0) throw new InfrastructureError(`${what}: ${(r.stderr || r.stdout).trim()}`);
  }

  /** Takes a snapshot; `changed` (and nothing else happens) when the namespace is not the expected one. */
  const checked =
    (expect: string | undefined, then?: (exec: Exec, s: NetnsSnapshot) => Promise<boolean>) =>
    async (exec: Exec): Promise<NetnsResult> => {
      const s = await snapshot(exec);
      if (expect && s.netns !== expect) return { state: 'changed', netns: s.netns };
      if (!then) return { state: 'ok', snapshot: s };
      const changed = await then(exec, s);
      return { state: 'ok', snapshot: changed ? await snapshot(exec) : s, changed };
    };

  async function removeOwned(exec: Exec, s: NetnsSnapshot, owned: OwnedChains): Promise<boolean> {
    const hooks = hooksIn(s, owned);
    const chains = chainsIn(s, owned);
    for (const h of hooks) await must(exec, ['iptables', '-w', '5', '-t', owned.table, '-D', ...h], 'deleting a hook');
    for (const c of chains) await must(exec, ['iptables', '-w', '5', '-t', owned.table, '-F', c], `flushing ${c}`);
    for (const c of chains) await must(exec, ['iptables', '-w', '5', '-t', owned.table, '-X', c], `deleting ${c}`);
    return hooks.length + chains.length > 0;
  }

  /**
   * The node image, found once per port (building its bundles to learn its tag takes seconds): a tag pruned
   * since (another build replaced it) is looked for again, once.
   */
  let nodeRef: Promise<string> | undefined;
  const nodeImage = (fresh = false): Promise<string> => {
    if (!o.nodeImage)
      return Promise.reject(
        new InfrastructureError("this kernel port has no node image to run Faultline's resolver in"),
      );
    if (fresh || !nodeRef) {
      nodeRef = o.nodeImage(docker);
      nodeRef.catch(() => (nodeRef = undefined));
    }
    return nodeRef;
  };
  async function createResolver(opts: Omit<Dockerode.ContainerCreateOptions, 'Image'>): Promise<Dockerode.Container> {
    try {
      return await docker.createContainer({ ...opts, Image: await nodeImage() });
    } catch (e) {
      if (statusOf(e) !== 404 || !/no such image/i.test(messageOf(e))) throw e;
      return docker.createContainer({ ...opts, Image: await nodeImage(true) });
    }
  }

  async function removeByName(name: string): Promise<void> {
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch((e: unknown) => {
        if (statusOf(e) === 404 || /removal of container .* is already in progress/i.test(messageOf(e))) return;
        throw e;
      });
  }

  const rootOf = (s: NetnsSnapshot, dev: string) =>
    s.qdiscs.find((l) => new RegExp(`^qdisc \\S+ \\S+ dev ${dev.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} root`).test(l));

  return {
    netns: (containerId, expect) => inNetns(containerId, checked(expect)),

    addChains: (containerId, expect, owned) =>
      inNetns(
        containerId,
        checked(expect, async (exec, s) => {
          await removeOwned(exec, s, owned); // a retried inject: its earlier chains go first
          const text = [
            `*${owned.table}`,
            ...owned.chains.map((c) => `:${c} - [0:0]`),
            ...owned.rules.map((r) => `-A ${restoreLine(r)}`),
            // Hooks at the head of the built-in chains, so nothing before them decides first.
            ...owned.hooks.map(([chain = '', ...rest]) => `-I ${chain} 1 ${restoreLine(rest)}`),
            'COMMIT',
            '',
          ].join('\n');
          await must(
            exec,
            ['/bin/sh', '-c', 'printf "%s" "$FL_RULES" | iptables-restore -w 5 --noflush'],
            'iptables-restore',
            [`FL_RULES=${text}`],
          );
          return true;
        }),
      ),

    removeChains: (containerId, expect, owned) =>
      inNetns(
        containerId,
        checked(expect, (exec, s) => removeOwned(exec, s, owned)),
      ),

    addQdisc: (containerId, expect, q) =>
      inNetns(
        containerId,
        checked(expect, async (exec, s) => {
          const root = rootOf(s, q.dev);
          if (root?.startsWith(`qdisc tbf ${q.handle} `))
            await must(exec, ['tc', 'qdisc', 'del', 'dev', q.dev, 'root'], 'tc qdisc del');
          await must(exec, ['tc', 'qdisc', 'add', 'dev', q.dev, 'root', 'handle', q.handle, ...q.args], 'tc qdisc add');
          return true;
        }),
      ),

    removeQdisc: (containerId, expect, q) =>
      inNetns(
        containerId,
        checked(expect, async (exec, s) => {
          const root = rootOf(s, q.dev);
          if (!root || !root.split(' ')[2]?.startsWith(q.handle)) return false; // not ours: never touched
          await must(exec, ['tc', 'qdisc', 'del', 'dev', q.dev, 'root', 'handle', q.handle], 'tc qdisc del');
          return true;
        }),
      ),

    async addresses(idOrName) {
      try {
        const i = await docker.getContainer(idOrName).inspect();
        const nets = Object.values(i.NetworkSettings?.Networks ?? {}) as { IPAddress?: string }[];
        const own = (i.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress;
        return [...new Set([own, ...nets.map((n) => n.IPAddress)].filter((a): a is string => !!a))];
      } catch (e) {
        if (statusOf(e) === 404) return null;
        throw e;
      }
    },

    async macOn(containerId, network) {
      try {
        const i = await docker.getContainer(containerId).inspect();
        return (i.NetworkSettings?.Networks?.[network] as { MacAddress?: string } | undefined)?.MacAddress || undefined;
      } catch (e) {
        if (statusOf(e) === 404) return undefined;
        throw e;
      }
    },

    async limits(containerId): Promise<ResourceLimits | null> {
      let i: Dockerode.ContainerInspectInfo;
      try {
        i = await docker.getContainer(containerId).inspect();
      } catch (e) {
        if (statusOf(e) === 404) return null;
        throw e;
      }
      const info = (await docker.info()) as { NCPU?: number; MemTotal?: number };
      const hc = i.HostConfig as { NanoCpus?: number; CpuQuota?: number; CpuPeriod?: number; Memory?: number };
      const cpus = hc.NanoCpus
        ? hc.NanoCpus / 1e9
        : hc.CpuQuota && hc.CpuQuota > 0
          ? hc.CpuQuota / (hc.CpuPeriod || 100_000)
          : undefined;
      return {
        ...(cpus ? { cpus } : {}),
        ...(hc.Memory ? { memoryBytes: hc.Memory } : {}),
        hostCpus: info.NCPU ?? 1,
        hostMemoryBytes: info.MemTotal ?? 0,
      };
    },

    stressAvailable: async () => (await image()).stress,

    async startStressor(containerId, s: StressorSpec) {
      const existing = await docker
        .getContainer(s.name)
        .inspect()
        .catch((e: unknown) => {
          if (statusOf(e) === 404) return null;
          throw e;
        });
      if (existing?.State.Running) return; // a retried inject: it runs already
      if (existing) await docker.getContainer(s.name).remove({ force: true });
      if (!(await image()).stress)
        throw new FaultTargetGone(
          "stress-ng is not installed on this host, so Faultline's helper image has none: install Debian's stress-ng (scripts/setup.sh), then run again",
        );
      let target: Dockerode.ContainerInspectInfo;
      try {
        target = await docker.getContainer(containerId).inspect();
      } catch (e) {
        if (statusOf(e) === 404) throw new FaultTargetGone(`container ${containerId} no longer exists`);
        throw e;
      }
      if (!target.State.Running)
        throw new FaultTargetGone(`container ${target.Name.replace(/^\//, '')} is not running`);
      const info = (await docker.info()) as { CgroupDriver?: string };
      const parent = (target.HostConfig as { CgroupParent?: string }).CgroupParent;
      const labels = { 'faultline.component': STRESSOR_COMPONENT, 'faultline.stress.target': target.Id };
      const stressNg = [...s.args, '--timeout', `${s.timeoutSeconds}s`];
      if (info.CgroupDriver !== 'systemd') {
        // Docker makes the stressor's cgroup a child of the target's under every controller (and removes it
        // with the stressor): charged to the target and bound by its limits, with a CPU quota of its own.
        const c = await create(
          {
            name: s.name,
            Cmd: ['/usr/bin/stress-ng', ...stressNg],
            Labels: labels,
            HostConfig: {
              CgroupParent: `${parent || '/docker'}/${target.Id}`,
              ...(s.cpus !== undefined ? { NanoCpus: Math.round(s.cpus * 1e9) } : {}),
              NetworkMode: 'none',
              CapDrop: ['NET_RAW', 'MKNOD'],
            },
          },
          true,
        );
        await c.start();
        return;
      }
      // The systemd driver makes a container a scope, which can have no child: the shell moves itself (0: the
      // writer) into the target's own cgroup under every controller, then becomes stress-ng; a CPU share is
      // then stress-ng's --cpu-load (paced by the wall clock: less than asked on a loaded host).
      const cgroup = `/${parent || 'system.slice'}/docker-${target.Id}.scope`;
      const workers = Number(s.args[s.args.indexOf('--cpu') + 1]);
      const pace =
        s.cpus !== undefined && workers > 0
          ? ['--cpu-load', String(Math.max(1, Math.min(100, Math.round((s.cpus / workers) * 100))))]
          : [];
      const script = [
        'set -e',
        'n=0',
        'for c in /cg/*; do f="$c$FL_CGROUP/cgroup.procs"; if [ -f "$f" ]; then echo 0 > "$f"; n=$((n+1)); fi; done',
        '[ "$n" -gt 0 ] || { echo "no cgroup $FL_CGROUP under the host\'s cgroup tree" >&2; exit 70; }',
        'exec /usr/bin/stress-ng "$@"',
      ].join('\n');
      const c = await create(
        {
          name: s.name,
          Cmd: ['/bin/sh', '-c', script, 'stressor', ...pace, ...stressNg],
          Env: [`FL_CGROUP=${cgroup}`],
          Labels: labels,
          HostConfig: { Binds: ['/sys/fs/cgroup:/cg:rw'], NetworkMode: 'none', CapDrop: ['NET_RAW', 'MKNOD'] },
        },
        true,
      );
      await c.start();
    },

    async nameservers(containerId) {
      const id = await fullId(containerId);
      if (!id) return null;
      return inPidns(
        id,
        async (exec) => {
          const r = await exec(['/usr/bin/cat', '/proc/1/root/etc/resolv.conf']);
          return r.code === 0 ? parseNameservers(r.stdout) : [];
        },
        true,
      );
    },

    async startResolver(containerId, s: ResolverSpec) {
      const log = async () => demuxLogs(await docker.getContainer(s.name).logs({ stdout: true, stderr: true }));
      const existing = await docker
        .getContainer(s.name)
        .inspect()
        .catch((e: unknown) => {
          if (statusOf(e) === 404) return null;
          throw e;
        });
      if (existing && !existing.State.Running) await docker.getContainer(s.name).remove({ force: true });
      if (!existing?.State.Running) {
        try {
          const c = await createResolver({
            name: s.name,
            Cmd: ['/usr/bin/node', '/app/dns-resolver.mjs'],
            Env: [`FL_DNS=${JSON.stringify(s.config)}`],
            User: `${DNS_RESOLVER_UID}:${DNS_RESOLVER_UID}`,
            Labels: { 'faultline.component': RESOLVER_COMPONENT, 'faultline.dns.target': containerId },
            HostConfig: { NetworkMode: `container:${containerId}`, CapDrop: ['ALL'] },
          });
          await c.start();
        } catch (e) {
          const why = noNamespace(e);
          if (why) {
            // created but never started (its target has no namespace), or not created at all: nothing to remove
            await docker
              .getContainer(s.name)
              .remove({ force: true })
              .catch(() => undefined);
            return { ready: false, log: why };
          }
          throw new InfrastructureError(`cannot start the resolver in ${containerId}'s namespace: ${messageOf(e)}`);
        }
      }
      for (const until = Date.now() + RESOLVER_READY_MS; ; await new Promise((r) => setTimeout(r, 100))) {
        const text = await log();
        if (/^ready: /m.test(text)) return { ready: true, log: text };
        const running = (await docker.getContainer(s.name).inspect()).State.Running;
        if (!running || Date.now() > until)
          return { ready: false, log: text || (running ? 'not ready in time' : 'exited') };
      }
    },

    stopResolver: (name) => removeByName(name),

    async resolverRunning(name) {
      try {
        return (await docker.getContainer(name).inspect()).State.Running;
      } catch (e) {
        if (statusOf(e) === 404) return false;
        throw e;
      }
    },

    stopStressor: (name) => removeByName(name),

    async stressorRunning(name) {
      try {
        return (await docker.getContainer(name).inspect()).State.Running;
      } catch (e) {
        if (statusOf(e) === 404) return false;
        throw e;
      }
    },

    async nsProcesses(containerId) {
      const id = await fullId(containerId);
      return id ? inPidns(id, (exec) => listIn(exec, id)) : null;
    },

    async signalProcesses(containerId, signal, procs) {
      const id = await fullId(containerId);
      if (!id) return null;
      const sig = signal.toUpperCase().replace(/^SIG/, '');
      if (!/^[A-Z0-9]+$/.test(sig)) throw new InfrastructureError(`not a signal: ${signal}`);
      return inPidns(id, async (exec) => {
        const now = await listIn(exec, id);
        const pids = procs
          .filter((p) => now.some((n) => n.pid === p.pid && n.start === p.start))
          .map((p) => String(p.pid));
        if (!pids.length) return [];
        // A process that ended between the list and the signal fails kill: it needed no signal any more.
        await exec(['/bin/sh', '-c', 'sig=$1; shift; kill -"$sig" "$@"', 'signal', sig, ...pids]);
        return pids.map(Number);
      });
    },

    async dirUsage(containerId, dir, file) {
      const id = await fullId(containerId);
      if (!id) return null;
      return inPidns(
        id,
        async (exec) => {
          const r = await exec(['/bin/sh', '-c', DIR_SCRIPT, 'usage', ...dirArgs(dir, file)]);
          if (r.code !== 0) throw new InfrastructureError(`reading ${dir} in the container failed: ${r.stderr.trim()}`);
          return parseDirUsage(r.stdout);
        },
        true,
      );
    },

    async fillFile(containerId, dir, file, bytes) {
      const id = await fullId(containerId);
      if (!id) return false;
      const done = await inPidns(
        id,
        async (exec) => {
          const u = await exec(['/bin/sh', '-c', DIR_SCRIPT, 'usage', ...dirArgs(dir, file)]);
          const usage = parseDirUsage(u.stdout);
          if (u.code !== 0 || usage.link || usage.notDir)
            throw new InfrastructureError(
              `${dir} in the container: ${usage.link ? `${usage.link} is a symbolic link` : usage.notDir ? 'not a directory' : u.stderr.trim()}`,
            );
          if (usage.fileBytes === bytes) return true; // a retried inject
          const r = await exec(['/usr/bin/fallocate', '-l', String(bytes), containerPath(dir, file)]);
          if (r.code !== 0) throw new InfrastructureError(`fallocate in the container failed: ${r.stderr.trim()}`);
          return true;
        },
        true,
      );
      return !!done;
    },

    async removeFile(containerId, dir, file) {
      const id = await fullId(containerId);
      if (!id) return null;
      return inPidns(
        id,
        async (exec) => {
          const there = parseDirUsage(
            (await exec(['/bin/sh', '-c', DIR_SCRIPT, 'usage', ...dirArgs(dir, file)])).stdout,
          );
          if (there.link || there.fileBytes === undefined) return false;
          const r = await exec(['/usr/bin/rm', '-f', containerPath(dir, file)]);
          if (r.code !== 0) throw new InfrastructureError(`removing ${dir}/${file} failed: ${r.stderr.trim()}`);
          return true;
        },
        true,
      );
    },

    async processes(containerId): Promise<ProcessInfo[] | null> {
      let top: { Titles?: string[]; Processes?: string[][] };
      try {
        top = (await docker.getContainer(containerId).top()) as typeof top;
      } catch (e) {
        if (statusOf(e) === 404 || /is not running/i.test(messageOf(e))) return null;
        throw e;
      }
      const titles = top.Titles ?? [];
      const pid = titles.indexOf('PID');
      const cmd = titles.indexOf('CMD') >= 0 ? titles.indexOf('CMD') : titles.length - 1;
      return (top.Processes ?? []).map((p) => ({ pid: Number(p[pid]), command: p[cmd] ?? '' }));
    },
  };
}
