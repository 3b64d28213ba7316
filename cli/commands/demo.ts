// faultline demo up|down: the demo target (front + 3 backend replicas behind the fault proxy).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { demoDown, demoUp } from '../../demo/index.ts';
import { InvalidInput } from '../../errors.ts';
import { STATE_DIR } from '../../config.ts';
import type { Io } from '../io.ts';

const stateFile = () => path.join(STATE_DIR, 'demo.json');

export async function demoCommand(action: string, opts: { json?: boolean }, io: Io): Promise<number> {
  if (action === 'up') {
    const stack = await demoUp({ loadRps: 20 }); // traffic of its own, so metrics and the judge have events
    mkdirSync(STATE_DIR, { recursive: true });
    // The worker reads the proxy's admin URL and token from here for proxy.* and http.* faults.
    writeFileSync(stateFile(), JSON.stringify(stack, null, 2), { mode: 0o600 });
    if (opts.json)
      io.out(JSON.stringify({ ...stack, proxyToken: stack.proxyToken ? '<in .state/demo.json>' : undefined }, null, 2));
    else {
      io.out(
        `demo up: ${stack.frontUrl} → ${stack.containers.backends.length} backends${stack.containers.proxy ? ` via fault proxy ${stack.proxyAdminUrl}` : ''}`,
      );
      io.out(
        `  containers: ${[stack.containers.front, stack.containers.proxy, ...stack.containers.backends].filter(Boolean).join(', ')}`,
      );
    }
    return 0;
  }
  if (action === 'down') {
    const r = await demoDown();
    rmSync(stateFile(), { force: true });
    io.out(opts.json ? JSON.stringify(r) : `demo down: removed ${r.removed.length ? r.removed.join(', ') : 'nothing'}`);
    return 0;
  }
  throw new InvalidInput(`demo takes "up" or "down", not "${action}"`);
}
