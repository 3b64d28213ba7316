// `faultline agent [--socket PATH | --docker-host URL] [--host NAME] [--task-queue Q]`: the agent of one
// Docker daemon, a worker on the host's own task queue (derived from the fleet's). It runs that daemon's
// container activities and keeps its warden. A daemon that does not answer, or a host name registered for
// another daemon, stops it before anything is registered (exit 3 and 2).
import { DEFAULT_TASK_QUEUE, temporalTarget } from '../../config.ts';
import { InvalidInput } from '../../errors.ts';
import { ensureTemporal } from '../embedded.ts';
import type { Io } from '../io.ts';

export async function agentCommand(
  opts: { socket?: string; dockerHost?: string; host?: string; taskQueue?: string },
  io: Io,
): Promise<number> {
  if (opts.socket && opts.dockerHost) throw new InvalidInput('agent: --socket and --docker-host are exclusive');
  await ensureTemporal();
  const t = temporalTarget();
  const { runAgent } = await import('../../worker/worker.ts'); // lazily: only where a worker starts
  await runAgent({
    endpoint: { socketPath: opts.socket, dockerHost: opts.dockerHost },
    host: opts.host,
    taskQueue: opts.taskQueue,
    onReady: ({ record, standby, warden }) =>
      io.err(
        `faultline agent ready: host ${record.host} (daemon ${record.daemonName}, ${record.dockerHost}${standby ? ', standby beside another agent' : ''}) on ${t.address}, task queue ${opts.taskQueue ?? DEFAULT_TASK_QUEUE}@${record.host}; ${warden ? `warden ledger ${record.wardenDir}` : 'NO warden: container faults will be refused'}; Ctrl-C to stop`,
      ),
  });
  return 0;
}
