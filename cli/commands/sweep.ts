// `faultline sweep [--fix] [--json]`: what Faultline left applied that no open run holds (warden/sweep.ts),
// on the local Docker host's ledger and the known fault proxy. Exit 0 when nothing is orphaned (or every
// orphan was fixed), 1 when orphans remain, 3 when a fix failed.
import { connectClient, runningJournals } from '../client.ts';
import { createDockerContainerPort } from '../../activities/adapters/docker.ts';
import { ProxyClient } from '../../activities/adapters/proxy-client.ts';
import { heldBy, sweepHost, sweepProxy, type OpenRuns, type Orphan } from '../../warden/sweep.ts';
import { WARDEN_DIR } from '../../config.ts';
import { localHostName } from '../../activities/adapters/warden-container.ts';
import type { Io } from '../io.ts';

export async function sweepCommand(opts: { fix?: boolean; json?: boolean }, io: Io): Promise<number> {
  const fc = await connectClient();
  let open: OpenRuns;
  try {
    const runs = await runningJournals(fc);
    open = { ids: new Set(runs.map((r) => r.workflowId)), toxics: new Set(), unreadable: [] };
    for (const r of runs) {
      if (!r.journal) open.unreadable.push(r.workflowId);
      else for (const t of heldBy(r.journal.faults).toxics) open.toxics.add(t);
    }
  } finally {
    await fc.close();
  }
  const containers = createDockerContainerPort();
  const orphans: Orphan[] = await sweepHost(
    { host: await localHostName(), ledgerDir: WARDEN_DIR, containers },
    open,
    !!opts.fix,
  );
  const { proxyEndpoint } = await import('../../worker/proxy-port.ts'); // the worker's own lookup, loaded lazily
  const ep = proxyEndpoint();
  if (ep) {
    const c = new ProxyClient(ep.url, ep.token);
    orphans.push(
      ...(await sweepProxy(
        {
          name: ep.url,
          listProxies: () => c.listProxies(),
          listToxics: (p) => c.listToxics(p),
          removeToxic: (p, t) => c.removeToxic(p, t),
        },
        open,
        !!opts.fix,
      )),
    );
  }
  if (opts.json) io.out(JSON.stringify({ orphans, openRuns: [...open.ids], unreadable: open.unreadable }, null, 2));
  else {
    if (open.unreadable.length)
      io.err(
        `warning: ${open.unreadable.length} open run(s) did not answer (no worker?): their toxics cannot be judged: ${open.unreadable.join(', ')}`,
      );
    if (!orphans.length) io.out(`no orphans (${open.ids.size} open run(s))`);
    for (const o of orphans) {
      const state = o.fixed ? 'FIXED' : o.error ? `FIX FAILED: ${o.error}` : o.applied ? 'ORPHAN' : 'STALE';
      io.out(
        `${state.padEnd(7)} ${o.host}  ${o.type} ${o.what} on ${o.target}${o.workflowId ? `  (left by ${o.workflowId})` : ''}`,
      );
    }
  }
  if (orphans.some((o) => o.error)) return 3;
  return orphans.some((o) => !o.fixed) ? 1 : 0;
}
