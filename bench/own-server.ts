// The Temporal dev server a benchmark runs against: its own, in a temporary folder removed by stop, unless
// TEMPORAL_ADDRESS names one (then stop leaves that alone). The started server's address is also put in
// TEMPORAL_ADDRESS, which the CLI's client library and in-process workers read.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer } from '../cli/dev-server.ts';

export async function ownServer(name: string): Promise<{ address: string; stop: () => Promise<void> }> {
  const given = process.env.TEMPORAL_ADDRESS;
  if (given) return { address: given, stop: async () => undefined };
  const dir = mkdtempSync(path.join(os.tmpdir(), `faultline-bench-${name}-`));
  const server = await startDevServer({
    dbFile: path.join(dir, 'temporal.db'),
    port: await freePort(),
    uiPort: await freePort(),
    logFile: path.join(dir, 'temporal.log'),
  });
  process.env.TEMPORAL_ADDRESS = server.address;
  return {
    address: server.address,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
