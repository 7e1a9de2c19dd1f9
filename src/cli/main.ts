/**
 * The `rigsweep` command. Each subcommand lives in its own file; this one only wires flags to
 * them and turns errors into one clear line and the documented exit code.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { demoCommand, dataDir } from './demo-command';
import { stopDevServer } from './dev-server';
import { InputError } from '../inputs/input-error';
import { cancelCommand, statusCommand } from './control-commands';
import { CliError, EXIT } from './exit-codes';
import { DEFAULT_EXPECTED_TRIAL_SECONDS, planCommand } from './plan-command';
import { runCommand, startCommand } from './run-command';
import { workerCommand } from './worker-command';

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

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('must be a number > 0');
  return value;
}

function addSweepOptions(command: Command): Command {
  return command
    .option('--jobs-file <file>', 'jobs in SCRIPT JOB SPEC v1.0 (a JSON array)')
    .option('--trials <n>', 'run N trials of the config\'s trial_command instead', positiveInt)
    .option('--config <file>', 'cluster config', 'distributed_config.json')
    .option('--output-dir <dir>', 'results go to <dir>/<run_id>/', 'full_scoring_results')
    .option('--preserve-paths', 'keep the trials\' output paths as the jobs name them')
    .option('--max-retries <n>', 'further attempts of a job whose run failed (default 3)', nonNegativeInt)
    .option('--workflow-id <id>', 'workflow id (default: derived from the jobs and config, so a rerun attaches)')
    .option('--verbose', 'worker logs on stderr')
    .option('--dry-run', 'print the plan and its dry-run JSON; start nothing, need no Temporal server')
    .option('--expected-trial-seconds <s>', 'trial duration the plan\'s ETA assumes', positiveNumber, DEFAULT_EXPECTED_TRIAL_SECONDS);
}

const program = new Command('rigsweep')
  .description('Durable batched GPU trial sweeps over SSH, as a Temporal workflow')
  .showHelpAfterError()
  .exitOverride();

addSweepOptions(program.command('run').description('run a sweep and follow it; prints the Results JSON last')).action(async (flags) => {
  process.exitCode = flags.dryRun ? await planCommand(flags) : await runCommand(flags);
});
addSweepOptions(program.command('start').description('start a sweep, print its workflow id and return')).action(async (flags) => {
  process.exitCode = flags.dryRun ? await planCommand(flags) : await startCommand(flags);
});
addSweepOptions(program.command('plan').description('print where and when every job would run, with an ETA; starts nothing')).action(async (flags) => {
  process.exitCode = await planCommand(flags);
});
program
  .command('worker')
  .description('run a worker that serves sweeps on the task queue')
  .option('--config <file>', 'cluster config for sweeps that name none', 'distributed_config.json')
  .option('--verbose', 'debug logs')
  .action(async (flags) => {
    process.exitCode = await workerCommand(flags);
  });
program
  .command('status <workflow-id>')
  .description('where a sweep is: phase, batch, done / failed / running jobs')
  .action(async (workflowId: string) => {
    process.exitCode = await statusCommand(workflowId);
  });
program
  .command('cancel <workflow-id>')
  .description('cancel a sweep; waits until every trial process of it is killed')
  .action(async (workflowId: string) => {
    process.exitCode = await cancelCommand(workflowId);
  });
program
  .command('demo')
  .description('start a local Temporal dev server if needed and run a demo sweep on this machine')
  .addOption(new Option('--trials <n>', 'demo trials').default(24).argParser(positiveInt))
  .option('--verbose', 'worker logs on stderr')
  .action(async (flags) => {
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
