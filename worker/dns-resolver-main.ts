// Faultline's resolver for the dns.* fault kinds, bundled into the node image as /app/dns-resolver.mjs and run
// in a container of its own that shares the target's network namespace (activities/adapters/kernel.ts), as a
// uid the redirect leaves alone. The target's DNS queries to each of its nameservers are redirected (nat
// table) to one of its ports; a query for a name the fault names gets the fault's answer
// (faults/dns-answer.ts), any other is forwarded to that nameserver, over the same transport (UDP or TCP),
// and its answer relayed unchanged. It ends by itself at the fault's deadline whatever else happens.
import dgram from 'node:dgram';
import net from 'node:net';
import { answerQuery, type ResolverConfig } from '../faults/dns-answer.ts';

const FORWARD_TIMEOUT_MS = 5_000;
const config = JSON.parse(process.env.FL_DNS ?? '{}') as ResolverConfig;

function forwardUdp(upstream: string, query: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (b?: Buffer) => {
      clearTimeout(t);
      s.close();
      resolve(b);
    };
    const t = setTimeout(() => done(), FORWARD_TIMEOUT_MS);
    s.on('message', (m) => done(m));
    s.on('error', () => done());
    s.send(query, 53, upstream);
  });
}

function forwardTcp(upstream: string, framed: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(53, upstream);
    let got = Buffer.alloc(0);
    const done = (b?: Buffer) => {
      clearTimeout(t);
      s.destroy();
      resolve(b);
    };
    const t = setTimeout(() => done(), FORWARD_TIMEOUT_MS);
    s.on('connect', () => s.write(framed));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(got.subarray(0, 2 + got.readUInt16BE(0)));
    });
    s.on('error', () => done());
    s.on('end', () => done());
  });
}

const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);

function udpListener(port: number, upstream: string): Promise<void> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (query, from) => {
    const own = answerQuery(query, config);
    if (own) sock.send(own, from.port, from.address);
    else
      void forwardUdp(upstream, query).then((r) => {
        if (r) sock.send(r, from.port, from.address);
      });
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, '0.0.0.0', () => resolve());
  });
}

function tcpListener(port: number, upstream: string): Promise<void> {
  const server = net.createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('error', () => undefined);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const query = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + query.length);
        const own = answerQuery(query, config);
        if (own) c.write(frame(own));
        else
          void forwardTcp(upstream, frame(query)).then((r) => {
            if (r && !c.destroyed) c.write(r);
          });
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
}

setTimeout(() => process.exit(0), Math.max(0, config.until - Date.now())).unref();
setInterval(() => undefined, 60_000); // alive until the deadline, or until it is removed
Promise.all(config.listen.flatMap((l) => [udpListener(l.port, l.upstream), tcpListener(l.port, l.upstream)])).then(
  () => console.log(`ready: ${config.listen.map((l) => `:${l.port} -> ${l.upstream}:53`).join(', ')}`),
  (e: unknown) => {
    console.error(`resolver: cannot listen: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(70);
  },
);
