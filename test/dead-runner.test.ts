// The promise when every runner is dead for good: the host's agent (which injected and held the container
// faults), the fleet worker and the Temporal server are SIGKILLed with a fault of each kind active, none is
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
    expect(Object.fromEntries(results.map((r) => [r.kind, r.host]))).toEqual({
      'container.pause': agentHost,
      'container.stop': agentHost,
      'container.kill': agentHost,
      'network.partition': agentHost,
      'dns.error': agentHost,
      'proxy.latency': undefined,
    });
    const byWarden = lapsed.filter((l) => l.revertedAt).map((l) => l.lease.kind);
    expect(byWarden.sort()).toEqual([
      'container.kill',
      'container.pause',
      'container.stop',
      'dns.error',
      'network.partition',
    ]);
  });
});
