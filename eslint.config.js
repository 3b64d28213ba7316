// Lint config: type-aware rules everywhere, and the layering as import rules (README, "Layering"):
//   experiments/, faults/, pure: no Node built-ins (experiments/document.ts alone reads files), no Docker, HTTP or
//   judge/                 Temporal, no config.ts; faults/ never imports experiments/ or judge/; none imports
//                          activities/, workflows/, worker/, cli/, demo/, bench/ or proxy/ (but proxy/limits.ts)
//   workflows/             deterministic: @temporalio/workflow and /common, other folders as types only, except
//                          the pure helpers in WORKFLOW_VALUES and the definitions
//   definitions/           one module per workflow: its type, input and messages; imported by the workflow, its
//                          activities and the client alike, so it imports none of them (only types from below)
//   dockerode, undici      only activities/adapters/*, demo/, bench/, test/, proxy/test/
//   @temporalio/worker     only worker/, test/, bench/; cli/ loads worker/ with a dynamic import() where it
//                          starts a worker (this rule sees static imports only, which is the point)
//   cli/                   no activities/adapters/*: the client library, or an activity module
//   warden/                faults/, config.ts, errors.ts and Node only: no Temporal, nothing above it
//   report/                experiments/, judge/, faults/, config.ts, errors.ts: no Temporal or orchestration
//   proxy/                 nothing outside proxy/ (its tests aside)
//   no cycle between top-level folders: scripts/folder-graph.ts (dependency-cruiser), after eslint in `npm run lint`
//   test/unit/, proxy/test/unit/  no Docker, dev server, demo, CLI client/commands, e2e helpers (Temporal only
//                          as the time-skipping test server of test/unit/support/workflow-env.ts)
// Flat config does not merge a rule's options across blocks: each block below lists everything its files
// may not import, and the later, narrower block wins.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const NODE = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const IO = ['dockerode', 'undici'];
/** Pure, deterministic modules workflows may import values from (everything else: `import type` only). */
const WORKFLOW_VALUES = [
  'faults/duration.ts',
  'faults/limits.ts',
  'experiments/admission.ts',
  'experiments/blackout.ts',
  'experiments/hosts.ts',
  'experiments/coverage.ts',
  'experiments/exposure.ts',
  'definitions/experiment.ts',
  'definitions/admission.ts',
  'definitions/gameday.ts',
  'definitions/scheduled.ts',
  'definitions/sweep.ts',
  'definitions/notify.ts',
];

const names = (list, message) => list.map((name) => ({ name, message }));
const up = (...folders) => `^(\\.\\./)+(${folders.join('|')})/`;
const restrict = (paths, patterns = []) => ({
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }] },
});

const IO_MSG = 'Only activities/adapters/* (and demo/, bench/, test/) talk to Docker or HTTP: go through a port.';
const WORKER_MSG = 'Only worker/ creates workers; the CLI loads worker/ with await import() where it starts one.';
const UNIT_MSG =
  'Unit tests need neither Docker nor the dev server (workflows run on the test server of test/unit/support/workflow-env.ts): a test that does belongs outside unit/ (e2e).';
const ABOVE_DEFS = ['activities', 'workflows', 'worker', 'cli', 'demo', 'bench', 'scripts'];
const DEFS_MSG =
  "definitions/ (each workflow's messages, types and names) is below workflows/ and activities/: @temporalio/workflow and /common, types from experiments/ and the like, nothing from activities/, workflows/, worker/ or cli/.";
const CLI_ADAPTER_MSG =
  'cli/ reaches adapters only through the client library or an activity module (activities/local-host.ts without a worker), never activities/adapters/*.';
const WARDEN_MSG =
  'warden/ runs beside the worker on the ledger and the ports of faults/ (and config.ts, errors.ts): no Temporal, nothing above it.';
const REPORT_MSG =
  'report/ renders journals: experiments/, judge/, faults/, config.ts and errors.ts only; no Temporal, nothing of orchestration.';
const PROXY_MSG = 'proxy/ is a program of its own: it imports nothing from the rest of Faultline, and no Temporal.';
const PURE_MSG = 'The experiment language and the fault kinds are pure: no Node built-ins, Docker, HTTP or Temporal.';

const pureLayer = (nodeAllowed = []) => [
  ...names(
    NODE.filter((m) => !nodeAllowed.includes(m)),
    PURE_MSG,
  ),
  ...names(IO, PURE_MSG),
];
const pureLayerPatterns = (extra = []) => [
  { group: ['@temporalio/*'], message: PURE_MSG },
  {
    // proxy/limits.ts is the exception: the proxy's bounds, shared so a file that validates is one the proxy accepts.
    regex: `${up('activities', 'workflows', 'worker', 'cli', 'demo', 'bench', ...extra)}|^(\\.\\./)+proxy/(?!limits\\.ts$)|^(\\.\\./)+config\\.ts$`,
    message:
      'experiments/ and faults/ are the lowest layers: they import each other (never faults/ -> experiments/) and errors.ts.',
  },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.tools/**',
      '.state/**',
      'bench/results/**',
      'bin/**',
      'eslint.config.js',
      '.dependency-cruiser.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  // Everything: no Docker or HTTP libraries, no worker.
  { files: ['**/*.ts'], ...restrict([...names(IO, IO_MSG), ...names(['@temporalio/worker'], WORKER_MSG)]) },
  // The worker wires adapters in; it never imports the CLI.
  {
    files: ['worker/**/*.ts'],
    ...restrict(names(IO, IO_MSG), [{ regex: up('cli'), message: 'worker/ never imports the CLI.' }]),
  },
  // The CLI: static imports of worker/ are refused; `await import('../../worker/worker.ts')` is the lazy path.
  // It reaches Docker, the kernel and Prometheus only through the client library or an activity module
  // (activities/local-host.ts where it runs without a worker), never an adapter.
  {
    files: ['cli/**/*.ts'],
    ...restrict(
      [...names(IO, IO_MSG), ...names(['@temporalio/worker'], WORKER_MSG)],
      [
        { regex: up('worker'), message: WORKER_MSG },
        { regex: '^(\\.\\./)+activities/adapters/', message: CLI_ADAPTER_MSG },
      ],
    ),
  },
  // The warden (a leased fault's revert when its run is gone, and the sweep's judging): beside the worker,
  // on the ledger and the ports of faults/ alone; no Temporal, nothing above it.
  {
    files: ['warden/**/*.ts'],
    ...restrict(
      [...names(IO, IO_MSG), ...names(['@temporalio/worker'], WORKER_MSG)],
      [
        { group: ['@temporalio/*'], message: WARDEN_MSG },
        { regex: up(...ABOVE_DEFS, 'definitions', 'experiments', 'judge', 'report', 'proxy'), message: WARDEN_MSG },
      ],
    ),
  },
  // Reports render journals (files, JUnit): no Temporal, no Docker, nothing of orchestration.
  {
    files: ['report/**/*.ts'],
    ...restrict(
      [...names(IO, IO_MSG), ...names(['@temporalio/worker'], WORKER_MSG)],
      [
        { group: ['@temporalio/*'], message: REPORT_MSG },
        { regex: up(...ABOVE_DEFS, 'definitions', 'warden', 'proxy'), message: REPORT_MSG },
      ],
    ),
  },
  // The fault proxy is its own program (its own README): nothing from the rest of Faultline (a path that
  // climbs out of proxy/: one `../` from proxy/*.ts, two from proxy/toxics/*.ts).
  ...[
    ['proxy/*.ts', '^\\.\\./'],
    ['proxy/toxics/**/*.ts', '^(\\.\\./){2}'],
  ].map(([files, outside]) => ({
    files: [files],
    ...restrict(
      [...names(IO, IO_MSG), ...names(['@temporalio/worker'], WORKER_MSG)],
      [
        { group: ['@temporalio/*'], message: PROXY_MSG },
        { regex: outside, message: PROXY_MSG },
      ],
    ),
  })),
  // Activities (thin adapters over ports) never reach up into orchestration, the worker or the CLI.
  {
    files: ['activities/**/*.ts'],
    ignores: ['activities/adapters/**'],
    ...restrict(
      [...names(IO, IO_MSG), ...names(['@temporalio/worker'], WORKER_MSG)],
      [{ regex: up('workflows', 'worker', 'cli'), message: 'activities/ never imports workflows/, worker/ or cli/.' }],
    ),
  },
  // The language and the fault kinds.
  { files: ['experiments/**/*.ts'], ...restrict(pureLayer(), pureLayerPatterns()) },
  {
    // The file loader: document.ts, the one parsing pipeline (experiments, policies, schedules, game days).
    files: ['experiments/document.ts'],
    ...restrict(
      pureLayer(['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'path', 'node:path']),
      pureLayerPatterns(),
    ),
  },
  { files: ['faults/**/*.ts'], ...restrict(pureLayer(), pureLayerPatterns(['experiments', 'judge'])) },
  // The statistics behind the verdict: pure too (the unit project tests them without infrastructure).
  { files: ['judge/**/*.ts'], ...restrict(pureLayer(), pureLayerPatterns()) },
  // Workflows: deterministic orchestration (Temporal's sandbox would reject the rest at bundle time).
  {
    files: ['workflows/**/*.ts'],
    ...restrict(names([...NODE, ...IO], 'Workflows are deterministic: no Node built-ins or I/O libraries.'), [
      {
        group: ['@temporalio/*', '!@temporalio/workflow', '!@temporalio/common'],
        message: 'Workflows use @temporalio/workflow and @temporalio/common only.',
      },
      {
        regex: `^\\.\\./(?!(${WORKFLOW_VALUES.map((p) => p.replace(/[./]/g, (c) => `\\${c}`)).join('|')})$)`,
        allowTypeImports: true,
        message: `Workflows import only types from other folders (values only from ${WORKFLOW_VALUES.join(', ')}).`,
      },
    ]),
  },
  // Workflows read as state machines (issue 17 item 1): no workflow function over 80 lines, blank lines and
  // comments aside (a comment on why an order is deterministic is never what makes a function too long).
  {
    files: ['workflows/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
  // The workflows' contracts (types, inputs, signal/query/update definitions): imported by workflows, activities,
  // the client and tests alike, so they sit below all of them and are as deterministic as a workflow.
  {
    files: ['definitions/**/*.ts'],
    ...restrict(names([...NODE, ...IO], DEFS_MSG), [
      { group: ['@temporalio/*', '!@temporalio/workflow', '!@temporalio/common'], message: DEFS_MSG },
      // Two patterns, as a type import passes wherever a pattern that allows types matches.
      { regex: `^(\\.\\./)+(?!(${ABOVE_DEFS.join('|')})/)`, allowTypeImports: true, message: DEFS_MSG },
      { regex: up(...ABOVE_DEFS), message: DEFS_MSG },
    ]),
  },
  // Where the real components are driven directly.
  {
    files: ['activities/adapters/**/*.ts', 'demo/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'proxy/test/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
  // Unit tests (the `unit` vitest project) run with neither Docker nor the dev server: nothing that reaches
  // them. Temporal only as its time-skipping test server (test/unit/support/workflow-env.ts, which takes the
  // worker's workflow bundle from worker/worker.ts).
  {
    files: ['test/unit/**/*.ts', 'proxy/test/unit/**/*.ts'],
    ...restrict(names(['dockerode'], UNIT_MSG), [
      {
        regex:
          '(^|/)(activities/adapters/docker|worker/(?!worker\\.ts$)|demo/|cli/(client|embedded|main)|cli/commands/|test/helpers|test/global-setup)',
        message: UNIT_MSG,
      },
      { regex: '^\\.\\./(helpers|global-setup)\\.ts$', message: UNIT_MSG },
    ]),
  },
  // Replay tests bundle the workflows and replay recorded histories in the worker's replayer: no server.
  {
    files: ['test/unit/replay*.test.ts'],
    ...restrict(names(['dockerode', '@temporalio/client', '@temporalio/testing'], UNIT_MSG), [
      {
        regex:
          '(^|/)(activities/adapters/docker|worker/|demo/|cli/(client|embedded|main)|cli/commands/|test/helpers|test/global-setup)',
        message: UNIT_MSG,
      },
      { regex: '^\\.\\./(helpers|global-setup)\\.ts$', message: UNIT_MSG },
    ]),
  },
);
