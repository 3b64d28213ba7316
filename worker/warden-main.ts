// The warden's process entry, bundled into the node image as /app/warden.mjs and run in a container
// with a restart policy, the Docker socket and the ledger directory mounted (see activities/adapters/warden-container.ts).
import { createDockerContainerPort } from '../activities/adapters/docker.ts';
import { createDockerKernelPort } from '../activities/adapters/kernel.ts';
import type { ProxyPort } from '../faults/ports.ts';
import { runWarden } from '../warden/warden.ts';

const dir = process.env.FAULTLINE_LEDGER ?? '/ledger';
// Proxy faults expire in the proxy itself; the warden only holds container faults.
const noProxy = new Proxy({} as ProxyPort, {
  get: () => () => Promise.reject(new Error('the warden holds container faults only')),
});
const stop = new AbortController();
for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => stop.abort());
runWarden({
  dir,
  ports: { containers: createDockerContainerPort(), proxy: noProxy, kernel: createDockerKernelPort() },
  log: (l) => console.log(`${new Date().toISOString()} ${l}`),
  signal: stop.signal,
}).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`warden: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
