// faultline abort ID --reason TEXT [--who NAME] [--timeout D]: the kill switch; returns once every fault is
// reverted. With no worker polling the run's task queue it says so at once and waits for one, up to
// --timeout (default 10m), saying every 15 s that it still waits; then exit 3 (the abort stays sent).
import { InvalidInput } from '../../errors.ts';
import { abortExperiment, connectClient, waitingForWorkerMs, workersFor, workflowUrlFor } from '../client.ts';
import { REVERT_TIMEOUT_MS, timeoutOption, within } from '../workers.ts';
import { summary } from '../render.ts';
import type { Io } from '../io.ts';

export async function abortCommand(
  id: string,
  opts: { reason?: string; who?: string; json?: boolean; timeout?: string },
  io: Io,
): Promise<number> {
  if (!opts.reason?.trim()) throw new InvalidInput('abort needs --reason TEXT (it is recorded in the history)');
  const timeoutMs = timeoutOption(opts.timeout, REVERT_TIMEOUT_MS);
  const fc = await connectClient();
  try {
    // Said at once: with no worker the abort waits (recorded, nothing reverted) until one starts.
    const wait =
      'the abort is recorded and its faults are reverted as soon as a worker runs (faultline worker); waiting';
    // the pollers are a hint for the message only; the abort goes on without them
    const w = await workersFor(fc, id).catch(() => undefined);
    let told = !!w && w.pollers === 0;
    if (told) io.err(`no worker is polling task queue ${w?.taskQueue}: ${wait}`);
    // A worker that died recently still counts as a poller for a minute: notice that nothing takes the task.
    const watch = setInterval(() => {
      void waitingForWorkerMs(fc, id)
        .then((ms) => {
          if (!told && ms >= 2_500) {
            told = true;
            io.err(
              `no worker has picked up this run for ${Math.round(ms / 1000)} s (its worker may have died): ${wait}`,
            );
          }
        })
        // a hint on a timer: a failed look is tried again at the next tick
        .catch(() => undefined);
    }, 2_000);
    const j = await within(
      fc,
      {
        what: `the abort of ${id}`,
        timeoutMs,
        io,
        after: `the abort was sent and waits for a worker to take it; check with \`faultline status ${id}\` (and send it again if it still runs)`,
      },
      () => abortExperiment(fc, id, opts.reason as string, opts.who ?? process.env.USER),
    ).finally(() => clearInterval(watch));
    if (opts.json) io.out(JSON.stringify(j, null, 2));
    else
      io.out(
        `aborted ${id}: ${j.faults.filter((f) => f.status === 'reverted').length}/${j.faults.length} faults reverted\n${summary(j, workflowUrlFor(fc, id))}`,
      );
    const undone = (f: (typeof j.faults)[number]) => ['reverted', 'not-applied', 'planned'].includes(f.status);
    return j.faults.every(undone) ? 0 : 3;
  } finally {
    await fc.close();
  }
}
