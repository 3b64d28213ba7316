// `faultline hosts [--json]`: the registered Docker hosts of the fleet, their daemon, how many agents poll
// each host's queue now and when one was last seen. `faultline hosts forget NAME` retires one.
import { DEFAULT_TASK_QUEUE } from '../../config.ts';
import { forgetHost, listHosts } from '../../activities/hosts.ts';
import { InvalidInput } from '../../errors.ts';
import { connectClient } from '../client.ts';
import type { Io } from '../io.ts';

const ago = (iso: string | undefined) => {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : iso;
};

export async function hostsCommand(
  action: string | undefined,
  name: string | undefined,
  opts: { json?: boolean; taskQueue?: string; who?: string },
  io: Io,
): Promise<number> {
  const fleet = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  if (action !== undefined && action !== 'forget') throw new InvalidInput(`hosts ${action}: only forget NAME`);
  if (action === 'forget' && !name) throw new InvalidInput('hosts forget: which host? (faultline hosts forget NAME)');
  const fc = await connectClient();
  try {
    if (action === 'forget') {
      await forgetHost(fc.client, fleet, name as string, opts.who);
      if (opts.json) io.out(JSON.stringify({ forgotten: name }));
      else io.out(`forgot host ${name} (fleet ${fleet}); an agent still running for it registers it again on restart`);
      return 0;
    }
    const hosts = await listHosts(fc.client, fleet);
    if (opts.json) {
      io.out(JSON.stringify({ fleet, hosts }, null, 2));
      return 0;
    }
    if (!hosts.length) {
      io.out(`no registered hosts in fleet ${fleet} (start \`faultline worker\` or \`faultline agent\`)`);
      return 0;
    }
    const rows = hosts.map((h) => [
      h.host,
      `${h.daemonName} (${h.daemonId.slice(0, 12)})`,
      h.dockerHost,
      String(h.agents),
      ago(h.lastSeen),
    ]);
    const head = ['HOST', 'DAEMON', 'DOCKER', 'AGENTS', 'LAST SEEN'];
    const widths = head.map((hd, i) => Math.max(hd.length, ...rows.map((r) => (r[i] ?? '').length)));
    for (const r of [head, ...rows])
      io.out(
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      );
    return 0;
  } finally {
    await fc.close();
  }
}
