// faultline lever pull --reason | release: the safety lever. Pull refuses every new run, aborts every
// running experiment and returns once each has reverted (or its --timeout, default 10m, ran out for it);
// release lets runs start again. Both need a worker on the admission workflow's task queue, said at once.
import { InvalidInput } from '../../errors.ts';
import { connectClient, REVERT_ALL_TIMEOUT_MS } from '../client.ts';
import { releaseLever, revertHolders, setLever } from '../admission.ts';
import { ANSWER_TIMEOUT_MS, requireWorker, timeoutOption, within } from '../workers.ts';
import { admissionWorkflowId } from '../../activities/control.ts';
import { DEFAULT_TASK_QUEUE } from '../../config.ts';
import type { Io } from '../io.ts';

export async function leverCommand(
  action: string,
  opts: { reason?: string; who?: string; json?: boolean; taskQueue?: string; timeout?: string },
  io: Io,
): Promise<number> {
  if (action !== 'pull' && action !== 'release') throw new InvalidInput(`lever ${action}: use pull or release`);
  if (action === 'pull' && !opts.reason?.trim()) throw new InvalidInput('lever pull needs --reason TEXT');
  const revertMs = timeoutOption(opts.timeout, REVERT_ALL_TIMEOUT_MS);
  const who = opts.who ?? process.env.USER;
  const tq = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  const fc = await connectClient();
  try {
    await requireWorker(fc, tq, `lever ${action}`);
    const answer = { timeoutMs: Math.min(revertMs, ANSWER_TIMEOUT_MS), io };
    if (action === 'release') {
      const was = await within(
        fc,
        { what: `lever release (the admission workflow ${admissionWorkflowId(tq)})`, ...answer },
        () => releaseLever(fc, who, tq),
      );
      io.out(
        opts.json
          ? JSON.stringify({ released: !!was, lever: was })
          : was
            ? `lever released (it was pulled by ${was.who ?? '?'} at ${was.at}: ${was.reason})`
            : 'the lever was not pulled',
      );
      return 0;
    }
    const holders = await within(
      fc,
      { what: `lever pull (the admission workflow ${admissionWorkflowId(tq)})`, ...answer },
      () => setLever(fc, opts.reason as string, who, tq),
    );
    if (!opts.json) io.err('lever pulled: new runs are refused; aborting every running experiment');
    const reverted = await revertHolders(fc, holders, opts.reason as string, who, revertMs);
    if (opts.json) io.out(JSON.stringify({ holders, reverted }, null, 2));
    else {
      io.out(`lever pulled: new runs are refused until \`faultline lever release\``);
      if (!reverted.length) io.out('no running experiments');
      for (const x of reverted)
        io.out(`${x.ok ? 'reverted' : 'FAILED  '} ${x.workflowId}${x.error ? `: ${x.error}` : ''}`);
    }
    return reverted.every((x) => x.ok) ? 0 : 3;
  } finally {
    await fc.close();
  }
}
