// faultline admission approve ID --who NAME: lets a run in an environment that requires approval pass
// admission (it waits, up to its admission wait, for this). The admission workflow's worker answers: with
// none polling its task queue the command says so at once; its answer is awaited up to --timeout (30s).
import { InvalidInput } from '../../errors.ts';
import { connectClient } from '../client.ts';
import { approveRun } from '../admission.ts';
import { ANSWER_TIMEOUT_MS, requireWorker, timeoutOption, within } from '../workers.ts';
import { admissionWorkflowId } from '../../activities/control.ts';
import { DEFAULT_TASK_QUEUE } from '../../config.ts';
import type { Io } from '../io.ts';

export async function approveRunCommand(
  id: string,
  opts: { who?: string; json?: boolean; taskQueue?: string; timeout?: string },
  io: Io,
) {
  if (!opts.who?.trim()) throw new InvalidInput('admission approve needs --who NAME');
  const timeoutMs = timeoutOption(opts.timeout, ANSWER_TIMEOUT_MS);
  const tq = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  const fc = await connectClient();
  try {
    await requireWorker(fc, tq, 'admission approve');
    const s = await within(
      fc,
      { what: `admission approve (the admission workflow ${admissionWorkflowId(tq)})`, timeoutMs, io },
      () => approveRun(fc, id, opts.who as string, tq),
    );
    io.out(opts.json ? JSON.stringify(s.approvals, null, 2) : `approved ${id} (by ${opts.who})`);
    return 0;
  } finally {
    await fc.close();
  }
}
