// faultline abort ID --reason TEXT [--who NAME]: the kill switch; returns once every fault is reverted.
import { InvalidInput } from '../../errors.ts';
import { abortExperiment, connectClient, workersFor, workflowUrlFor } from '../client.ts';
import { summary } from '../render.ts';
import type { Io } from '../io.ts';

export async function abortCommand(
  id: string,
  opts: { reason?: string; who?: string; json?: boolean },
  io: Io,
): Promise<number> {
  if (!opts.reason?.trim()) throw new InvalidInput('abort needs --reason TEXT (it is recorded in the history)');
  const fc = await connectClient();
  try {
    // Said at once: with no worker the abort waits (recorded, nothing reverted) until one starts.
    const w = await workersFor(fc, id).catch(() => undefined);
    if (w && w.pollers === 0)
      io.err(
        `no worker is polling task queue ${w.taskQueue}: the abort is recorded and its faults are reverted as soon as a worker starts (faultline worker); waiting`,
      );
    const j = await abortExperiment(fc, id, opts.reason, opts.who ?? process.env.USER);
    if (opts.json) io.out(JSON.stringify(j, null, 2));
    else
      io.out(
        `aborted ${id}: ${j.faults.filter((f) => f.status === 'reverted').length}/${j.faults.length} faults reverted\n${summary(j, workflowUrlFor(fc, id))}`,
      );
    return j.faults.every((f) => f.status !== 'injected' && f.status !== 'intent') ? 0 : 3;
  } finally {
    await fc.close();
  }
}
