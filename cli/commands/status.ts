// faultline status ID, abort ID --reason, revert --all, history.
import { exitCodeFor } from '../../experiments/journal.ts';
import { InvalidInput } from '../../errors.ts';
import { abortExperiment, connectClient, getStatus, history, revertAll, workflowUrlFor } from '../client.ts';
import { historyTable, progressLine, summary } from '../render.ts';
import type { Io } from '../io.ts';

export async function statusCommand(id: string, opts: { json?: boolean }, io: Io): Promise<number> {
  const fc = await connectClient();
  try {
    const s = await getStatus(fc, id);
    if (opts.json) io.out(JSON.stringify(s, null, 2));
    else if (s.journal)
      io.out(`${s.status === 'RUNNING' ? `${progressLine(s.journal, s.guard)}\n` : ''}${summary(s.journal, s.url)}`);
    else io.out(`${id}: ${s.status}${s.url ? `\n  history: ${s.url}` : ''}`);
    return s.status === 'RUNNING' ? 0 : s.journal ? exitCodeFor(s.journal.verdict) : 3;
  } finally {
    await fc.close();
  }
}

export async function abortCommand(
  id: string,
  opts: { reason?: string; who?: string; json?: boolean },
  io: Io,
): Promise<number> {
  if (!opts.reason?.trim()) throw new InvalidInput('abort needs --reason TEXT (it is recorded in the history)');
  const fc = await connectClient();
  try {
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

export async function historyCommand(opts: { json?: boolean; limit?: number }, io: Io): Promise<number> {
  const fc = await connectClient();
  try {
    const rows = await history(fc, opts.limit ?? 20);
    io.out(opts.json ? JSON.stringify(rows, null, 2) : historyTable(rows));
    return 0;
  } finally {
    await fc.close();
  }
}
