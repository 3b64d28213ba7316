// faultline history [--json] [--limit N]: past and running experiments from Temporal visibility.
import { connectClient, history } from '../client.ts';
import { historyTable } from '../render.ts';
import type { Io } from '../io.ts';

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
