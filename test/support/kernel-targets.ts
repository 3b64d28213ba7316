// Targets for the kernel fault kinds' tests against the real daemon: containers of the locally built node
// image (never pulled) on a network of their own, running small servers given inline (a UDP echo, a TCP
// sink), and measurements taken with real traffic: UDP datagrams echoed or not, bytes per second through TCP.
import { spawn } from 'node:child_process';
import Dockerode from 'dockerode';
import { ensureDemoImage } from '../../demo/image.ts';
import { ensureToolsImage } from '../../activities/adapters/tools-image.ts';

export const docker = new Dockerode();

let nodeImage: Promise<string> | undefined;
/** The demo image (built by the run's global setup), found once per test file: each look bundles four entries. */
export function demoImage(): Promise<string> {
  nodeImage ??= ensureDemoImage(docker);
  return nodeImage;
}

/** UDP echo on 9001 and 9002; TCP on 9100: a sink that counts, and on 9101: a source that sends forever. */
const SERVERS = `
const d = require('dgram'), net = require('net');
for (const p of [9001, 9002]) { const s = d.createSocket('udp4'); s.on('message', (m, r) => s.send(m, r.port, r.address)); s.bind(p); }
net.createServer((c) => c.on('data', () => {}).on('error', () => {})).listen(9100);
const chunk = Buffer.alloc(65536, 120);
net.createServer((c) => { c.on('error', () => {}); const w = () => { while (c.write(chunk)); }; c.on('drain', w); w(); }).listen(9101);
console.log('ready');
`;

/**
 * Sends N numbered datagrams to HOST:PORT, at most C outstanding, each waiting up to T ms for its echo;
 * prints the share that never came back. Runs on the host (node -e) and inside a peer container alike.
 */
export const LOSS_PROBE = `
const [host, port, n = '600', c = '60', t = '1000'] = process.argv.slice(1);
const s = require('dgram').createSocket('udp4'), pending = new Map(); let got = 0, next = 0;
s.on('message', (m) => { const f = pending.get(m.toString()); if (f) { pending.delete(m.toString()); got++; f(); } });
const one = (k) => new Promise((res) => { const tm = setTimeout(() => { pending.delete(k); res(); }, +t); pending.set(k, () => { clearTimeout(tm); res(); }); s.send(k, +port, host); });
const worker = async () => { while (next < +n) await one(String(next++)); };
s.bind(0, async () => { await Promise.all(Array.from({ length: +c }, worker)); s.close(); console.log(JSON.stringify({ sent: +n, lost: 1 - got / +n })); });
`;

export interface KernelTarget {
  id: string;
  name: string;
  ip: string;
}

export async function createNetwork(name: string): Promise<void> {
  await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { 'faultline.test': name } });
}

export async function removeNetwork(name: string): Promise<void> {
  await docker
    .getNetwork(name)
    .remove()
    .catch(() => undefined);
}

export async function removeContainers(prefix: string): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { name: [prefix] } }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
}

/** A target on `network` running the servers above, with optional resource limits. */
export async function startTarget(
  name: string,
  network: string,
  limits: { nanoCpus?: number; memory?: number } = {},
): Promise<KernelTarget> {
  const c = await docker.createContainer({
    name,
    Image: await demoImage(),
    Cmd: ['/usr/bin/node', '-e', SERVERS],
    Labels: { 'faultline.test': name },
    HostConfig: {
      NetworkMode: network,
      ...(limits.nanoCpus ? { NanoCpus: limits.nanoCpus } : {}),
      ...(limits.memory ? { Memory: limits.memory } : {}),
    },
  });
  await c.start();
  for (const end = Date.now() + 60_000; ;) {
    const logs = (await c.logs({ stdout: true, stderr: true })).toString();
    if (logs.includes('ready')) break;
    if (Date.now() > end) throw new Error(`target ${name} did not start: ${logs}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { id: c.id, name, ip: await ipOf(name, network) };
}

export async function ipOf(name: string, network: string): Promise<string> {
  const i = await docker.getContainer(name).inspect();
  const ip = i.NetworkSettings.Networks[network]?.IPAddress;
  if (!ip) throw new Error(`${name} has no address on ${network}`);
  return ip;
}

/** Share of datagrams lost between this host and ip:port (both ways). */
export function hostLoss(ip: string, port: number, n = 600): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', LOSS_PROBE, ip, String(port), String(n)], { stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve((JSON.parse(out) as { lost: number }).lost) : reject(new Error(`loss probe: ${out}`)),
    );
  });
}

/** The output (stdout and stderr, as Docker multiplexes them) of a Node script run inside a container. */
export async function nodeIn(container: string, script: string, args: string[] = []): Promise<string> {
  const ex = await docker.getContainer(container).exec({
    Cmd: ['/usr/bin/node', '-e', script, ...args],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await ex.start({ hijack: true, stdin: false });
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => stream.on('end', r));
  return out;
}

/** Share of datagrams lost between a running peer container (the probe runs inside it) and ip:port. */
export async function peerLoss(peer: string, ip: string, port: number, n = 600): Promise<number> {
  const out = await nodeIn(peer, LOSS_PROBE, [ip, String(port), String(n)]);
  const m = /\{"sent".*\}/.exec(out);
  if (!m) throw new Error(`peer probe: ${out}`);
  return (JSON.parse(m[0]) as { lost: number }).lost;
}

/** A container that sits on a network doing nothing, to be named as a peer (its address is what counts). */
export async function startIdle(name: string, network: string): Promise<KernelTarget> {
  const c = await docker.createContainer({
    name,
    Image: await demoImage(),
    Cmd: ['/usr/bin/node', '-e', 'setInterval(() => {}, 1e9)'],
    Labels: { 'faultline.test': name },
    HostConfig: { NetworkMode: network },
  });
  await c.start();
  return { id: c.id, name, ip: await ipOf(name, network) };
}

/**
 * Runs a command in a container's network namespace the way someone other than Faultline would (a tools
 * container of its own), e.g. to put rules there that Faultline must leave alone.
 */
export async function inTargetNetns(target: string, cmd: string[]): Promise<string> {
  const { ref } = await ensureToolsImage(docker);
  const c = await docker.createContainer({
    Image: ref,
    Cmd: cmd,
    Labels: { 'faultline.test': 'other-tool' },
    HostConfig: { NetworkMode: `container:${target}`, CapAdd: ['NET_ADMIN'] },
  });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const out = (await c.logs({ stdout: true, stderr: true })).toString();
    if (StatusCode !== 0) throw new Error(`${cmd.join(' ')} exited ${StatusCode}: ${out}`);
    return out;
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

/**
 * Bits per second the target sends to this host through TCP (its source on 9101 writes as fast as it may):
 * what arrives in `ms` after the first `warmMs` (slow start and the token bucket's first burst left out).
 */
export async function hostThroughput(ip: string, port = 9101, ms = 3_000, warmMs = 1_000): Promise<number> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const sock = connect(port, ip);
    let bytes = 0;
    let from = 0;
    const t0 = Date.now();
    sock.on('data', (d: Buffer) => {
      const now = Date.now();
      if (now - t0 < warmMs) return;
      if (!from) {
        from = now; // this chunk arrived before the measurement began
        return;
      }
      bytes += d.length;
      if (now - from >= ms) {
        sock.destroy();
        resolve((bytes * 8 * 1000) / (now - from));
      }
    });
    sock.on('error', reject);
  });
}

/** A TCP connect from inside a container to `to`'s port 9100 (startTarget's sink): connected, or not within 1.5 s. */
const CONNECT = `const s = require('net').connect(9100, process.argv[1]); s.setTimeout(1500);
s.on('connect', () => { console.log('RESULT connected'); process.exit(0); });
s.on('timeout', () => { console.log('RESULT no-answer'); process.exit(0); });
s.on('error', (e) => { console.log('RESULT ' + e.code); process.exit(0); });`;

export async function connects(from: { id: string; name: string }, to: { ip: string }): Promise<boolean> {
  const out = await nodeIn(from.id, CONNECT, [to.ip]);
  const m = /RESULT (\S+)/.exec(out);
  if (!m) throw new Error(`connect probe in ${from.name}: ${out}`);
  return m[1] === 'connected';
}
