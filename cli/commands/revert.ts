// faultline revert --all [--timeout D]: the emergency stop for every running experiment. Each run gets up to
// --timeout (default 10m) to revert; one no worker takes is reported FAILED, naming its task queue.
import { InvalidInput } from '../../errors.ts';
import { connectClient, REVERT_ALL_TIMEOUT_MS, revertAll } from '../client.ts';
import { timeoutOption } from '../workers.ts';
import type { Io } from '../io.ts';

export async function revertAllCommand(
  opts: { all?: boolean; reason?: string; who?: string; json?: boolean; timeout?: string },
  io: Io,
): Promise<number> {
  if (!opts.all) throw new InvalidInput('revert needs --all (the emergency stop for every running experiment)');
  const timeoutMs = timeoutOption(opts.timeout, REVERT_ALL_TIMEOUT_MS);
  const fc = await connectClient();
  try {
    const results = await revertAll(
      fc,
      opts.reason ?? 'emergency stop (faultline revert --all)',
      opts.who ?? process.env.USER,
      [],
      timeoutMs,
    );
    if (opts.json) io.out(JSON.stringify(results, null, 2));
    else if (!results.length) io.out('no running experiments');
    else
      for (const r of results)
        io.out(`${r.ok ? 'reverted' : 'FAILED  '} ${r.workflowId}${r.error ? `: ${r.error}` : ''}`);
    return results.every((r) => r.ok) ? 0 : 3;
  } finally {
    await fc.close();
  }
}
