// faultline admission approve ID --who NAME: lets a run in an environment that requires approval pass
// admission (it waits, up to its admission wait, for this).
import { InvalidInput } from '../../errors.ts';
import { connectClient } from '../client.ts';
import { approveRun } from '../admission.ts';
import type { Io } from '../io.ts';

export async function approveRunCommand(
  id: string,
  opts: { who?: string; json?: boolean; taskQueue?: string },
  io: Io,
) {
  if (!opts.who?.trim()) throw new InvalidInput('admission approve needs --who NAME');
  const fc = await connectClient();
  try {
    const s = await approveRun(fc, id, opts.who, opts.taskQueue);
    io.out(opts.json ? JSON.stringify(s.approvals, null, 2) : `approved ${id} (by ${opts.who})`);
    return 0;
  } finally {
    await fc.close();
  }
}
