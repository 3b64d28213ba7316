// The promise when every runner is dead for good: the host's agent (which injected and held the container
// faults), the fleet worker and the Temporal server are SIGKILLed with a fault of each kind active (every kind
// that leaves something to undo, the kernel kinds included), none is
// started again, and every fault is still gone within its lease + 2 s,
// container faults by the warden beside the daemon (which records that it did), proxy faults by the proxy.
import { describe, expect, it } from 'vitest';
import { deadRunnerScenario } from './dead-runner-scenario.ts';

describe('every runner dead for good', () => {
  it('with the agent, the worker and the server SIGKILLed, each container fault kind and the proxy fault is gone within its lease + 2 s', async () => {
    const { results, lapsed, agentHost } = await deadRunnerScenario();
    console.log(
      results
        .map((r) => `${r.kind}: gone ${r.goneAfterMs} ms after the last runner died (lease ${r.leaseMs} ms)`)
        .join('\n'),
    );
    for (const r of results) {
      expect(r.goneAfterMs, `${r.kind} on ${r.target} was never reverted`).not.toBeNull();
      expect(r.goneAfterMs!, `${r.kind} on ${r.target}`).toBeLessThanOrEqual(r.leaseMs + 2_000);
    }
    // The container faults went through the agent (their targets carry its host); the proxy fault did not.
    const containerKinds = [
      'container.kill',
      'container.pause',
      'container.stop',
      'disk.fill',
      'dns.error',
      'dns.spoof',
      'network.bandwidth',
      'network.loss',
      'network.partition',
      'network.split',
      'process.stop',
      'stress.cpu',
      'stress.io',
      'stress.memory',
    ];
    expect(Object.fromEntries(results.map((r) => [r.kind, r.host]))).toEqual({
      ...Object.fromEntries(containerKinds.map((k) => [k, agentHost])),
      'proxy.latency': undefined,
    });
    // Every container fault record reverted by the warden: the split's two members each by its own lease.
    const byWarden = lapsed.filter((l) => l.revertedAt).map((l) => l.lease.kind);
    expect(byWarden.sort()).toEqual([...containerKinds, 'network.split'].sort());
  });
});
