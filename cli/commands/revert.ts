// faultline revert --all: the emergency stop for every running experiment.
import { InvalidInput } from '../../errors.ts';
import { connectClient, revertAll } from '../client.ts';
import type { Io } from '../io.ts';

export async function revertAllCommand(
  opts: { all?: boolean; reason?: string; who?: string; json?: boolean },
  io: Io,
): Promise<number> {
  if (!opts.all) throw new InvalidInput('revert needs --all (the emergency stop for every running experiment)');
  const fc = await connectClient();
  try {
    const results = await revertAll(
      fc,
      opts.reason ?? 'emergency stop (faultline revert --all)',
      opts.who ?? process.env.USER,
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
