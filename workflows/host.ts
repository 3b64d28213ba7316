// A host's presence in the fleet: one tiny workflow per (fleet task queue, host), run by the host's own
// agents on their queue, holding the registration (its memo) until the host is forgotten. Forgetting
// terminates it (activities/hosts.ts), which needs no worker: a host whose agents are all gone can be
// retired. The registry is the list of these that run, so it lives in Temporal with everything else.
//
//   registered (running, its memo the HostRecord) ──forgotten: terminated──▶ gone
import { condition } from '@temporalio/workflow';
import type { HostRecord } from '../experiments/hosts.ts';

export async function hostPresence(_record: HostRecord): Promise<void> {
  await condition(() => false);
}
