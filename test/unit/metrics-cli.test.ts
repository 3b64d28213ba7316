// The --metrics setting at the CLI (a child process; nothing listens at the Temporal address it gets, so a
// command that got past the setting could not start anything and would exit 3): a setting that does not
// parse, a port in use, and --metrics without an in-process worker are each one line naming the flag or the
// variable, exit 2, no stack trace; the port in use is found before anything connects.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.ts';

const NO_SERVER = { TEMPORAL_ADDRESS: '127.0.0.1:1' }; // nothing listens there
const EXAMPLE = 'experiments/examples/kill-one-backend.yaml';
let busy: net.Server;
let port = 0;
beforeAll(async () => {
  busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  port = (busy.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => busy.close(() => r())));

function refused(r: { status: number | null; stderr: string }, text: string): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toContain(text);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

describe('--metrics / FAULTLINE_METRICS at the CLI', () => {
  it('a setting that does not parse: worker, agent (from the variable), run --worker', () => {
    refused(runCli(['worker', '--metrics', 'abc'], NO_SERVER), 'faultline: --metrics "abc": not an address');
    refused(runCli(['agent'], { ...NO_SERVER, FAULTLINE_METRICS: '70000' }), 'FAULTLINE_METRICS "70000"');
    refused(runCli(['run', EXAMPLE, '--worker', '--metrics', 'host:'], NO_SERVER), '--metrics "host:"');
  });

  it('a port in use is refused before anything connects (exit 2, not the 3 of an unreachable server)', () => {
    refused(runCli(['worker', '--metrics', `127.0.0.1:${port}`], NO_SERVER), `127.0.0.1:${port}: the port is in use`);
    refused(
      runCli(['run', EXAMPLE, '--worker'], { ...NO_SERVER, FAULTLINE_METRICS: String(port) }),
      `FAULTLINE_METRICS 127.0.0.1:${port}: the port is in use`,
    );
  });

  it('--metrics without an in-process worker is refused; the flag wins over the variable', () => {
    refused(runCli(['run', EXAMPLE, '--metrics', '9464'], NO_SERVER), 'it needs --worker; nothing started');
    // The variable's bad value is not read when the flag says off: the command gets as far as the server (3).
    const r = runCli(['worker', '--metrics', 'off'], { ...NO_SERVER, FAULTLINE_METRICS: 'abc' });
    expect(r.status, r.stderr).toBe(3);
  });
});
