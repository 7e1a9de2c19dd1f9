/**
 * The `rigsweep` command. Each subcommand lives in its own file; this one only wires flags to
 * them and turns errors into one clear line and the documented exit code.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_ARG_FORMAT, parseArgFormat, parseParamName, parseValueList } from './bench-args';
import { benchCommand, DEFAULT_BENCH_COOLDOWN_SECONDS, DEFAULT_BENCH_TRIALS } from './bench-command';
import { demoCommand, dataDir } from './demo-command';
import { stopDevServer } from './dev-server';
import { InputError } from '../inputs/input-error';
import { cancelCommand, DEFAULT_CANCEL_WAIT_SECONDS, statusCommand } from './control-commands';
import { CliError, EXIT } from './exit-codes';
import { DEFAULT_EXPECTED_TRIAL_SECONDS, planCommand, type PlanFlags } from './plan-command';
import { runCommand, startCommand, type RunFlags } from './run-command';
import { excludeCommand, pauseCommand, readmitCommand, resumeCommand, setCommand, type SetFlags } from './steer-commands';
import type { BenchFlags } from './bench-command';
import type { NodesFlags } from './nodes-command';
import type { WatchFlags } from './watch-command';
import type { WorkerFlags } from './worker-command';

/** What `run`, `start` and `plan` take: one set of sweep options, `--dry-run` turning the first two into `plan`. */
type SweepCommandFlags = RunFlags & PlanFlags & { dryRun?: boolean };

function positiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return value;
}

function nonNegativeInt(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return value;
}

function nonNegativeNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError('must be a number ≥ 0');
  return value;
}

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('must be a number > 0');
  return value;
}

function addSweepOptions(command: Command): Command {
  return command
    .option('--jobs-file <file>', 'jobs in SCRIPT JOB SPEC v1.0 (a JSON array)')
    .option('--trials <n>', "run N trials of the config's trial_command instead", positiveInt)
    .option('--config <file>', 'cluster config', 'distributed_config.json')
    .option('--output-dir <dir>', 'results go to <dir>/<run_id>/', 'full_scoring_results')
    .option('--preserve-paths', "keep the trials' output paths as the jobs name them")
    .option('--max-retries <n>', 'further attempts of a job whose run failed (default 3)', nonNegativeInt)
    .option('--workflow-id <id>', 'workflow id (default: derived from the jobs and config, so a rerun attaches)')
    .option('--verbose', 'worker logs on stderr')
    .option('--dry-run', 'print the plan and its dry-run JSON; start nothing, need no Temporal server')
    .option('--expected-trial-seconds <s>', "trial duration the plan's ETA assumes", positiveNumber, DEFAULT_EXPECTED_TRIAL_SECONDS);
}

const program = new Command('rigsweep').description('Durable batched GPU trial sweeps over SSH, as a Temporal workflow').showHelpAfterError().exitOverride();

addSweepOptions(program.command('run').description('run a sweep and follow it; prints the Results JSON last')).action(async (flags: SweepCommandFlags) => {
  process.exitCode = flags.dryRun ? await planCommand(flags) : await runCommand(flags);
});
addSweepOptions(program.command('start').description('start a sweep, print its workflow id and return')).action(async (flags: SweepCommandFlags) => {
  process.exitCode = flags.dryRun ? await planCommand(flags) : await startCommand(flags);
});
addSweepOptions(program.command('plan').description('print where and when every job would run, with an ETA; starts nothing')).action(
  async (flags: PlanFlags) => {
    process.exitCode = await planCommand(flags);
  },
);
program
  .command('worker')
  .description('run a worker that serves sweeps on the task queue')
  .option('--config <file>', 'cluster config for sweeps that name none', 'distributed_config.json')
  .option('--name <name>', "this worker's name, the same after a restart (default: $RIGSWEEP_WORKER_NAME, else the hostname)")
  .option('--trials-only', 'serve only trials and upkeep on rigs: never plan a sweep or touch its files; needs no config, only SSH access to the rigs')
  .option('--metrics-port <port>', 'serve Prometheus metrics on this port (default: $RIGSWEEP_METRICS_PORT, else off)')
  .option('--verbose', 'debug logs')
  .action(async (flags: WorkerFlags) => {
    process.exitCode = await (await import('./worker-command.js')).workerCommand(flags);
  });
program
  .command('status <workflow-id>')
  .description('where a sweep is: phase, batch, done / failed / running jobs')
  .action(async (workflowId: string) => {
    process.exitCode = await statusCommand(workflowId);
  });
program
  .command('cancel <workflow-id>')
  .description('cancel a sweep; waits until every trial process of it is killed, at most --wait seconds')
  .addOption(
    new Option('--wait <seconds>', 'give up waiting after this long, saying what the sweep still waits for')
      .default(DEFAULT_CANCEL_WAIT_SECONDS)
      .argParser(positiveNumber),
  )
  .addHelpText('after', '\nExit code: 0 the sweep is cancelled (or was not running), 1 it still runs after --wait seconds, 2 no such sweep.')
  .action(async (workflowId: string, flags: { wait: number }) => {
    process.exitCode = await cancelCommand(workflowId, flags.wait);
  });
program
  .command('pause <workflow-id>')
  .description('let the current batch finish, then start no further batch until resume')
  .action(async (workflowId: string) => {
    process.exitCode = await pauseCommand(workflowId);
  });
program
  .command('resume <workflow-id>')
  .description('lift a pause')
  .action(async (workflowId: string) => {
    process.exitCode = await resumeCommand(workflowId);
  });
program
  .command('set <workflow-id>')
  .description('change numbers for the batches still to come; a bad value is rejected and nothing changes')
  .option('--max-jobs-per-batch <n>', 'jobs per batch', positiveInt)
  .option('--max-jobs-per-node-per-batch <n>', 'jobs one node takes per batch', positiveInt)
  .option('--cooldown <s>', 'inter_batch_cooldown_seconds', nonNegativeNumber)
  .option('--stagger <s>', 'stagger_delay of every node, or of --node', nonNegativeNumber)
  .option('--node <name>', 'apply --stagger to this node only')
  .action(async (workflowId: string, flags: SetFlags) => {
    process.exitCode = await setCommand(workflowId, flags);
  });
for (const [name, what] of [
  ['exclude', 'start no new job on a node, or on one of its GPUs'],
  ['readmit', 'put an excluded node or GPU back in service'],
] as const) {
  program
    .command(`${name} <workflow-id> <node>`)
    .description(what)
    .option('--gpu <n>', 'only this GPU of the node', nonNegativeInt)
    .action(async (workflowId: string, node: string, flags: { gpu?: number }) => {
      const command = name === 'exclude' ? excludeCommand : readmitCommand;
      process.exitCode = await command(workflowId, { node, gpu: flags.gpu });
    });
}
program
  .command('nodes')
  .description('probe every node of the config: reachable, SSH latency, GPUs seen, load, memory, /dev/shm; needs no server')
  .option('--config <file>', 'cluster config', 'distributed_config.json')
  .option('--json', 'print the probes as JSON instead of the table')
  .addHelpText('after', '\nExit code: 0 every node healthy, 1 some node has a warning (listed below the table), 2 bad config.')
  .action(async (flags: NodesFlags) => {
    // Loaded on use: only this command needs the table library.
    const { nodesCommand } = await import('./nodes-command.js');
    process.exitCode = await nodesCommand(flags);
  });
program
  .command('watch <workflow-id>')
  .description('follow a sweep until it ends: a live view at a terminal, plain lines in a pipe')
  .option('--plain', 'plain lines and a summary every 10 s, even at a terminal')
  .addHelpText('after', '\nExit code: 0 every job succeeded, 1 some job or the sweep failed, 2 no such sweep, 3 cancelled, 130 Ctrl-C (the sweep goes on).')
  .action(async (workflowId: string, flags: WatchFlags) => {
    const { watchCommand } = await import('./watch-command.js');
    process.exitCode = await watchCommand(workflowId, flags);
  });
program
  .command('bench')
  .description('one sweep per value of a trial parameter, then the throughput table and the value to use')
  .requiredOption('--param <name>', 'the trial parameter to vary, e.g. sample_size', parseParamName)
  .requiredOption('--values <list>', 'its values, benchmarked in this order, e.g. 350,450,550', parseValueList)
  .option('--trials <n>', `trials of the config's trial_command per value (default ${DEFAULT_BENCH_TRIALS})`, positiveInt)
  .option('--jobs-file <file>', 'run these jobs for every value instead of trials')
  .option('--cooldown <s>', 'seconds of rest between two values', nonNegativeNumber, DEFAULT_BENCH_COOLDOWN_SECONDS)
  .option(
    '--arg-format <format>',
    "what a value appends to every trial's command line, one argument per word, with {param}, {param_dashed}, {value}",
    parseArgFormat,
    DEFAULT_ARG_FORMAT,
  )
  .option('--config <file>', 'cluster config', 'distributed_config.json')
  .option('--output-dir <dir>', 'each sweep writes to <dir>/<run_id>/, the table to <dir>/bench_results.csv and .json', 'full_scoring_results')
  .option('--preserve-paths', "keep the trials' output paths as the jobs name them")
  .option('--max-retries <n>', 'further attempts of a job whose run failed (default 3)', nonNegativeInt)
  .option('--workflow-id <prefix>', 'value V runs as <prefix>-<param>-V (default: derived from the jobs and config, plus the time)')
  .option('--verbose', 'worker logs on stderr')
  .addHelpText(
    'after',
    "\nBy default sample_size=350 reaches every trial as the two arguments --sample-size 350.\nExit code: 0 every value's sweep ran (failed trials are in the table), 1 a sweep failed, 2 bad flags or input, 3 Ctrl-C (cancels the running sweep), 4 no Temporal server.",
  )
  .action(async (flags: BenchFlags) => {
    process.exitCode = await benchCommand(flags);
  });
program
  .command('report <workflow-id>')
  .description("write joblog.tsv and report.html into a sweep's results folder and print their paths")
  .option('--output-dir <dir>', 'where to look when the sweep cannot say: <dir>/<workflow-id>', 'full_scoring_results')
  .action(async (workflowId: string, flags: { outputDir: string }) => {
    process.exitCode = await (await import('./report-command.js')).reportCommand(workflowId, flags);
  });
program
  .command('demo')
  .description('start a local Temporal dev server if needed and run a demo sweep on this machine')
  .addOption(new Option('--trials <n>', 'demo trials').default(24).argParser(positiveInt))
  .option('--verbose', 'worker logs on stderr')
  .action(async (flags: { trials: number; verbose?: boolean }) => {
    process.exitCode = await demoCommand(flags);
  });
program
  .command('server')
  .description('manage the dev server `rigsweep demo` started')
  .command('stop')
  .action(() => {
    const port = Number((process.env.TEMPORAL_ADDRESS ?? 'localhost:7233').split(':')[1] ?? 7233);
    const stopped = stopDevServer({ dataDir: dataDir(), port, uiPort: port + 1000 });
    process.stderr.write(stopped ? 'dev server stopped\n' : 'no dev server recorded\n');
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CliError || error instanceof InputError) {
    process.stderr.write(`rigsweep: ${error.message}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : EXIT.badInput;
  } else if (error && typeof error === 'object' && 'exitCode' in error && 'code' in error) {
    // commander: --help and --version exit 0, usage errors exit 2 (already printed)
    process.exitCode = (error as { exitCode: number }).exitCode === 0 ? EXIT.ok : EXIT.badInput;
  } else {
    process.stderr.write(`rigsweep: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
});
