// `faultline import ctk`: Chaos Toolkit's own test experiments (chaostoolkit-lib's and chaostoolkit's test
// suites, the toxiproxy extension's documented examples; fetched from PyPI by scripts/setup.sh into
// .tools/ctk-sources, never committed) are each mapped or refused with a positioned list, and nothing in them
// is dropped without a word; experiments of the shapes Chaos Toolkit's docs show (HTTP probe with a status
// tolerance, docker actions with their rollbacks, toxiproxy toxics) map to valid Faultline experiments.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../config.ts';
import { importCtk } from '../../experiments/ctk.ts';
import { checkKind, parseTree, valueAt } from '../../experiments/document.ts';
import { experimentKind } from '../../experiments/parse.ts';
import { runCli } from './cli-process.ts';

const SOURCES = path.join(PROJECT_ROOT, '.tools', 'ctk-sources');
const dir = mkdtempSync(path.join(tmpdir(), 'ctk-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const OPTS = { defaultDuration: '30s' };

function suiteFiles(): string[] {
  expect(existsSync(SOURCES), "Chaos Toolkit's sources are not in .tools/ctk-sources: run bash scripts/setup.sh").toBe(
    true,
  );
  const lib = path.join(SOURCES, 'lib-experiments');
  const cli = path.join(SOURCES, 'chaostoolkit-1.16.0', 'tests', 'fixtures');
  return [
    ...readdirSync(lib).map((f) => path.join(lib, f)),
    ...readdirSync(cli)
      .filter((f) => f.endsWith('.json') && f !== 'disco.json') // disco.json is a discovery, not an experiment
      .map((f) => path.join(cli, f)),
  ];
}

function load(file: string) {
  const text = readFileSync(file, 'utf8');
  const t = parseTree(text, file, 'Chaos Toolkit experiment');
  if (!t.ok) throw new Error(`${file}: ${t.problems.map((p) => p.message).join('; ')}`);
  return { text, tree: t.value, r: importCtk(t.value.data, OPTS) };
}

/** Paths of every activity in a CTK experiment: hypothesis probes, method, rollbacks. */
function activities(data: unknown): string[] {
  const d = (data ?? {}) as Record<string, unknown>;
  const ssh = d['steady-state-hypothesis'] as { probes?: unknown[] } | undefined;
  const list = (v: unknown, at: string) => (Array.isArray(v) ? v.map((_, i) => `${at}.${i}`) : []);
  return [
    ...list(ssh?.probes, 'steady-state-hypothesis.probes'),
    ...list(d.method, 'method'),
    ...list(d.rollbacks, 'rollbacks'),
  ];
}

describe("Chaos Toolkit's own test experiments", () => {
  const files = suiteFiles();
  const rows = files.map((f) => ({ name: path.basename(f), ...load(f) }));

  it('are all there (chaostoolkit-lib and chaostoolkit suites)', () => {
    expect(rows.length).toBeGreaterThanOrEqual(60);
    expect(rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['HTTPToleranceExperiment.json', 'YamlExperiment.yaml', 'check-file-exists.json']),
    );
  });

  it('none is silently dropped: each activity becomes a probe or a fault, or is listed by its path', () => {
    for (const { name, tree, r } of rows) {
      const listed = [...r.unmapped, ...r.notes].map((v) => v.path.join('.'));
      const exp = r.experiment as { hypothesis?: { probes: { name: string }[] }; method?: { description: string }[] };
      const probes = (exp?.hypothesis?.probes ?? []).length;
      const faults = (exp?.method ?? []).map((m) => m.description);
      for (const a of activities(tree.data)) {
        const isListed = listed.some((l) => l === a || l.startsWith(`${a}.`));
        const isFault = faults.some((d) => d.includes(`Chaos Toolkit's ${a}`));
        const isProbe = a.startsWith('steady-state-hypothesis') && probes > 0;
        expect(isListed || isFault || isProbe, `${name}: ${a} is neither mapped nor listed`).toBe(true);
      }
    }
  });

  it('each refusal is positioned in the source, at the part it names', () => {
    for (const { name, text, tree, r } of rows) {
      const placed = tree.place(r.unmapped);
      for (const p of placed) {
        expect(p.line, `${name} ${p.path}`).toBeGreaterThanOrEqual(1);
        const last = p.path.split('.').at(-1)!;
        // a field's position is on the line of its key (or its value's first line)
        const at = r.unmapped[placed.indexOf(p)]!.path;
        if (at.length && typeof at.at(-1) === 'string' && valueAt(tree.data, at) !== undefined) {
          const lines = text.split('\n');
          const around = lines.slice(Math.max(0, p.line! - 2), p.line! + 1).join('\n');
          expect(around, `${name}:${p.line} ${p.path}`).toContain(last);
        }
      }
    }
  });

  // The table: every suite experiment uses Python functions, local commands, controls or refs Faultline has
  // no equivalent for, so each is refused; these rows say with what.
  const table: [string, string[]][] = [
    // its HTTP probe (status tolerance 200) maps; an empty method has nothing to inject
    ['HTTPToleranceExperiment.json', ['method']],
    ['SimpleExperiment.json', ['steady-state-hypothesis.probes.0.provider', 'method.0.provider', 'method']],
    ['YamlExperiment.yaml', ['', 'method.0', 'method']],
    [
      'ExperimentWithVariousTolerances.json',
      [
        'steady-state-hypothesis.probes.0.provider',
        'steady-state-hypothesis.probes.1.provider',
        'steady-state-hypothesis.probes.3.tolerance', // a body regex: Faultline never judges a body
        'steady-state-hypothesis.probes.4.provider',
        'steady-state-hypothesis.probes.5.provider',
        'steady-state-hypothesis.probes.6.provider',
        'method.0',
        'method',
      ],
    ],
    [
      'ExperimentWithControls.json',
      ['controls', 'steady-state-hypothesis.probes.0.provider', 'method.0', 'rollbacks.0', 'method'],
    ],
    [
      'override-rollbacks-runtime-strategy.json',
      [
        'runtime',
        'steady-state-hypothesis.probes.0.provider',
        'steady-state-hypothesis.probes.1.provider',
        'method.0.provider',
        'rollbacks.0',
        'method',
      ],
    ],
    [
      'ExperimentWithConfigurationCallingMissingEnvKey.json',
      [
        'steady-state-hypothesis.probes.0.provider',
        'steady-state-hypothesis.probes.2.provider',
        'method.0',
        'method.1',
        'rollbacks.0',
        'method',
      ],
    ],
  ];
  it.each(table)('%s is refused at exactly these paths', (file, paths) => {
    const row = rows.find((r) => r.name === file)!;
    expect(row.r.unmapped.map((v) => v.path.join('.'))).toEqual(paths);
  });

  it("the toxiproxy extension's documented method examples: create_proxy and reset refused, with why", () => {
    const readme = readFileSync(path.join(SOURCES, 'chaostoolkit-toxiproxy-0.3.1', 'README.md'), 'utf8');
    const methods = [...readme.matchAll(/```json\n(\s*"method"[\s\S]*?)```/g)].map(
      (m) => (JSON.parse(`{${m[1]!}}`) as { method: unknown[] }).method,
    );
    const got = methods.map((method) => {
      const r = importCtk(
        { title: 't', 'steady-state-hypothesis': { title: 'up', probes: [httpProbe] }, method },
        OPTS,
      );
      return r.unmapped.map((v) => `${v.path.join('.')}: ${v.message.split(':')[0]}`);
    });
    expect(got).toEqual([
      ['method.0.provider.func: create_proxy', 'method: no action of the method maps to a Faultline fault'],
      [
        'method.0: undoes nothing this experiment injects before it',
        'method: no action of the method maps to a Faultline fault',
      ],
      // the README names a function the extension does not have (create_dowsntream_latency_toxic)
      // and a module it does not have either (toxiproxy.toxic.actions: the extension's is chaostoxi.toxic.actions)
      [
        'method.0.provider: a Python action (toxiproxy.toxic.actions.create_dowsntream_latency_toxic)',
        'method: no action of the method maps to a Faultline fault',
      ],
    ]);
  });
});

const httpProbe = {
  type: 'probe',
  name: 'app-responds',
  tolerance: 200,
  provider: { type: 'http', url: 'http://127.0.0.1:8080/health', timeout: 3 },
};

describe('what maps', () => {
  it('docker pause with its unpause rollback: container.pause for the pause, the rollback is the revert', () => {
    const r = importCtk(
      {
        version: '1.0.0',
        title: 'pause one backend',
        description: 'd',
        'steady-state-hypothesis': { title: 'front answers', probes: [httpProbe] },
        method: [
          {
            type: 'action',
            name: 'pause',
            provider: { type: 'process', path: 'docker', arguments: ['pause', 'api-1'] },
            pauses: { after: 60 },
          },
        ],
        rollbacks: [
          {
            type: 'action',
            name: 'unpause',
            provider: { type: 'process', path: 'docker', arguments: 'unpause api-1' },
          },
        ],
      },
      OPTS,
    );
    expect(r.unmapped).toEqual([]);
    expect(r.experiment).toMatchObject({
      hypothesis: {
        statement: 'front answers',
        probes: [
          {
            name: 'app-responds',
            type: 'http',
            url: 'http://127.0.0.1:8080/health',
            requests: 1,
            timeout: '3s',
            expectStatus: 200,
            tolerance: { maxErrorRate: 0 },
          },
        ],
      },
      method: [{ kind: 'container.pause', duration: '60s' }],
      targets: { names: ['api-1'], mode: 'all' },
      blastRadius: { maxTargets: 1 },
    });
    expect(r.notes.map((n) => n.path.join('.'))).toEqual(['rollbacks.0']);
    expect(checkKind(experimentKind, r.experiment).ok).toBe(true);
  });

  it.each([
    [['kill', '-s', 'SIGTERM', 'db'], { kind: 'container.kill', signal: 'SIGTERM' }],
    [['kill', '--signal=9', 'db'], { kind: 'container.kill', signal: '9' }],
    [['stop', '-t', '5', 'db'], { kind: 'container.stop', gracePeriod: 5 }],
    [['restart', 'db'], { kind: 'container.restart' }],
    [['network', 'disconnect', 'backnet', 'db'], { kind: 'network.partition', network: 'backnet' }],
  ])('docker %j maps to %j', (args, fault) => {
    const r = importCtk(
      {
        title: 't',
        'steady-state-hypothesis': { title: 'up', probes: [httpProbe] },
        method: [
          { type: 'action', name: 'a', provider: { type: 'process', path: '/usr/bin/docker', arguments: args } },
        ],
      },
      OPTS,
    );
    expect(r.unmapped).toEqual([]);
    expect((r.experiment as { method: unknown[] }).method).toEqual([
      expect.objectContaining({ ...fault, duration: '30s' }),
    ]);
    expect(checkKind(experimentKind, r.experiment).ok).toBe(true);
  });

  it('toxiproxy toxics map to proxy faults, the window ends at the delete_toxic in the method', () => {
    const toxic = (func: string, args: object, pause = 0) => ({
      type: 'action',
      name: func,
      provider: { type: 'python', module: 'chaostoxi.toxic.actions', func, arguments: args },
      pauses: { after: pause },
    });
    const r = importCtk(
      {
        title: 'slow db',
        configuration: { proxy: 'db' },
        'steady-state-hypothesis': {
          title: 'up',
          probes: [{ ...httpProbe, tolerance: { type: 'range', range: [200, 204], target: 'status' } }],
        },
        method: [
          toxic('create_latency_toxic', { for_proxy: '${proxy}', toxic_name: 'lat', latency: 300, jitter: 20 }, 20),
          toxic(
            'create_toxic',
            {
              for_proxy: 'db',
              toxic_name: 'bw',
              toxic_type: 'bandwidth',
              stream: 'upstream',
              toxicity: 0.5,
              attributes: { rate: 100 },
            },
            10,
          ),
          toxic('delete_toxic', { for_proxy: 'db', toxic_name: 'lat' }),
        ],
        rollbacks: [toxic('delete_toxic', { for_proxy: 'db', toxic_name: 'bw' })],
      },
      OPTS,
    );
    expect(r.unmapped).toEqual([]);
    expect(r.experiment).toMatchObject({
      hypothesis: { probes: [{ expectStatus: [200, 201, 202, 203, 204] }] },
      method: [
        { kind: 'proxy.latency', proxy: 'db', latency: '300ms', jitter: '20ms', stream: 'downstream', duration: '30s' },
        { kind: 'proxy.bandwidth', proxy: 'db', rate: 100, stream: 'upstream', toxicity: 0.5, duration: '10s' },
      ],
      blastRadius: { maxTargets: 1 },
    });
    // Faultline injects a method's faults at once: said, not hidden
    expect(r.notes.map((n) => n.message)).toContainEqual(expect.stringContaining('injected together'));
    expect(checkKind(experimentKind, r.experiment).ok).toBe(true);
  });

  it('a mapped action with a field Faultline cannot carry is refused at that field, not half-imported', () => {
    const r = importCtk(
      {
        title: 't',
        'steady-state-hypothesis': { title: 'up', probes: [httpProbe] },
        method: [
          {
            type: 'action',
            name: 'a',
            controls: [{ name: 'c', provider: { type: 'python', module: 'm' } }],
            provider: { type: 'process', path: 'docker', arguments: ['pause', 'a'], timeout: 3 },
          },
        ],
      },
      OPTS,
    );
    expect(r.unmapped.map((v) => v.path.join('.'))).toEqual([
      'method.0.controls',
      'method.0.provider.timeout',
      'method',
    ]);
  });

  it('refuses what it cannot carry: env configuration, body tolerances, method probes, a second target set', () => {
    const r = importCtk(
      {
        title: 't',
        configuration: { base: { type: 'env', key: 'BASE_URL' } },
        'steady-state-hypothesis': {
          title: 'up',
          probes: [
            { ...httpProbe, provider: { type: 'http', url: '${base}/health' } },
            { ...httpProbe, tolerance: { type: 'regex', target: 'body', pattern: 'ok' } },
          ],
        },
        method: [
          { type: 'action', name: 'a', provider: { type: 'process', path: 'docker', arguments: ['pause', 'a'] } },
          { type: 'probe', name: 'logs', provider: { type: 'process', path: 'docker', arguments: ['logs', 'a'] } },
          { type: 'action', name: 'b', provider: { type: 'process', path: 'docker', arguments: ['pause', 'b'] } },
        ],
      },
      OPTS,
    );
    expect(r.unmapped.map((v) => `${v.path.join('.')}: ${v.message}`)).toEqual([
      'steady-state-hypothesis.probes.0.provider.url: ${base} comes from the environment variable BASE_URL: a Faultline file takes no substitution; write the value',
      'steady-state-hypothesis.probes.0.provider.url: an http:// or https:// URL is needed',
      expect.stringMatching(
        /^steady-state-hypothesis\.probes\.1\.tolerance: a regex tolerance on body: Faultline judges/,
      ),
      expect.stringMatching(/^method\.1: a probe in the method/),
      expect.stringMatching(
        /^method\.2: Faultline applies every container fault to one selection of targets: this action names b, an earlier one a/,
      ),
    ]);
  });
});

describe('faultline import ctk (CLI)', () => {
  it('writes a file `faultline validate` accepts, and exits 2 with the positioned list for one it refuses', () => {
    const src = path.join(dir, 'pause.yaml');
    writeFileSync(
      src,
      [
        'title: pause one backend',
        'description: as in the docs',
        'steady-state-hypothesis:',
        '  title: front answers',
        '  probes:',
        '    - {type: probe, name: front, tolerance: 200, provider: {type: http, url: "http://127.0.0.1:18080/"}}',
        'method:',
        '  - type: action',
        '    name: pause',
        '    provider: {type: process, path: docker, arguments: [pause, api-1]}',
        '    pauses: {after: 20}',
        'rollbacks:',
        '  - {type: action, name: unpause, provider: {type: process, path: docker, arguments: [unpause, api-1]}}',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'pause.faultline.yaml');
    const env = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const r = runCli(['import', 'ctk', src, '--out', out], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${src}:13:5 rollbacks.0: undoes method.0`);
    const v = runCli(['validate', out], env);
    expect(v.status, v.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^# Imported from .*pause\.yaml by faultline import ctk\./);

    const refused = path.join(SOURCES, 'lib-experiments', 'YamlExperiment.yaml');
    const j = runCli(['import', 'ctk', refused, '--json', '--out', path.join(dir, 'never.yaml')], env);
    expect(j.status).toBe(2);
    const body = JSON.parse(j.stdout) as {
      written: null;
      unmapped: { line: number; column: number; path: string; jsonPath: string }[];
    };
    expect(body.written).toBeNull();
    expect(body.unmapped).toContainEqual(
      expect.objectContaining({ line: 5, column: 3, path: 'method.0', jsonPath: '$.method[0]' }),
    );
    expect(existsSync(path.join(dir, 'never.yaml'))).toBe(false);
    const plain = runCli(['import', 'ctk', refused], env);
    expect(plain.status).toBe(2);
    expect(plain.stderr).toContain(`${refused}:5:3 method.0: a probe in the method`);
  });

  it('--partial writes what maps and lists the rest in the header; an --out it cannot write is exit 2, one line', () => {
    const src = path.join(dir, 'mixed.json');
    writeFileSync(
      src,
      JSON.stringify(
        {
          title: 'mixed',
          'steady-state-hypothesis': {
            title: 'up',
            probes: [httpProbe, { type: 'probe', name: 'ls', tolerance: 0, provider: { type: 'process', path: 'ls' } }],
          },
          method: [{ type: 'action', name: 'k', provider: { type: 'process', path: 'docker', arguments: 'kill db' } }],
        },
        null,
        2,
      ),
    );
    const env = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const out = path.join(dir, 'mixed.yaml');
    const r = runCli(['import', 'ctk', src, '--partial', '--duration', '5s', '--out', out], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${src}:20:21 steady-state-hypothesis.probes.1.provider: a process probe (ls)`);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('# NOT IMPORTED: steady-state-hypothesis.probes.1.provider (line 20): a process probe (ls)');
    expect(text).toContain('# note: method.0 (line 28): no pause gives this fault a window: it lasts 5s');
    expect(runCli(['validate', out], env).status).toBe(0);
    const bad = runCli(['import', 'ctk', src, '--partial', '--out', path.join(dir, 'no-such-dir', 'x.yaml')], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(/^faultline: --out: cannot write .*x\.yaml \(ENOENT\)$/);
  });
});
