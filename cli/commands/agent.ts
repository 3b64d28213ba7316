// `faultline agent [--socket PATH | --docker-host URL] [--host NAME] [--task-queue Q]`: the agent of one
// Docker daemon, a worker on the host's own task queue (derived from the fleet's). It runs that daemon's
// container activities and keeps its warden. A daemon that does not answer, or a host name registered for
// another daemon, stops it before anything is registered (exit 3 and 2).
import { DEFAULT_TASK_QUEUE, temporalTarget } from '../../config.ts';
import { InvalidInput } from '../../errors.ts';
import { metricsSetting, parseMetricsAddress } from '../../activities/metrics.ts';
import { ensureTemporal } from '../embedded.ts';
import type { Io } from '../io.ts';

export async function agentCommand(
  opts: { socket?: string; dockerHost?: string; host?: string; taskQueue?: string; metrics?: string },
  io: Io,
): Promise<number> {
  if (opts.socket && opts.dockerHost) throw new InvalidInput('agent: --socket and --docker-host are exclusive');
  const ms = metricsSetting(opts.metrics);
  parseMetricsAddress(ms.text, ms.source); // a bad setting is refused before anything loads
  const { runAgent, openMetricsEndpoint } = await import('../../worker/worker.ts'); // lazily: only where a worker starts
  // Bound first: a port in use is refused (exit 2) before a server is started or anything connects.
  const metrics = await openMetricsEndpoint(ms.text, ms.source);
  await ensureTemporal();
  const t = temporalTarget();
  await runAgent({
    metrics,
    endpoint: { socketPath: opts.socket, dockerHost: opts.dockerHost },
    host: opts.host,
    taskQueue: opts.taskQueue,
    onReady: ({ record, standby, warden }) =>
      io.err(
        `faultline agent ready: host ${record.host} (daemon ${record.daemonName}, ${record.dockerHost}${standby ? ', standby beside another agent' : ''}) on ${t.address}, task queue ${opts.taskQueue ?? DEFAULT_TASK_QUEUE}@${record.host}; ${warden ? `warden ledger ${record.wardenDir}` : 'NO warden: container faults will be refused'}${metrics ? `; metrics ${metrics.url}` : ''}; Ctrl-C to stop`,
      ),
  });
  return 0;
}
