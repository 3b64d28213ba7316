// What the sweep activities need from the worker's host: its name (the daemon's own), its daemon, its
// warden's ledger and the known fault proxy. Kept out of worker.ts so an agent wires the same.
import type { Client } from '@temporalio/client';
import type { Ports } from '../faults/ports.ts';
import type { SweepDeps } from '../activities/sweep.ts';
import { localHostName } from '../activities/adapters/warden-container.ts';
import { WARDEN_DIR } from '../config.ts';
import { proxyInventory } from './proxy-port.ts';

export function sweepDeps(client: Client, ports: Ports, ledgerDir = WARDEN_DIR): SweepDeps {
  let name: Promise<string> | undefined;
  return {
    client,
    host: () => (name ??= localHostName()),
    containers: ports.containers,
    ...(ports.kernel ? { kernel: ports.kernel } : {}),
    ledgerDir,
    proxy: proxyInventory,
  };
}
