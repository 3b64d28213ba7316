// The CLI entry point: a thin command table over cli/commands and the client library. Only this
// file turns errors into messages and exit codes: 0 ok/passed, 1 refuted or aborted, 2 invalid
// input, 3 error.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { FaultlineError, formatProblem, InfrastructureError, InvalidInput } from '../errors.ts';
import { processIo } from './io.ts';

// Commands load lazily: `validate` must not load Docker or Temporal code.
const cmd = {
  validate: () => import('./commands/validate.ts'),
  run: () => import('./commands/run.ts'),
  status: () => import('./commands/status.ts'),
  report: () => import('./commands/report.ts'),
  abort: () => import('./commands/abort.ts'),
  revert: () => import('./commands/revert.ts'),
  history: () => import('./commands/history.ts'),
  worker: () => import('./commands/worker.ts'),
  dev: () => import('./commands/dev.ts'),
  quickstart: () => import('./commands/quickstart.ts'),
  server: () => import('./commands/server.ts'),
  demo: () => import('./commands/demo.ts'),
  proxy: () => import('./commands/proxy.ts'),
  policy: () => import('./commands/policy.ts'),
  lever: () => import('./commands/lever.ts'),
  approveRun: () => import('./commands/approve-run.ts'),
  schedule: () => import('./commands/schedule.ts'),
  gameday: () => import('./commands/gameday.ts'),
  sweep: () => import('./commands/sweep.ts'),
  agent: () => import('./commands/agent.ts'),
  hosts: () => import('./commands/hosts.ts'),
  import: () => import('./commands/import.ts'),
};

const io = processIo();
let exitCode = 0;
const set = (p: Promise<number>) =>
  p.then((c) => {
    exitCode = c;
  });

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

const program = new Command('faultline')
  .description('Chaos experiments as durable Temporal workflows: no fault outlives its experiment.')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .showHelpAfterError('(run faultline --help for usage)');

program
  .command('validate')
  .description('check experiment files; exit 2 with FILE:LINE:COL field: message per problem')
  .argument('<files...>')
  .option('--json', 'machine-readable output')
  .action((files: string[], o: { json?: boolean }) => set(cmd.validate().then((m) => m.validateCommand(files, o, io))));

program
  .command('run')
  .description('start an experiment; --wait follows it live and exits 0 passed, 1 refuted/aborted, 2 invalid, 3 error')
  .argument('<file>')
  .option('--wait', 'follow the run until its verdict')
  .option('--json', 'print the final journal (or the IDs) as JSON')
  .option('--junit <file>', 'write the verdict as JUnit XML for CI (implies --wait)')
  .option('--worker', 'run a worker in this process while waiting')
  .option(
    '--metrics <addr>',
    "--worker: serve the worker's Prometheus metrics on PORT or HOST:PORT (default FAULTLINE_METRICS)",
  )
  .option('--task-queue <queue>', 'Temporal task queue')
  .option('--who <name>', 'who submits it')
  .option('--dry-run', 'show the plan (selection, faults and reverts, checks, probes, baselines); change nothing')
  .option(
    '--timeout <duration>',
    '--wait: stop waiting after this long, exit 3 (default: the longest the run can take)',
  )
  .action(
    (
      file: string,
      o: {
        wait?: boolean;
        json?: boolean;
        worker?: boolean;
        taskQueue?: string;
        who?: string;
        dryRun?: boolean;
        timeout?: string;
        junit?: string;
        metrics?: string;
      },
    ) => set(cmd.run().then((m) => m.runCommand(file, { ...o, wait: o.wait || o.worker || !!o.junit }, io))),
  );

program
  .command('import')
  .description(
    'turn a Chaos Toolkit experiment (JSON or YAML) into a Faultline experiment; exit 2 listing, positioned, what has no equivalent',
  )
  .argument('<format>', 'ctk (Chaos Toolkit)')
  .argument('<file>')
  .option('--out <file>', 'write the experiment here (default: print it)')
  .option('--json', 'machine-readable output: the experiment, what was not imported, notes')
  .option('--duration <duration>', "a fault's window when the source's pauses give none (default 30s)")
  .option('--partial', 'write what maps even when some parts do not (they are listed in the header)')
  .action((format: string, file: string, o: { out?: string; json?: boolean; duration?: string; partial?: boolean }) =>
    set(cmd.import().then((m) => m.importCommand(format, file, o, io))),
  );

program
  .command('status')
  .description('live phase, time left, last guard sample; or the final journal')
  .argument('<id>')
  .option('--json')
  .action((id: string, o: { json?: boolean }) => set(cmd.status().then((m) => m.statusCommand(id, o, io))));

program
  .command('report')
  .description(
    'render a run or a game day (its timeline and every child run) to one self-contained HTML file (charts inlined), or print the journal(s) as JSON',
  )
  .argument('<id>')
  .option('--html <file>', 'where to write the HTML (default .state/reports/ID.html)')
  .option('--json', 'print the journal as JSON')
  .option('--junit <file>', 'write the verdict (a game day: each step) as JUnit XML for CI')
  .option('--format <format>', 'ctk-journal: the run as a Chaos Toolkit journal (printed, or to --out)')
  .option('--out <file>', '--format: where to write it')
  .action((id: string, o: { html?: string; json?: boolean; junit?: string; format?: string; out?: string }) =>
    set(cmd.report().then((m) => m.reportCommand(id, o, io))),
  );

program
  .command('abort')
  .description('the kill switch: returns once every fault of the run is reverted')
  .argument('<id>')
  .requiredOption('--reason <text>', 'why (recorded in history)')
  .option('--who <name>')
  .option('--json')
  .option('--timeout <duration>', 'stop waiting for the revert after this long, exit 3 (default 10m)')
  .action((id: string, o: { reason: string; who?: string; json?: boolean; timeout?: string }) =>
    set(cmd.abort().then((m) => m.abortCommand(id, o, io))),
  );

program
  .command('revert')
  .description('emergency stop: abort and revert every running experiment')
  .option('--all', 'every running experiment')
  .option('--reason <text>')
  .option('--who <name>')
  .option('--json')
  .option('--timeout <duration>', 'how long each run may take to revert before it is reported FAILED (default 10m)')
  .action((o: { all?: boolean; reason?: string; who?: string; json?: boolean; timeout?: string }) =>
    set(cmd.revert().then((m) => m.revertAllCommand(o, io))),
  );

program
  .command('history')
  .description('past and running experiments from Temporal visibility')
  .option('--json')
  .addOption(new Option('--limit <n>', 'how many rows').argParser(positiveInt).default(20))
  .action((o: { json?: boolean; limit?: number }) => set(cmd.history().then((m) => m.historyCommand(o, io))));

const policy = program.command('policy').description('the admission policy (kind: Policy) every run passes');
policy
  .command('apply')
  .description('validate a policy file and make it the admission policy')
  .argument('<file>')
  .option('--json')
  .option('--task-queue <queue>')
  .option('--timeout <duration>', "how long to wait for the admission workflow's answer (default 30s)")
  .action((file: string, o: { json?: boolean; taskQueue?: string; timeout?: string }) =>
    set(cmd.policy().then((m) => m.policyApplyCommand(file, o, io))),
  );
policy
  .command('show')
  .description('the policy, the runs holding targets, the lever')
  .option('--json')
  .option('--task-queue <queue>')
  .option('--timeout <duration>', "how long to wait for the admission workflow's answer (default 30s)")
  .action((o: { json?: boolean; taskQueue?: string; timeout?: string }) =>
    set(cmd.policy().then((m) => m.policyShowCommand(o, io))),
  );

program
  .command('schedule')
  .description(
    'schedules as Temporal Schedules: create FILE | list | describe ID | pause ID | unpause ID | trigger ID | backfill ID | delete ID',
  )
  .argument('<action>')
  .argument('[target]', 'FILE for create, schedule ID otherwise')
  .option('--reason <text>', 'pause/unpause: why (the schedule note)')
  .option('--from <time>', 'backfill: ISO 8601 start')
  .option('--to <time>', 'backfill: ISO 8601 end')
  .option('--json')
  .option('--task-queue <queue>')
  .action(
    (
      action: string,
      target: string | undefined,
      o: { json?: boolean; reason?: string; taskQueue?: string; from?: string; to?: string },
    ) => set(cmd.schedule().then((m) => m.scheduleCommand(action, target, o, io))),
  );

program
  .command('gameday')
  .description(
    'game days: run FILE [--wait] | status ID | approve ID --who [--step STEP] | note ID TEXT --who | abort ID --reason | skip ID STEP',
  )
  .argument('<action>')
  .argument('[args...]', 'FILE for run; ID (and TEXT for note, STEP for skip) otherwise')
  .option('--wait', 'run: follow the game day until it ends')
  .option('--junit <file>', "run: write each step's verdict as JUnit XML for CI (implies --wait)")
  .option(
    '--timeout <duration>',
    "run --wait: give up waiting after this long (exit 3; the game day goes on). Default: its experiments' spans plus 1h per gate or ask",
  )
  .option('--who <name>')
  .option('--reason <text>', 'abort: why')
  .option('--step <name>', 'approve: the gate or failed step approved (default: the one waiting)')
  .option('--json')
  .option('--task-queue <queue>')
  .action(
    (
      action: string,
      args: string[],
      o: {
        wait?: boolean;
        timeout?: string;
        who?: string;
        reason?: string;
        step?: string;
        json?: boolean;
        taskQueue?: string;
        junit?: string;
      },
    ) => set(cmd.gameday().then((m) => m.gameDayCommand(action, args, o, io))),
  );

program
  .command('lever')
  .description('the safety lever: pull (abort every running experiment, refuse new ones) | release')
  .argument('<action>', 'pull | release')
  .option('--reason <text>', 'why (required to pull)')
  .option('--who <name>')
  .option('--json')
  .option('--task-queue <queue>')
  .option('--timeout <duration>', 'pull: how long each run may take to revert (default 10m)')
  .action(
    (action: string, o: { reason?: string; who?: string; json?: boolean; taskQueue?: string; timeout?: string }) =>
      set(cmd.lever().then((m) => m.leverCommand(action, o, io))),
  );

program
  .command('admission')
  .description('admission control: approve ID --who NAME (for environments that require approval)')
  .argument('<action>', 'approve')
  .argument('<id>', 'workflow ID of the waiting run')
  .option('--who <name>')
  .option('--json')
  .option('--task-queue <queue>')
  .option('--timeout <duration>', "how long to wait for the admission workflow's answer (default 30s)")
  .action((action: string, id: string, o: { who?: string; json?: boolean; taskQueue?: string; timeout?: string }) =>
    set(
      cmd.approveRun().then((m) => {
        if (action !== 'approve') throw new InvalidInput(`admission ${action}: only approve`);
        return m.approveRunCommand(id, o, io);
      }),
    ),
  );

program
  .command('sweep')
  .description(
    "find faults no open run holds (every host's warden ledger, fault proxy toxics); --fix reverts them; --every D schedules it",
  )
  .option('--fix', 'revert every orphan')
  .option('--json')
  .option('--task-queue <queue>', 'where the sweep workflow runs (a worker there fans it out to every host)')
  .option('--every <duration>', 'create a Temporal Schedule that sweeps at this interval (e.g. 5m)')
  .option('--schedule-id <id>', 'with --every: the schedule ID (default faultline-sweep)')
  .action((o: { fix?: boolean; json?: boolean; taskQueue?: string; every?: string; scheduleId?: string }) =>
    set(cmd.sweep().then((m) => m.sweepCommand(o, io))),
  );

program
  .command('worker')
  .description('run a worker')
  .option('--task-queue <queue>')
  .option('--metrics <addr>', 'serve Prometheus metrics on PORT or HOST:PORT (default FAULTLINE_METRICS, else off)')
  .action((o: { taskQueue?: string; metrics?: string }) => set(cmd.worker().then((m) => m.workerCommand(o, io))));

program
  .command('agent')
  .description("a Docker host's agent: runs that daemon's container faults and warden, polls the host's task queue")
  .option('--socket <path>', "the daemon's unix socket")
  .option('--docker-host <url>', 'the daemon as a DOCKER_HOST URL (unix:// or tcp://); default DOCKER_HOST')
  .option('--host <name>', "the host's name in the fleet (default the daemon's own name)")
  .option('--task-queue <queue>', "the fleet's task queue")
  .option('--metrics <addr>', 'serve Prometheus metrics on PORT or HOST:PORT (default FAULTLINE_METRICS, else off)')
  .action((o: { socket?: string; dockerHost?: string; host?: string; taskQueue?: string; metrics?: string }) =>
    set(cmd.agent().then((m) => m.agentCommand(o, io))),
  );

program
  .command('hosts')
  .description('the registered Docker hosts, their agents and when each was last seen; forget NAME retires one')
  .argument('[action]', 'forget')
  .argument('[name]', 'the host to forget')
  .option('--json')
  .option('--who <name>')
  .option('--task-queue <queue>', "the fleet's task queue")
  .action(
    (action: string | undefined, name: string | undefined, o: { json?: boolean; who?: string; taskQueue?: string }) =>
      set(cmd.hosts().then((m) => m.hostsCommand(action, name, o, io))),
  );

program
  .command('dev')
  .description('embedded Temporal server and a worker in the foreground')
  .option('--task-queue <queue>')
  .option('--metrics <addr>', 'serve Prometheus metrics on PORT or HOST:PORT (default FAULTLINE_METRICS, else off)')
  .action((o: { taskQueue?: string; metrics?: string }) => set(cmd.dev().then((m) => m.devCommand(o, io))));

program
  .command('demo')
  .description('the demo target: up | down')
  .argument('<action>')
  .option('--json')
  .action((a: string, o: { json?: boolean }) => set(cmd.demo().then((m) => m.demoCommand(a, o, io))));

program
  .command('server')
  .description('the embedded Temporal dev server: start | stop')
  .argument('<action>')
  .action((a: string) => set(cmd.server().then((m) => m.serverCommand(a, io))));

program
  .command('quickstart')
  .description('the main job: embedded server, demo target, worker and an example experiment')
  .option('--file <file>', 'experiment to run instead of the kill-one-backend example')
  .option('--json')
  .option('--metrics <addr>', 'serve Prometheus metrics on PORT or HOST:PORT (default FAULTLINE_METRICS, else off)')
  .action((o: { file?: string; json?: boolean; metrics?: string }) =>
    set(cmd.quickstart().then((m) => m.quickstartCommand(o, io))),
  );

program
  .command('proxy')
  .description('run the fault proxy (Toxiproxy-compatible admin API)')
  .option('--config <file>', 'proxies in Toxiproxy populate format')
  .option('--host <host>')
  .option('--port <port>', 'admin port', (v) => Number(v))
  .option('--token <token>', 'bearer token (required off loopback; or FAULTLINE_PROXY_TOKEN)')
  .action((o: { config?: string; host?: string; port?: number; token?: string }) =>
    cmd
      .proxy()
      .then((m) => m.proxyCommand(o))
      .then(() => {
        exitCode = 0;
      }),
  );

try {
  await program.parseAsync(process.argv);
} catch (e) {
  exitCode = report(e);
}
process.exit(exitCode);

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return 2; // commander already printed the message
  }
  if (e instanceof InvalidInput) {
    io.err(`faultline: ${e.message}`);
    for (const p of e.problems) io.err(formatProblem(p));
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.err(`faultline: ${e instanceof InfrastructureError ? '' : 'error: '}${msg}`);
  if (process.env.FAULTLINE_DEBUG && e instanceof Error) io.err(e.stack ?? '');
  return e instanceof FaultlineError ? e.exitCode : 3;
}
