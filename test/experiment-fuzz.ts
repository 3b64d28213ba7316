// Generated experiment files, shared by the property test (test/unit/experiment-property.test.ts) and the
// fuzz benchmark (bench/fuzz.ts): plausible experiments (most validate), invalid ones (a plausible one with
// one mutation), adversarial texts (aliases, bombs, deep nesting, control characters, huge input, random
// bytes), an in-memory fleet and proxy, and the checks a validated experiment must pass through planning.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { InvalidInput } from '../errors.ts';
import { planFaults, routesOf } from '../activities/plan.ts';
import { isProtected } from '../activities/targets.ts';
import type { Experiment } from '../experiments/schema.ts';
import { trafficPercent } from '../experiments/rules.ts';
import { durationMs } from '../faults/duration.ts';
import { ACTIVITY_SLACK_MS, MAX_TIMER_MS } from '../faults/limits.ts';
import type { ContainerInfo, Ports } from '../faults/ports.ts';
import { faultKind } from '../faults/registry.ts';
import type { ProxyFaultHandle } from '../faults/proxy-common.ts';
import { lossChains } from '../faults/network-loss.ts';
import { chainBase, MAX_CHAIN_NAME } from '../faults/netfilter.ts';
import { toxicType } from '../proxy/toxics/registry.ts';
import type { Problem } from '../errors.ts';

// --- the in-memory world -------------------------------------------------------------------------------

const c = (name: string, labels: Record<string, string>, state: ContainerInfo['state'] = 'running'): ContainerInfo => ({
  id: `id-${name}`,
  name,
  labels,
  state,
  networks: { demo: [name] },
});

/** A fleet with protected containers, Faultline's own, stopped ones and look-alike names. */
export const FLEET: ContainerInfo[] = [
  ...[1, 2, 3, 4, 5].map((i) => c(`api-${i}`, { app: 'api', tier: 'web' })),
  c('api-6', { app: 'api', tier: 'web' }, 'exited'),
  c('api-front', { app: 'api', 'faultline.protected': 'true' }),
  ...[1, 2].map((i) => c(`db-${i}`, { app: 'db', tier: 'data' })),
  ...[1, 2, 3].map((i) => c(`web-${i}`, { app: 'web', tier: 'web' })),
  c('faultline-proxy', { app: 'api', 'faultline.component': 'proxy' }),
  c('cache', { app: 'cache' }, 'paused'),
];
/** Routes the in-memory proxy has; the generator also names some it does not. */
export const ROUTES = ['backend-1', 'backend-2', 'backend-3', 'db', 'payments'];
const ROUTE_POOL = [...ROUTES, 'backend-9', 'typo'];

// --- plausible experiments -----------------------------------------------------------------------------

const ms = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => `${n}ms`);
const dur = (lo: number, hi: number) =>
  fc.oneof(
    ms(lo, hi),
    fc.integer({ min: Math.ceil(lo / 1000), max: Math.floor(hi / 1000) }).map((n) => `${n}s`),
  );

const httpProbe = (name: string) =>
  fc.record(
    {
      name: fc.constant(name),
      type: fc.constant('http'),
      url: fc.constantFrom('http://127.0.0.1:18080/', 'https://example.test/health', 'http://[::1]:9/x'),
      requests: fc.integer({ min: 1, max: 30 }),
      concurrency: fc.integer({ min: 1, max: 4 }),
      timeout: dur(1, 5000),
      tolerance: fc.record(
        { maxErrorRate: fc.double({ min: 0, max: 1, noNaN: true }), p95: dur(1, 5000) },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['name', 'type', 'url'] },
  );

const labelSel = fc.constantFrom<Record<string, string>>(
  { app: 'api' },
  { app: 'api', tier: 'web' },
  { tier: 'web' },
  { app: 'db' },
  { app: 'nothing' },
);
const selector = fc
  .record(
    {
      names: fc.subarray(['api-1', 'api-2', 'db-1', 'web-3', 'api-front', 'ghost'], { minLength: 1 }),
      namePattern: fc.constantFrom('^api-[0-9]+$', 'db', '^web-', 'proxy', 'x{3}'),
      labels: labelSel,
    },
    { requiredKeys: [] },
  )
  .filter((sel) => Object.keys(sel).length > 0);
const mode = fc.oneof(
  fc.constant({ mode: 'one' }),
  fc.constant({}),
  fc.constant({ mode: 'all' }),
  fc.integer({ min: 1, max: 6 }).map((count) => ({ mode: 'count', count })),
  fc.integer({ min: 1, max: 100 }).map((percent) => ({ mode: 'percent', percent })),
);
const targets = fc
  .tuple(selector, mode, fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { nil: undefined }))
  .map(([sel, m, seed]) => ({ ...sel, ...m, ...(seed === undefined ? {} : { seed }) }));

const route = fc.oneof(fc.constantFrom(...ROUTE_POOL), fc.subarray(ROUTE_POOL, { minLength: 1, maxLength: 4 }));
const fault = fc.oneof(
  fc.record({ kind: fc.constant('container.kill'), signal: fc.constantFrom('SIGKILL', 'SIGTERM', 'KILL', '9', 'HUP') }),
  fc.record({ kind: fc.constant('container.stop'), gracePeriod: fc.integer({ min: 0, max: 25 }) }),
  fc.record({ kind: fc.constant('container.restart'), gracePeriod: fc.integer({ min: 0, max: 25 }) }),
  fc.record({ kind: fc.constant('container.pause') }),
  fc.record({ kind: fc.constant('network.partition'), network: fc.constantFrom('demo', 'bridge') }),
  fc.record(
    {
      kind: fc.constant('network.bandwidth'),
      rate: fc
        .tuple(fc.integer({ min: 1, max: 100 }), fc.constantFrom('kbit', 'mbit', 'gbit'))
        .map(([n, u]) => `${u === 'kbit' ? n * 8 : n}${u}`),
      network: fc.constantFrom('demo', 'bridge'),
    },
    { requiredKeys: ['kind', 'rate'] },
  ),
  fc.record({ kind: fc.constant('stress.cpu'), cores: fc.double({ min: 0.01, max: 64, noNaN: true }) }),
  fc.record({ kind: fc.constant('stress.io'), workers: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('disk.fill'),
    path: fc.constantFrom('/tmp', '/data'),
    size: fc.constantFrom('64MiB', '1GiB'),
  }),
  fc.record({ kind: fc.constant('process.stop'), name: fc.constantFrom('worker', 'nginx') }),
  fc.record({
    kind: fc.constant('process.kill'),
    pattern: fc.constantFrom('worker', '--queue=mail$'),
    signal: fc.constantFrom('SIGKILL', 'SIGTERM', 'HUP'),
  }),
  fc.record({
    kind: fc.constant('stress.memory'),
    size: fc
      .tuple(fc.integer({ min: 1, max: 4096 }), fc.constantFrom('MiB', 'MB', 'GiB'))
      .map(([n, u]) => `${u === 'GiB' ? Math.ceil(n / 1024) : n}${u}`),
  }),
  fc.record(
    {
      kind: fc.constant('network.loss'),
      share: fc.oneof(
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 100 }).map((n) => `${n}%`),
      ),
      direction: fc.constantFrom('ingress', 'egress', 'both'),
      peers: fc.record(
        {
          cidrs: fc.array(
            fc
              .tuple(
                fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
                fc.integer({ min: 0, max: 32 }),
              )
              .map(([o, b]) => `${o.join('.')}/${b}`),
            { minLength: 1, maxLength: 4 },
          ),
          containers: fc.constant(['api-2']),
          ports: fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 15 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['kind', 'share'] },
  ),
  fc.record(
    {
      kind: fc.constant('dns.error'),
      names: fc.subarray(['db.internal', '*.svc.local', '*', 'API.Internal.', '_srv._tcp.x'], { minLength: 1 }),
      rcode: fc.constantFrom('NXDOMAIN', 'SERVFAIL'),
    },
    { requiredKeys: ['kind', 'names'] },
  ),
  fc.record({
    kind: fc.constant('dns.spoof'),
    names: fc.subarray(['db.internal', '*.svc.local', '*'], { minLength: 1 }),
    address: fc.constantFrom('10.0.0.99', '192.0.2.10', 'fd00::99'),
  }),
  fc.record({
    kind: fc.constant('proxy.latency'),
    proxy: route,
    latency: dur(1, 3_600_000),
    jitter: dur(0, 10_000),
    toxicity: fc.double({ min: 0.01, max: 1, noNaN: true }),
    stream: fc.constantFrom('upstream', 'downstream', 'both'),
  }),
  fc.record(
    {
      kind: fc.constant('proxy.partition'),
      proxy: route,
      mode: fc.constantFrom('timeout', 'down'),
      closeAfter: dur(1, 86_400_000),
    },
    { requiredKeys: ['kind', 'proxy'] },
  ),
  fc.record({ kind: fc.constant('proxy.bandwidth'), proxy: route, rate: fc.integer({ min: 1, max: 100_000_000 }) }),
  fc.record({ kind: fc.constant('proxy.reset'), proxy: route, after: dur(0, 86_400_000) }),
  fc.record(
    {
      kind: fc.constant('http.delay'),
      proxy: route,
      delay: dur(1, 3_600_000),
      percentage: fc.integer({ min: 1, max: 100 }),
      method: fc.constantFrom('GET', 'post', 'PURGE'),
      pathPrefix: fc.constantFrom('/', '/orders', '/a/b?c=d'),
      headers: fc.constantFrom({ 'x-test': '1' }, { 'X-Canary': 'yes please' }),
    },
    { requiredKeys: ['kind', 'proxy', 'delay'] },
  ),
  fc.record(
    {
      kind: fc.constant('http.abort'),
      proxy: route,
      status: fc.integer({ min: 200, max: 599 }),
      percentage: fc.double({ min: 0.1, max: 100, noNaN: true }),
      body: fc.string({ maxLength: 40 }),
    },
    { requiredKeys: ['kind', 'proxy'] },
  ),
);

/** A plausible experiment as plain data: most validate, some break a cross-field rule. */
export const plausibleExperiment: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      title: fc.string({ minLength: 1, maxLength: 40 }),
      hypothesis: fc.record({
        statement: fc.constant('the front keeps answering'),
        probes: fc
          .tuple(httpProbe('front'), fc.option(httpProbe('api'), { nil: undefined }))
          .map(([a, b]) => (b ? [a, b] : [a])),
      }),
      targets,
      method: fc.array(
        fc.tuple(fault, dur(100, 120_000)).map(([f, d]) => ({ ...f, duration: d })),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
      guard: fc.record({
        interval: dur(50, 5000),
        failuresToAbort: fc.integer({ min: 1, max: 5 }),
        probes: fc.tuple(httpProbe('guard')).map(([p]) => [p]),
      }),
      blastRadius: fc.record(
        {
          maxTargets: fc.integer({ min: 1, max: 12 }),
          maxPercent: fc.oneof(fc.constant(100), fc.integer({ min: 1, max: 100 })),
          maxTrafficPercent: fc.oneof(fc.constant(100), fc.constant(100), fc.integer({ min: 1, max: 100 })),
        },
        { requiredKeys: [] },
      ),
      afterCheck: fc.record({ recoveryTimeout: dur(0, 60_000) }),
    },
    { requiredKeys: ['title', 'hypothesis', 'method', 'targets'] },
  )
  .map((e) => e as Record<string, unknown>);

// --- invalid experiments: a plausible one with one mutation that must be refused -----------------------

export type Mutation = (e: Record<string, unknown>) => Record<string, unknown>;
/** A copy of `e` with `value` at `path` (missing parents created; undefined deletes). */
export const set =
  (path: (string | number)[], value: unknown): Mutation =>
  (e) => {
    const copy = structuredClone(e);
    let cur: Record<string | number, unknown> = copy;
    for (const p of path.slice(0, -1)) {
      if (cur[p] === null || typeof cur[p] !== 'object')
        cur[p] = typeof path[path.indexOf(p) + 1] === 'number' ? [] : {};
      cur = cur[p] as Record<string | number, unknown>;
    }
    const last = path.at(-1) as string | number;
    if (value === undefined) delete cur[last];
    else cur[last] = value;
    return copy;
  };
export const badDuration = fc.constantFrom(
  '-1s',
  '0ms',
  'slow',
  '1e9h',
  `${'9'.repeat(30)}h`,
  '25h',
  '',
  '1.s',
  '10 s',
  'NaN',
);
export const weird = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1e308, [], {}, [[[]]], { a: { b: {} } }, '', ' ', '\u0000', '\u001b[2J'),
  fc.string({ maxLength: 20 }),
  fc.double(),
);
/** A key that is not a field of anything (so the experiment must be refused), control characters included. */
export const unknownKey = fc
  .string({ minLength: 1, maxLength: 12, unit: 'binary' })
  .map((k) => `zz${k}`)
  .filter((k) => k !== '__proto__');

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom<Mutation>(
    set(['title'], undefined),
    set(['hypothesis'], undefined),
    set(['method'], undefined),
    set(['method'], []),
    set(['hypothesis', 'probes'], []),
    set(['targets'], { labels: {} }),
    set(['targets'], { names: [] }),
    set(['targets'], { namePattern: '.*' }),
    set(['targets'], { namePattern: '(' }),
    set(['guard', 'failuresToAbort'], 0),
    set(['blastRadius', 'maxTargets'], 0),
    set(['blastRadius', 'maxTrafficPercent'], 0),
    set(['method', 0, 'kind'], 'container.explode'),
    set(['method', 0, 'kind'], { nested: 'kind' }),
    set(['method', 0, 'toxicity'], 0),
    set(['method', 0, 'share'], '150%'),
    set(['method', 0, 'share'], 1.01),
    set(['method', 0, 'peers'], { cidrs: ['10.0.0.0/33'] }),
    set(['method', 0, 'peers'], { cidrs: ['10.0.0.256'] }),
    set(['method', 0, 'peers'], { ports: [0] }),
    set(['method', 0, 'rate'], '10 MB/s'),
    set(['method', 0, 'rate'], '1kbit'),
    set(['method', 0, 'cores'], 0),
    set(['method', 0, 'size'], '1 pint'),
    set(['hypothesis', 'probes', 0, 'type'], undefined),
    set(['hypothesis', 'probes', 0, 'url'], 'ftp://x/'),
  ),
  badDuration.map((d) => set(['method', 0, 'duration'], d)),
  badDuration.map((d) => set(['hypothesis', 'probes', 0, 'timeout'], d)),
  badDuration.map((d) => set(['guard', 'interval'], d)),
  weird.map((w) => set(['title'], typeof w === 'string' && w.length > 0 ? 42 : w)),
  weird.filter((w) => typeof w !== 'string' || w === '').map((w) => set(['method', 0, 'duration'], w)),
  fc.tuple(unknownKey, weird).map(([k, w]) => set([k], w)),
  fc.tuple(unknownKey, weird).map(([k, w]) => set(['hypothesis', 'probes', 0, k], w)),
);

export const invalidExperiment: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(plausibleExperiment, mutation)
  .map(([e, m]) => m(e));

// --- rendering -----------------------------------------------------------------------------------------

/** The seed of a property-test file: FAULTLINE_FUZZ_SEED replays a run; printed so a failure can be replayed. */
export function fuzzSeed(what: string): number {
  const seed = Number(process.env.FAULTLINE_FUZZ_SEED ?? Date.now() % 2 ** 31);
  console.log(`${what} property tests: seed ${seed} (FAULTLINE_FUZZ_SEED=${seed} replays them)`);
  return seed;
}
export const fileFormat = fc.constantFrom<'yaml' | 'json'>('yaml', 'json');

export const render = (data: unknown, format: 'yaml' | 'json'): string =>
  format === 'json' ? JSON.stringify(data, null, 2) : stringify(data, { aliasDuplicateObjects: false, lineWidth: 0 });

// --- adversarial texts ---------------------------------------------------------------------------------

const VALID = `title: t
hypothesis:
  statement: s
  probes: [ &probe { name: p, type: http, url: "http://127.0.0.1:1/", requests: 2, timeout: 1s } ]
targets: { names: [api-1] }
method: [ { kind: container.pause, duration: 1s } ]
`;

/**
 * Texts built to hurt a parser: aliases, alias bombs, deep nesting, control characters, huge, random.
 * `scale` shrinks the big ones (tests keep to seconds; the benchmark uses 1).
 */
export const adversarialText = (scale = 1): fc.Arbitrary<{ kind: string; text: string }> => {
  const big = (n: number) => Math.max(1, Math.round(n * scale));
  return fc.oneof(
    fc.integer({ min: 101, max: 2000 }).map((n) => ({
      kind: 'many-aliases',
      text: `${VALID}tags: [ &t x, ${Array(n).fill('*t').join(', ')} ]\n`,
    })),
    fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('a', 'b', 'x', '1') }).map((a) => ({
      kind: 'missing-anchor',
      text: VALID.replace('title: t', `title: *${a}`),
    })),
    fc.integer({ min: 3, max: 12 }).map((levels) => {
      let t = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
      for (let i = 1; i < levels; i++)
        t += `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]\n`;
      return { kind: 'alias-bomb', text: t };
    }),
    fc.integer({ min: 65, max: big(20_000) }).map((n) => ({ kind: 'deep-flow', text: '['.repeat(n) + ']'.repeat(n) })),
    fc.integer({ min: 65, max: 3000 }).map((n) => ({ kind: 'deep-map', text: '{a: '.repeat(n) + '1' + '}'.repeat(n) })),
    fc.integer({ min: 65, max: 600 }).map((n) => ({
      kind: 'deep-block',
      text: Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n',
    })),
    fc.integer({ min: 65, max: big(20_000) }).map((n) => ({ kind: 'deep-dashes', text: `${'- '.repeat(n)}x\n` })),
    fc
      .array(fc.string({ minLength: 1, maxLength: 10, unit: 'binary' }), { minLength: 1, maxLength: 20 })
      .map((keys) => ({
        kind: 'control-chars',
        text: VALID + keys.map((k, i) => `${JSON.stringify(`${k}\n\u001b[31m${i}`)}: 1`).join('\n') + '\n',
      })),
    fc.integer({ min: 1000, max: big(60_000) }).map((n) => ({
      kind: 'many-keys',
      text: Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join('\n'),
    })),
    fc.integer({ min: 1000, max: big(30_000) }).map((n) => ({
      kind: 'many-json-keys',
      text: `{${Array.from({ length: n }, (_, i) => `"k${i}": ${i}`).join(',')}}`,
    })),
    fc
      .integer({ min: 1 << 20, max: (1 << 20) + 4096 })
      .map((n) => ({ kind: 'too-large', text: `title: ${'x'.repeat(n)}\n` })),
    fc
      .uint8Array({ minLength: 1, maxLength: 2000 })
      .map((b) => ({ kind: 'random-bytes', text: Buffer.from(b).toString('latin1') })),
    fc
      .string({
        maxLength: 400,
        unit: fc.constantFrom(
          '{',
          '}',
          '[',
          ']',
          ':',
          ',',
          '"',
          "'",
          '&',
          '*',
          '!',
          '|',
          '>',
          '-',
          '?',
          '#',
          ' ',
          '\n',
          'a',
          '1',
          '\t',
          '%',
          '@',
          '`',
        ),
      })
      .map((text) => ({ kind: 'yaml-punctuation', text })),
    fc
      .constantFrom(
        'a: !!binary AAAA\n',
        'a: !!timestamp 2001-12-14\n',
        '%YAML 1.1\n---\na: 1\n',
        '? [a]\n: 1\n',
        'a: &x\n  <<: *x\n',
        '"\\uD800": 1\n',
        '\ufeffa: 1\n',
      )
      .map((text) => ({ kind: 'yaml-oddities', text })),
  );
};

// --- the checks --------------------------------------------------------------------------------------

/** Internal error text that must never reach a user. */
export const INTERNAL =
  /Maximum call stack|\[object Object\]|RangeError|ReferenceError|TypeError|SyntaxError:|parseAllDocuments|internal error|\n\s+at /;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** What is wrong with one problem as a user would read it (undefined when it is fine). */
export function problemDefect(p: Problem): string | undefined {
  const fileLevel = p.line === undefined;
  if (!fileLevel && !(Number.isInteger(p.line) && (p.line as number) >= 1 && (p.column as number) >= 1))
    return `not positioned: ${JSON.stringify(p)}`;
  if (fileLevel && !p.message) return 'file-level problem without a message';
  for (const t of [p.file, p.path, p.message]) {
    if (INTERNAL.test(t)) return `internal text: ${JSON.stringify(t)}`;
    if (CONTROL.test(t)) return `control character: ${JSON.stringify(t)}`;
  }
  return undefined;
}

const inMemoryPorts = {} as Ports; // proxy and http kinds prepare without I/O

/**
 * A validated experiment through planning against the in-memory fleet and proxy: the plan must respect
 * the selector and the blast radius, every timer fit, and every rule the proxy gets pass the proxy's own
 * attribute schema. Returns the violations (empty when all holds); InvalidInput from planning is an
 * allowed answer (`not-started`, nothing injected), any other throw is a violation.
 */
export async function planDefects(e: Experiment, seed: number): Promise<string[]> {
  const out: string[] = [];
  const window = Math.max(...e.method.map((f) => durationMs(f.duration)));
  if (!(window + ACTIVITY_SLACK_MS <= MAX_TIMER_MS)) out.push(`window ${window} overflows a timer`);
  if (Number.isNaN(new Date(Date.now() + window + ACTIVITY_SLACK_MS).getTime())) out.push('window end is not a date');
  const timers = [
    ...(e.guard ? [durationMs(e.guard.interval)] : []),
    ...[...e.hypothesis.probes, ...(e.guard?.probes ?? [])].flatMap((p) =>
      p.type === 'http' ? [durationMs(p.timeout)] : [],
    ),
    durationMs(e.afterCheck.recoveryTimeout) + ACTIVITY_SLACK_MS,
  ];
  for (const t of timers) if (!(t > 0 && t <= MAX_TIMER_MS)) out.push(`timer ${t} out of range`);
  if (e.guard && e.guard.failuresToAbort * durationMs(e.guard.interval) > window)
    out.push('the guard cannot trip in the window');

  let plan;
  try {
    plan = planFaults(e, FLEET, ROUTES, seed);
  } catch (err) {
    if (err instanceof InvalidInput) {
      const routes = routesOf(e);
      const missing = routes.some((r) => !ROUTES.includes(r));
      if (!missing && !/targets|blastRadius/.test(err.message)) out.push(`unexpected refusal: ${err.message}`);
      return out;
    }
    return [...out, `planning threw ${(err as Error).name}: ${(err as Error).message}`];
  }
  const sel = plan.selection;
  const t = e.targets;
  if (sel && t) {
    const re = t.namePattern !== undefined ? new RegExp(t.namePattern) : undefined;
    for (const s of sel.selected) {
      const ci = FLEET.find((x) => x.id === s.id);
      if (!ci) out.push(`selected ${s.name}, not in the fleet`);
      else {
        if (ci.state !== 'running') out.push(`selected ${s.name}, which is ${ci.state}`);
        if (isProtected(ci)) out.push(`selected protected ${s.name}`);
        if (t.names && !t.names.includes(ci.name)) out.push(`selected ${s.name} outside names`);
        if (re && !re.test(ci.name)) out.push(`selected ${s.name} outside namePattern`);
        if (t.labels && Object.entries(t.labels).some(([k, v]) => ci.labels[k] !== v))
          out.push(`selected ${s.name} outside labels`);
      }
    }
    if (sel.matched.length && (sel.selected.length / sel.matched.length) * 100 > e.blastRadius.maxPercent + 1e-9)
      out.push('selection exceeds maxPercent');
  }
  const routes = plan.routes ?? [];
  if ((sel?.selected.length ?? 0) + routes.length > e.blastRadius.maxTargets) out.push('plan exceeds maxTargets');
  for (const r of routes) if (!ROUTES.includes(r)) out.push(`planned missing route ${r}`);
  for (const [i, f] of e.method.entries()) {
    const tp = trafficPercent(f);
    if (tp && tp.percent > e.blastRadius.maxTrafficPercent + 1e-9) out.push(`method.${i} exceeds maxTrafficPercent`);
    const kind = faultKind(f.kind);
    if (!kind) {
      out.push(`unknown kind ${f.kind}`);
      continue;
    }
    if (f.kind === 'network.loss') {
      // The rules iptables would be given: named within its limit, a probability it accepts, a rule per chain.
      const o = lossChains(f, f.peers?.cidrs, f.peers?.ports, chainBase('run-'.repeat(60), 'zzzzzz'), 'c');
      for (const c of o.chains) if (c.length > MAX_CHAIN_NAME) out.push(`method.${i}: chain name ${c} too long`);
      for (const r of o.rules) {
        const p = Number(r[r.indexOf('--probability') + 1]);
        if (!(p > 0 && p <= 1)) out.push(`method.${i}: probability ${p}`);
      }
      if (o.chains.some((c) => !o.rules.some((r) => r[0] === c))) out.push(`method.${i}: a chain without rules`);
    }
    if (kind.needsContainer) continue;
    // The proxy must accept every rule as prepared: same attribute schema the admin API applies.
    const h = (await kind.prepare(inMemoryPorts, f as never, {})) as ProxyFaultHandle;
    for (const tox of h.toxics) {
      const type = toxicType(tox.type);
      if (!type) out.push(`method.${i}: the proxy has no toxic type ${tox.type}`);
      else {
        const r = type.attributes.safeParse({ ...type.defaults, ...tox.attributes });
        if (!r.success) out.push(`method.${i}: the proxy would refuse ${tox.type} ${JSON.stringify(tox.attributes)}`);
      }
      if (!(tox.toxicity > 0 && tox.toxicity <= 1)) out.push(`method.${i}: toxicity ${tox.toxicity}`);
    }
  }
  return out;
}

/**
 * The blast radius where only the fleet can tell: container faults over a whole labelled fleet (mode all
 * or percent) together with route faults, under a maxTargets that may or may not fit both.
 */
export const fleetDependentExperiment: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    labelSel,
    fc.oneof(
      fc.constant({ mode: 'all' }),
      fc.integer({ min: 1, max: 100 }).map((percent) => ({ mode: 'percent', percent })),
    ),
    fc.subarray(ROUTE_POOL.slice(0, 5), { minLength: 1, maxLength: 3 }),
    fc.integer({ min: 1, max: 9 }),
  )
  .map(([labels, mode, routes, maxTargets]) => ({
    title: 'fleet-dependent',
    hypothesis: {
      statement: 's',
      probes: [{ name: 'p', type: 'http', url: 'http://127.0.0.1:1/', requests: 2, timeout: '1s' }],
    },
    targets: { labels, ...mode },
    method: [
      { kind: 'container.pause', duration: '2s' },
      { kind: 'proxy.latency', proxy: routes, latency: '100ms', duration: '2s' },
    ],
    blastRadius: { maxTargets },
  }));
