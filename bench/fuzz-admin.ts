// Admin API fuzzing: generated requests (proxy/test/admin-fuzz.ts, the property test's generators and
// model) against a real `faultline proxy` child process on loopback, so a crash is seen as a crash.
// Every request must be answered with a 2xx or a JSON 4xx (a port in use is Toxiproxy's 500, counted
// apart), carry the request ID, and leave GET /proxies equal to the model. bench/fuzz.ts calls
// fuzzAdmin(); run alone, this file also fuzzes Toxiproxy v2.12.0 with the same requests (answers only:
// its state rules differ) and writes bench/results/fuzz-admin.json.
//   npx tsx bench/fuzz-admin.ts [requests] [seed]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { AdminModel, adminRequest, clear, step, type FuzzPorts, type Outcome } from '../proxy/test/admin-fuzz.ts';
import { echoServer, portHolder } from '../proxy/test/support.ts';
import { freePort } from '../cli/dev-server.ts';
import { exchange, rawRequest } from '../proxy/test/raw-http.ts';
import { ensureToxiproxy } from './toxiproxy.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Requests between two clears: long enough for state to build up (collisions, loops, limits). */
const SEQUENCE = 40;

export interface FuzzAdminResult {
  requests: number;
  ok2xx: number;
  rejected4xx: number;
  server5xx: number;
  silent: number;
  crashed: number;
  inconsistent: number;
  worstMs: number;
  /** Toxiproxy's own answer to a listen address in use (500), counted apart from server5xx. */
  conflict500: number;
  /** Answers without the request ID, errors that are not JSON, garbage after a valid request unanswered. */
  badAnswers: number;
  /** The slowest request. */
  worstRequest?: string;
  /** First few problems seen, for the report. */
  examples: string[];
}

async function answers(port: number): Promise<boolean> {
  const ex = await exchange(port, rawRequest('GET', '/version'), { timeoutMs: 2_000 });
  return ex.responses[0]?.status === 200;
}

async function waitUp(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the proxy exited with ${child.exitCode} at start`);
    if (await answers(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the proxy did not answer within 15 s');
}

type Server = { start(): Promise<ChildProcess>; stop(): void };

function faultlineProxy(port: number): Server {
  let child: ChildProcess | undefined;
  return {
    start: async () => {
      child = spawn(process.execPath, [path.join(ROOT, 'bin', 'faultline.mjs'), 'proxy', '--port', String(port)], {
        stdio: 'ignore',
      });
      await waitUp(port, child);
      return child;
    },
    stop: () => void child?.kill('SIGKILL'),
  };
}

function toxiproxy(port: number): Server {
  let child: ChildProcess | undefined;
  return {
    start: async () => {
      child = spawn(ensureToxiproxy(), ['-host', '127.0.0.1', '-port', String(port)], {
        stdio: 'ignore',
        env: { ...process.env, LOG_LEVEL: 'error' },
      });
      await waitUp(port, child);
      return child;
    },
    stop: () => void child?.kill('SIGKILL'),
  };
}

async function run(
  server: Server,
  ports: FuzzPorts,
  opts: { requests: number; seed: number; checkState: boolean },
): Promise<FuzzAdminResult> {
  const out: FuzzAdminResult = {
    requests: 0,
    ok2xx: 0,
    rejected4xx: 0,
    server5xx: 0,
    silent: 0,
    crashed: 0,
    inconsistent: 0,
    worstMs: 0,
    conflict500: 0,
    badAnswers: 0,
    examples: [],
  };
  const requests = fc.sample(adminRequest(ports), { seed: opts.seed, numRuns: opts.requests });
  let child = await server.start();
  const model = new AdminModel();
  try {
    for (let i = 0; i < requests.length; i++) {
      if (i % SEQUENCE === 0) await clear(ports, model);
      const r = requests[i]!;
      const res = await step(ports, model, r, { checkState: opts.checkState });
      out.requests++;
      if (res.ms > out.worstMs) out.worstRequest = JSON.stringify(r).slice(0, 300);
      out.worstMs = Math.max(out.worstMs, res.ms);
      let outcome: Outcome = res.outcome;
      if (outcome === 'crashed' || child.exitCode !== null || !(await answers(ports.admin))) {
        outcome = 'crashed';
        out.crashed++;
        server.stop();
        child = await server.start(); // go on with a fresh process
        model.proxies.clear();
      } else out[outcome]++;
      if (outcome !== 'crashed' && res.stateProblems.length) out.inconsistent++;
      if (res.problems.some((p) => !/^\d{3}: /.test(p))) out.badAnswers++;
      const problems = [...res.problems, ...res.stateProblems];
      if ((problems.length || outcome === 'crashed') && out.examples.length < 5)
        out.examples.push(
          `#${i} ${outcome}: ${problems.join('; ').slice(0, 300)} <- ${JSON.stringify(r).slice(0, 200)}`,
        );
    }
  } finally {
    server.stop();
  }
  out.worstMs = Math.round(out.worstMs * 10) / 10;
  return out;
}

async function fixtures(): Promise<{ ports: FuzzPorts; close(): Promise<void> }> {
  const echo = await echoServer();
  const blocker = await portHolder();
  const ports: FuzzPorts = {
    admin: await freePort(),
    echo: echo.port,
    spare: [await freePort(), await freePort()],
    blocked: blocker.port,
  };
  return {
    ports,
    close: async () => {
      blocker.close();
      await echo.close();
    },
  };
}

/** `requests` generated admin requests (seeded) against a `faultline proxy` child process. */
export async function fuzzAdmin(opts: { requests: number; seed: number }): Promise<FuzzAdminResult> {
  const f = await fixtures();
  try {
    return await run(faultlineProxy(f.ports.admin), f.ports, { ...opts, checkState: true });
  } finally {
    await f.close();
  }
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 10_000);
  const seed = Number(process.argv[3] ?? 20_261_125);
  const t0 = Date.now();
  const ours = await fuzzAdmin({ requests, seed });
  const oursS = (Date.now() - t0) / 1000;
  // The peer gets the same requests; only its answers are judged (its state rules are Toxiproxy's), and
  // nothing connects through its proxies (a looping one would take it down: the first point).
  const f = await fixtures();
  const peerN = Math.min(requests, 2_000);
  let peer: FuzzAdminResult | undefined;
  try {
    peer = await run(toxiproxy(f.ports.admin), f.ports, { requests: peerN, seed, checkState: false });
  } catch (e) {
    console.log(`Toxiproxy not measured: ${(e as Error).message}`);
  } finally {
    await f.close();
  }
  const rows: [string, keyof FuzzAdminResult][] = [
    ['requests', 'requests'],
    ['2xx', 'ok2xx'],
    ['JSON 4xx', 'rejected4xx'],
    ["500 port in use (Toxiproxy's answer)", 'conflict500'],
    ['other 5xx', 'server5xx'],
    ['no answer', 'silent'],
    ['crashed / stopped answering', 'crashed'],
    ['answers without request ID / non-JSON errors / garbage unanswered', 'badAnswers'],
    ['state differs from the model', 'inconsistent'],
    ['worst request, ms', 'worstMs'],
  ];
  console.log(`\nadmin API fuzz, seed ${seed} (${oursS.toFixed(1)} s for Faultline)`);
  console.log(`| figure | Faultline | Toxiproxy v2.12.0 (first ${peerN}) |`);
  console.log('|---|---|---|');
  for (const [label, k] of rows)
    console.log(`| ${label} | ${ours[k] as number} | ${peer ? (peer[k] as number) : '–'} |`);
  console.log(`\nslowest request (${ours.worstMs} ms): ${ours.worstRequest ?? ''}`);
  if (ours.examples.length) console.log(`\nFaultline problems:\n${ours.examples.join('\n')}`);
  if (peer?.examples.length) console.log(`\nToxiproxy, first problems:\n${peer.examples.slice(0, 3).join('\n')}`);
  const file = path.join(ROOT, 'bench', 'results', 'fuzz-admin.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, seed, faultline: ours, toxiproxy: peer }, null, 2)}\n`,
  );
  console.log(`\nwrote ${path.relative(ROOT, file)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e);
      process.exit(1);
    },
  );
