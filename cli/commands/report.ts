// faultline report ID [--html FILE] [--json]: one self-contained HTML file of a run (charts inlined, no
// network needed to view it), or its journal as JSON.
import { connectClient, getStatus } from '../client.ts';
import { writeReport } from '../../report/file.ts';
import { InvalidInput } from '../../errors.ts';
import type { Io } from '../io.ts';

export async function reportCommand(id: string, opts: { html?: string; json?: boolean }, io: Io): Promise<number> {
  const fc = await connectClient();
  try {
    const s = await getStatus(fc, id);
    if (!s.journal) throw new InvalidInput(`experiment ${id} has no journal yet (status ${s.status})`);
    if (opts.json) {
      io.out(JSON.stringify(s.journal, null, 2));
      if (!opts.html) return 0;
    }
    const file = writeReport(s.journal, opts.html);
    (opts.json ? io.err : io.out)(`report: ${file}`);
    return 0;
  } finally {
    await fc.close();
  }
}
