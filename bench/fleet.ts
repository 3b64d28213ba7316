// npm run bench:fleet — pause 50 containers spread over two real Docker daemons (the machine's and a second
// dockerd started here, test/second-daemon.ts) and unpause them: time to apply and to revert all of them,
// through the container.pause fault kind (inspect + pause; revert: inspect + unpause) over each daemon's
// ContainerPort, all calls at once (50 concurrent Docker calls, 25 per daemon) vs one after the other.
// Target: under 1 s each. Writes bench/results/fleet.json and prints a table. Takes the e2e lock.
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { ensureDemoImage } from '../demo/image.ts';
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { containerPause } from '../faults/container-pause.ts';
import type { Ports } from '../faults/ports.ts';
import type { ContainerHandle } from '../faults/container-common.ts';
import { startSecondDaemon } from '../test/second-daemon.ts';
import { PROJECT_ROOT } from '../config.ts';

const PER_DAEMON = 25;
const ROUNDS = 5;
const spec = containerPause.spec.parse({ kind: 'container.pause', duration: '10s' });

interface Target {
  ports: Ports;
  handle: ContainerHandle;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return Math.round(performance.now() - t0);
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function main(): Promise<void> {
  // The lock the e2e suites share: containers and a second daemon are created here.
  const lock = openSync('/tmp/faultline-e2e.lock', 'r');
  execFileSync('flock', ['-x', String(3)], { stdio: ['ignore', 'inherit', 'inherit', lock] });
  const first = new Dockerode();
  const image = await ensureDemoImage(first);
  const second = await startSecondDaemon();
  const id = `fl-fleet-${process.pid}`;
  const created: { docker: Dockerode; name: string }[] = [];
  try {
    second.load(image);
    const daemons = [
      { name: 'first', docker: first },
      { name: 'second', docker: second.docker },
    ];
    const targets: Target[] = [];
    for (const d of daemons) {
      const ports: Ports = { containers: createDockerContainerPort(d.docker), proxy: {} as Ports['proxy'] };
      for (let i = 0; i < PER_DAEMON; i++) {
        const name = `${id}-${d.name}-${i}`;
        const c = await d.docker.createContainer({
          name,
          Image: image,
          Cmd: ['/usr/bin/node', '-e', 'setInterval(() => {}, 1 << 30)'],
          Labels: { 'faultline.bench': id },
          HostConfig: { NetworkMode: 'none' },
        });
        created.push({ docker: d.docker, name });
        await c.start();
        targets.push({ ports, handle: await containerPause.prepare(ports, spec, { container: { id: c.id, name } }) });
      }
    }
    const apply = (t: Target) => containerPause.inject(t.ports, spec, t.handle);
    const revert = (t: Target) => containerPause.revert(t.ports, t.handle);
    const allPaused = async (want: string) => {
      for (const t of targets) {
        const s = (await t.ports.containers.inspect(t.handle.containerId))?.state;
        if (s !== want) throw new Error(`${t.handle.containerName} is ${s}, expected ${want}`);
      }
    };
    const concurrent = { apply: [] as number[], revert: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      concurrent.apply.push(await timed(() => Promise.all(targets.map(apply))));
      await allPaused('paused');
      concurrent.revert.push(await timed(() => Promise.all(targets.map(revert))));
      await allPaused('running');
    }
    const sequential = {
      apply: await timed(async () => {
        for (const t of targets) await apply(t);
      }),
      revert: await timed(async () => {
        for (const t of targets) await revert(t);
      }),
    };
    await allPaused('running');
    const rows = [
      ['apply (pause all 50)', concurrent.apply, sequential.apply],
      ['revert (unpause all 50)', concurrent.revert, sequential.revert],
    ] as const;
    console.log(
      `\n${targets.length} containers over 2 daemons (${PER_DAEMON} each), ${ROUNDS} rounds, 50 concurrent Docker calls`,
    );
    console.log('step                     | concurrent p50 / max | one at a time | ratio | target < 1 s');
    for (const [step, xs, seq] of rows)
      console.log(
        `${step.padEnd(24)} | ${`${pct(xs, 0.5)} / ${Math.max(...xs)} ms`.padEnd(20)} | ${`${seq} ms`.padEnd(13)} | ${(seq / pct(xs, 0.5)).toFixed(1)}x  | ${Math.max(...xs) < 1000 ? 'met' : 'NOT met'}`,
      );
    const out = path.join(PROJECT_ROOT, 'bench', 'results', 'fleet.json');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(
      out,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: { cpus: os.cpus().length, node: process.version },
          containers: targets.length,
          daemons: 2,
          concurrentDockerCalls: targets.length,
          rounds: ROUNDS,
          concurrentMs: concurrent,
          sequentialMs: sequential,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await Promise.all(
      created.map((c) =>
        c.docker
          .getContainer(c.name)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await second.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
