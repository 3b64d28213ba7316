// The experiment language, pure: every example is valid, every fixture (named after the rule it breaks) is
// rejected with file:line:col and field, defaults apply, and the committed JSON Schema matches the zod schema.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment, parseExperimentFile } from '../../experiments/parse.ts';
import { JSON_SCHEMA_TEXT } from '../../experiments/json-schema.ts';
import { validateAnyFile } from '../../experiments/any.ts';
import { PROJECT_ROOT } from '../../config.ts';

const FIX = path.join(PROJECT_ROOT, 'test', 'fixtures', 'invalid');
const EXAMPLES = path.join(PROJECT_ROOT, 'experiments', 'examples');

const expected: Record<string, { line: number; column: number; path: string; message: RegExp }> = {
  'yaml-syntax.yaml': { line: 8, column: 25, path: '', message: /YAML syntax/ },
  'unknown-field.yaml': { line: 8, column: 7, path: 'hypothesis.probes.0.retries', message: /unknown field "retries"/ },
  'unknown-fault-kind.yaml': {
    line: 10,
    column: 11,
    path: 'method.0.kind',
    message: /unknown fault kind "container.explode"; known kinds: .*container.pause/,
  },
  'missing-duration.yaml': {
    line: 10,
    column: 5,
    path: 'method.0.duration',
    message: /required field "duration" is missing/,
  },
  'negative-duration.yaml': { line: 11, column: 15, path: 'method.0.duration', message: /must not be negative/ },
  'blast-radius-max-targets.yaml': {
    line: 11,
    column: 10,
    path: 'targets.count',
    message: /selects 3 containers but blastRadius.maxTargets is 2/,
  },
  'blast-radius-mode-all.yaml': { line: 10, column: 9, path: 'targets.mode', message: /maxPercent is 50/ },
  'container-faults-need-targets.yaml': { line: 1, column: 1, path: 'targets', message: /needs target containers/ },
  'prometheus-events-and-query.yaml': {
    line: 10,
    column: 14,
    path: 'hypothesis.probes.0.query',
    message: /give events or query, not both/,
  },
  'judge-bad-and-good.yaml': {
    line: 17,
    column: 15,
    path: 'judge.metrics.0.events.good',
    message: /bad or good, not both/,
  },
  'control-group-placeholder.yaml': {
    line: 14,
    column: 15,
    path: 'judge.metrics.0.events.good',
    message: /must hold \$GROUP \(judge.controlGroup is set\)/,
  },
  'control-group-replicas.yaml': {
    line: 9,
    column: 17,
    path: 'judge.controlGroup',
    message: /no selector for the service's replicas/,
  },
  'control-group-replicas-one-name.yaml': {
    line: 6,
    column: 19,
    path: 'targets.names',
    message: /selects one replica \(shop-backend-1\): nothing is left for the control group/,
  },
  'bad-url.json': { line: 6, column: 49, path: 'hypothesis.probes.0.url', message: /http:\/\/ or https:\/\// },
  'network-loss-share-over-100.yaml': {
    line: 11,
    column: 12,
    path: 'method.0.share',
    message: /must be at most 100%/,
  },
  'network-bandwidth-not-a-rate.yaml': {
    line: 11,
    column: 11,
    path: 'method.0.rate',
    message: /must be a rate such as 512kbit, 10mbit or 1gbit/,
  },
  'stress-memory-not-a-size.yaml': {
    line: 11,
    column: 11,
    path: 'method.0.size',
    message: /must be a size such as 256MiB, 1GiB or 500MB/,
  },
  'stress-io-workers-zero.yaml': {
    line: 11,
    column: 14,
    path: 'method.0.workers',
    message: /must be at least 1\b/,
  },
  'process-kill-bad-pattern.yaml': {
    line: 11,
    column: 14,
    path: 'method.0.pattern',
    message: /must be a valid regular expression/,
  },
  'disk-fill-path-outside.yaml': {
    line: 11,
    column: 11,
    path: 'method.0.path',
    message: /must not hold '\.\.'/,
  },
  'dns-error-bad-name.yaml': {
    line: 11,
    column: 27,
    path: 'method.0.names.1',
    message: /"db\*": a wildcard is only the whole leftmost label/,
  },
  'dns-spoof-bad-address.yaml': {
    line: 12,
    column: 14,
    path: 'method.0.address',
    message: /must be an IPv4 or IPv6 address such as 10\.0\.0\.99/,
  },
  'network-loss-bad-cidr.yaml': {
    line: 13,
    column: 28,
    path: 'method.0.peers.cidrs.1',
    message: /must be an IPv4 address or network such as 172\.18\.0\.5 or 10\.0\.0\.0\/8/,
  },
};

describe('experiment files', () => {
  it('every example file (experiments, policies, schedules, game days) is valid', async () => {
    const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const r = await validateAnyFile(path.join(EXAMPLES, f));
      expect(r.problems, f).toEqual([]);
    }
  });

  it('every example SLO file (slos/: OpenSLO, Sloth) is valid, and each is an SLO an example judges', async () => {
    const files = readdirSync(path.join(EXAMPLES, 'slos')).filter((f) => /\.ya?ml$/.test(f));
    expect(files.sort()).toEqual(['front-openslo.yaml', 'front-sloth.yaml']);
    for (const f of files)
      expect(await validateAnyFile(path.join(EXAMPLES, 'slos', f)), f).toEqual({ kind: 'SLO', problems: [] });
    const r = await parseExperimentFile(path.join(EXAMPLES, 'judge-slo-front.yaml'));
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.experiment.judge?.metrics.map((m) => [m.name, m.slo?.format, m.slo?.objective, m.slo?.window])).toEqual([
      ['front-latency', 'sloth', 0.95, '30d'],
      ['front-availability', 'openslo', 0.99, '28d'],
    ]);
  });

  it('there is a fixture for every expectation and an expectation for every fixture', () => {
    expect(readdirSync(FIX).sort()).toEqual(Object.keys(expected).sort());
  });

  for (const [file, want] of Object.entries(expected)) {
    it(`rejects ${file} with its file, line, column and field`, async () => {
      const r = await parseExperimentFile(path.join(FIX, file));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const p = r.problems[0]!;
      expect(p.file).toBe(path.join(FIX, file));
      expect({ line: p.line, column: p.column, path: p.path }).toEqual({
        line: want.line,
        column: want.column,
        path: want.path,
      });
      expect(p.message).toMatch(want.message);
    });
  }

  it('reports every problem of a file, not just the first', () => {
    const r = parseExperiment(
      'title: ""\nhypothesis: { statement: s, probes: [] }\nmethod: []\nextra: 1\n',
      'many.yaml',
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.path).sort()).toEqual(['extra', 'hypothesis.probes', 'method', 'title']);
  });

  it('applies defaults a reader can rely on', () => {
    const r = parseExperiment(
      'title: t\nhypothesis: { statement: s, probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ] }\ntargets: { names: [a] }\nmethod: [ { kind: container.kill, duration: 1s } ]\n',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.experiment.blastRadius).toEqual({ maxTargets: 1, maxPercent: 100, maxTrafficPercent: 100 });
    expect(r.experiment.targets?.mode).toBe('one');
    expect(r.experiment.method[0]).toMatchObject({ kind: 'container.kill', signal: 'SIGKILL' });
    expect(r.experiment.hypothesis.probes[0]).toMatchObject({
      method: 'GET',
      expectStatus: 200,
      timeout: '2s',
      tolerance: { maxErrorRate: 0 },
    });
  });

  it('the committed JSON Schema is in sync with the zod schema (npm run schema regenerates it)', () => {
    const committed = readFileSync(path.join(PROJECT_ROOT, 'experiments', 'experiment.schema.json'), 'utf8');
    expect(committed).toBe(JSON_SCHEMA_TEXT());
    const schema = JSON.parse(committed) as {
      properties: { method: { items: { oneOf: { properties: { kind: { const: string } } }[] } } };
    };
    const kinds = schema.properties.method.items.oneOf.map((o) => o.properties.kind.const);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'container.kill',
        'container.stop',
        'container.restart',
        'container.pause',
        'network.partition',
      ]),
    );
  });
});
