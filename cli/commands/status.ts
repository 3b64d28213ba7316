// faultline status ID [--json]: live phase, time left, last guard sample; or the final journal. A running
// run's live journal comes from its worker (a query, at most 5 s): with none polling its task queue the
// command says so at once and shows what Temporal knows without one.
import { exitCodeFor } from '../../experiments/journal.ts';
import { connectClient, getStatus } from '../client.ts';
import { hasWorker, noWorkerMessage } from '../workers.ts';
import { progressLine, summary } from '../render.ts';
import type { Io } from '../io.ts';

export async function statusCommand(id: string, opts: { json?: boolean }, io: Io): Promise<number> {
  const fc = await connectClient();
  try {
    let s = await getStatus(fc, id, { query: false });
    if (s.status === 'RUNNING' && s.taskQueue) {
      if (await hasWorker(fc, s.taskQueue)) s = await getStatus(fc, id);
      else io.err(`warning: ${noWorkerMessage(s.taskQueue, 'its live journal')}`);
    }
    if (opts.json) io.out(JSON.stringify(s, null, 2));
    else if (s.journal)
      io.out(`${s.status === 'RUNNING' ? `${progressLine(s.journal, s.guard)}\n` : ''}${summary(s.journal, s.url)}`);
    else io.out(`${id}: ${s.status}${s.url ? `\n  history: ${s.url}` : ''}`);
    return s.status === 'RUNNING' ? 0 : s.journal ? exitCodeFor(s.journal.verdict) : 3;
  } finally {
    await fc.close();
  }
}
