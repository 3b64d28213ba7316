// faultline lever pull --reason | release: the safety lever. Pull refuses every new run, aborts every
// running experiment and returns once each has reverted; release lets runs start again.
import { InvalidInput } from '../../errors.ts';
import { connectClient } from '../client.ts';
import { pullLever, releaseLever } from '../admission.ts';
import type { Io } from '../io.ts';

export async function leverCommand(
  action: string,
  opts: { reason?: string; who?: string; json?: boolean; taskQueue?: string },
  io: Io,
): Promise<number> {
  if (action !== 'pull' && action !== 'release') throw new InvalidInput(`lever ${action}: use pull or release`);
  if (action === 'pull' && !opts.reason?.trim()) throw new InvalidInput('lever pull needs --reason TEXT');
  const who = opts.who ?? process.env.USER;
  const fc = await connectClient();
  try {
    if (action === 'release') {
      const was = await releaseLever(fc, who, opts.taskQueue);
      io.out(
        opts.json
          ? JSON.stringify({ released: !!was, lever: was })
          : was
            ? `lever released (it was pulled by ${was.who ?? '?'} at ${was.at}: ${was.reason})`
            : 'the lever was not pulled',
      );
      return 0;
    }
    const r = await pullLever(fc, opts.reason as string, who, opts.taskQueue);
    if (opts.json) io.out(JSON.stringify(r, null, 2));
    else {
      io.out(`lever pulled: new runs are refused until \`faultline lever release\``);
      if (!r.reverted.length) io.out('no running experiments');
      for (const x of r.reverted)
        io.out(`${x.ok ? 'reverted' : 'FAILED  '} ${x.workflowId}${x.error ? `: ${x.error}` : ''}`);
    }
    return r.reverted.every((x) => x.ok) ? 0 : 3;
  } finally {
    await fc.close();
  }
}
