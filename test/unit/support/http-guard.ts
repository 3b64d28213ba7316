// The guard the guard-activity tests watch with: one HTTP probe of one request to a local server the test
// runs, failing on any error. What the tests vary (the interval, how many failures abort, the coverage floor)
// are the options.
import type { Guard } from '../../../experiments/schema.ts';

export function httpGuard(url: string, o: { interval?: string; failuresToAbort?: number; minCoverage?: number } = {}) {
  return {
    interval: o.interval ?? '100ms',
    failuresToAbort: o.failuresToAbort ?? 1,
    ...(o.minCoverage === undefined ? {} : { minCoverage: o.minCoverage }),
    probes: [
      {
        name: 'g',
        type: 'http',
        url,
        method: 'GET',
        expectStatus: 200,
        requests: 1,
        concurrency: 1,
        timeout: '1s',
        tolerance: { maxErrorRate: 0 },
      },
    ],
  } as Guard;
}
