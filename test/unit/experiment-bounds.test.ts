// What validates runs safely: each value issue 8 found validating and then misbehaving at run time is now
// refused, with the rule (or bound) named and a positioned message. Bounds come from faults/limits.ts and
// the proxy's own proxy/limits.ts, the constants the runner and the proxy use.
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../experiments/parse.ts';
import type { Problem } from '../../errors.ts';
import { MAX_TIMER_MS } from '../../faults/limits.ts';
import { MAX_HTTP_DELAY_MS, MAX_LATENCY_MS } from '../../proxy/limits.ts';

const HEAD = `title: t
hypothesis:
  statement: s
  probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ]
`;
const CONTAINERS = `${HEAD}targets: { names: [api-1] }\n`;

function refused(text: string): Problem[] {
  const r = parseExperiment(text, 'x.yaml');
  expect(r.ok, 'expected the experiment to be refused').toBe(false);
  return r.ok ? [] : r.problems;
}
function accepted(text: string): void {
  const r = parseExperiment(text, 'x.yaml');
  expect(r.ok ? [] : r.problems).toEqual([]);
}
const one = (text: string, path: string, message: RegExp) => {
  const ps = refused(text);
  expect(
    ps.find((p) => p.path === path),
    JSON.stringify(ps),
  ).toMatchObject({ message });
  for (const p of ps) expect(p.line).toBeGreaterThanOrEqual(1);
};

describe('durations fit the timers and steps that carry them', () => {
  it('a guard interval large enough to overflow Node timers is refused', () => {
    const huge = `${MAX_TIMER_MS + 1}ms`;
    one(
      `${CONTAINERS}method: [ { kind: container.pause, duration: 1s } ]\nguard: { interval: ${huge}, probes: [ { name: g, type: http, url: "http://127.0.0.1:1/" } ] }\n`,
      'guard.interval',
      /must be at most 24h/,
    );
  });

  it('a probe timeout large enough to overflow Node timers is refused, and so are zero and negative ones', () => {
    for (const [t, msg] of [
      ['9999999999ms', /must be at most 60s/],
      ['0ms', /must be greater than zero/],
      ['0s', /must be greater than zero/],
      ['-1s', /must not be negative/],
    ] as const)
      one(
        `${CONTAINERS.replace('url: "http://127.0.0.1:1/" }', `url: "http://127.0.0.1:1/", timeout: ${t} }`)}method: [ { kind: container.pause, duration: 1s } ]\n`,
        'hypothesis.probes.0.timeout',
        msg,
      );
  });

  it('durations so large they become Infinity or overflow the date range are refused', () => {
    for (const d of [`${'9'.repeat(400)}h`, '100000000h', '25h'])
      one(
        `${CONTAINERS}method: [ { kind: container.pause, duration: ${d} } ]\n`,
        'method.0.duration',
        /must be at most 24h/,
      );
    one(`${CONTAINERS}method: [ { kind: container.pause, duration: 10ms } ]\n`, 'method.0.duration', /at least 100ms/);
  });

  it('afterCheck.recoveryTimeout and tolerances are bounded too', () => {
    one(
      `${CONTAINERS}method: [ { kind: container.pause, duration: 1s } ]\nafterCheck: { recoveryTimeout: 2h }\n`,
      'afterCheck.recoveryTimeout',
      /at most 1h/,
    );
  });
});

describe('cross-field rules, each named', () => {
  const guard = (g: string) => `${CONTAINERS}method: [ { kind: container.pause, duration: 2s } ]\nguard: ${g}\n`;

  it('guard-can-trip-inside-window: failuresToAbort x interval longer than the window is refused', () => {
    one(
      guard(
        `{ interval: 1s, failuresToAbort: 3, probes: [ { name: g, type: http, url: "http://127.0.0.1:1/", timeout: 500ms } ] }`,
      ),
      'guard.failuresToAbort',
      /3 failing samples 1s apart take 3s, longer than the fault window \(2s\): the guard could never abort/,
    );
    accepted(
      guard(
        `{ interval: 1s, failuresToAbort: 2, probes: [ { name: g, type: http, url: "http://127.0.0.1:1/", timeout: 500ms } ] }`,
      ),
    );
  });

  it('guard-probe-fits-window: a guard probe slower than the window is refused', () => {
    one(
      guard(`{ interval: 500ms, probes: [ { name: g, type: http, url: "http://127.0.0.1:1/", timeout: 5s } ] }`),
      'guard.probes.0.timeout',
      /may wait 5s, longer than the fault window \(2s\)/,
    );
  });

  it('probes-fit-their-activity: hypothesis probes that cannot finish in the steady-state step are refused', () => {
    one(
      `${HEAD.replace('url: "http://127.0.0.1:1/" }', 'url: "http://127.0.0.1:1/", requests: 100, timeout: 5s }')}targets: { names: [a] }\nmethod: [ { kind: container.pause, duration: 1s } ]\n`,
      'hypothesis.probes.0',
      /may take up to 500s together .* more than the 2m the steady-state step has/,
    );
  });

  it('a stopping grace period fits the inject budget', () => {
    for (const kind of ['container.stop', 'container.restart'])
      one(
        `${CONTAINERS}method: [ { kind: ${kind}, duration: 1s, gracePeriod: 600 } ]\n`,
        'method.0.gracePeriod',
        /at most 25 seconds: the inject step has 30s/,
      );
  });

  it('selector: an empty label map, an empty name list or a pattern matching everything is an error that says so', () => {
    const m = `method: [ { kind: container.pause, duration: 1s } ]\n`;
    one(
      `${HEAD}targets: { labels: {} }\n${m}`,
      'targets.labels',
      /empty label map matches every container on the host/,
    );
    one(`${HEAD}targets: { names: [] }\n${m}`, 'targets.names', /empty name list selects nothing specific/);
    for (const p of ['".*"', '"."', '"^"', '"[^/]"', '"|x"'])
      one(`${HEAD}targets: { namePattern: ${p} }\n${m}`, 'targets.namePattern', /matches every container name/);
    one(`${HEAD}targets: { namePattern: "" }\n${m}`, 'targets.namePattern', /empty pattern matches every container/);
    accepted(`${HEAD}targets: { namePattern: "^api-[0-9]+$" }\n${m}`);
  });

  it('faults that do nothing are refused: toxicity 0, percentage 0, signal 0', () => {
    one(
      `${HEAD}method: [ { kind: proxy.latency, proxy: r, latency: 100ms, toxicity: 0, duration: 1s } ]\n`,
      'method.0.toxicity',
      /toxicity 0 touches no connection/,
    );
    one(
      `${HEAD}method: [ { kind: http.abort, proxy: r, percentage: 0, duration: 1s } ]\n`,
      'method.0.percentage',
      /percentage 0 touches no request/,
    );
    for (const sig of ['0', 'SIG0', 'SIGFOO'])
      one(
        `${CONTAINERS}method: [ { kind: container.kill, signal: "${sig}", duration: 1s } ]\n`,
        'method.0.signal',
        /signal 0 sends nothing/,
      );
    accepted(`${CONTAINERS}method: [ { kind: container.kill, signal: "15", duration: 1s } ]\n`);
  });

  it("latency, delay, close-after, reset-after, methods and path prefixes use the proxy's own limits", () => {
    const px = (f: string) => `${HEAD}method: [ { ${f}, proxy: r, duration: 1s } ]\n`;
    one(
      px(`kind: proxy.latency, latency: ${MAX_LATENCY_MS + 1}ms`),
      'method.0.latency',
      /at most 1h \(the proxy's limit\)/,
    );
    one(px('kind: proxy.latency, latency: 0ms'), 'method.0.latency', /greater than zero/);
    one(px(`kind: http.delay, delay: ${MAX_HTTP_DELAY_MS + 1}ms`), 'method.0.delay', /at most 1h/);
    one(px('kind: proxy.partition, closeAfter: 25h'), 'method.0.closeAfter', /at most 24h/);
    one(px('kind: proxy.reset, after: 25h'), 'method.0.after', /at most 24h/);
    one(px('kind: http.abort, method: "GE T"'), 'method.0.method', /must be an HTTP method/);
    one(px(`kind: http.abort, method: ${'A'.repeat(33)}`), 'method.0.method', /must be an HTTP method/);
    one(px('kind: http.abort, pathPrefix: "/a b"'), 'method.0.pathPrefix', /visible ASCII/);
    one(px('kind: http.abort, pathPrefix: "orders"'), 'method.0.pathPrefix', /must start with \//);
    accepted(px('kind: http.abort, method: purge, pathPrefix: /orders'));
  });
});

describe('the blast radius covers every fault', () => {
  it('twenty routes under maxTargets 1 are refused at the fault that passes the limit', () => {
    const routes = Array.from({ length: 20 }, (_, i) => `r${i}`).join(', ');
    one(
      `${HEAD}method: [ { kind: proxy.latency, proxy: [${routes}], latency: 100ms, duration: 1s } ]\n`,
      'method.0.proxy',
      /touches 20 proxy routes \(r0, r1, r2, r3, r4, …\) but blastRadius.maxTargets is 1/,
    );
  });

  it('containers and routes count together', () => {
    one(
      `${CONTAINERS}method:\n  - { kind: container.pause, duration: 1s }\n  - { kind: http.delay, proxy: r, delay: 1s, duration: 1s }\n`,
      'method.1.proxy',
      /1 proxy route \(r\) and 1 container but blastRadius.maxTargets is 1/,
    );
  });

  it('maxTrafficPercent: the "max 5% of traffic" rule for HTTP and proxy faults', () => {
    const b = 'blastRadius: { maxTrafficPercent: 5 }\n';
    accepted(`${HEAD}method: [ { kind: http.abort, proxy: r, percentage: 5, duration: 1s } ]\n${b}`);
    one(
      `${HEAD}method: [ { kind: http.abort, proxy: r, percentage: 6, duration: 1s } ]\n${b}`,
      'method.0.percentage',
      /touches 6% of the traffic on its routes but blastRadius.maxTrafficPercent is 5/,
    );
    one(
      `${HEAD}method: [ { kind: proxy.latency, proxy: r, latency: 1s, duration: 1s } ]\n${b}`,
      'method.0.toxicity',
      /touches 100% of the traffic/,
    );
    one(`${HEAD}method: [ { kind: proxy.partition, proxy: r, duration: 1s } ]\n${b}`, 'method.0.kind', /touches 100%/);
  });
});
