/**
 * `rigsweep bench`: the user's benchmark script as a command. For each value of a trial parameter,
 * in order, one ordinary `trialSweep` (visible in Temporal Web) whose trials get the value as
 * extra arguments, then a cooldown before the next value; at the end the script's table on stdout
 * (and as CSV and JSON in the output dir) and the value to use.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { readJobResults } from '../results/run-files';
import type { JobResult, ResultsJson } from '../shared/results';
import type { SweepInput } from '../shared/sweep-input';
import { benchArgs } from './bench-args';
import { benchCsv, benchJson, benchRow, type BenchRow, formatBenchTable, recommendationLine } from './bench-table';
import { CliError, EXIT } from './exit-codes';
import { followSweep } from './follow';
import { withWorker } from './hosted-worker';
import { reportFailure } from './run-command';
import { startOrAttach } from './start-or-attach';
import { defaultWorkflowId, type SweepFlags, sweepInputFromFlags, validateSweep } from './sweep-request';
import { connectClient, localWorkerName, temporalSettings } from './temporal';

export const DEFAULT_BENCH_TRIALS = 20;
export const DEFAULT_BENCH_COOLDOWN_SECONDS = 30;

export interface BenchFlags extends SweepFlags {
  param: string;
  values: string[];
  argFormat: string;
  /** Seconds of rest between two values. */
  cooldown: number;
  verbose?: boolean;
}

/** One value's sweep, before it runs. */
interface BenchStep {
  value: string;
  extraArgs: string[];
  input: SweepInput;
  workflowId: string;
}

/** Where the bench stopped: every value ran, Ctrl-C, or a sweep that ended without a result. */
interface BenchOutcome {
  rows: BenchRow[];
  failure?: unknown;
}

const out = (line: string) => process.stdout.write(line + '\n');
const err = (line: string) => process.stderr.write(line + '\n');

/** Runs the bench; exit 0 when every value's sweep ran, even with failed trials (the table says how many). */
export async function benchCommand(flags: BenchFlags): Promise<number> {
  const { steps, outputDir } = await prepareSteps(flags);
  const settings = temporalSettings();
  const { client, connection } = await connectClient(settings);
  const interrupt = new AbortController();
  let running: WorkflowHandle | undefined;
  const onInterrupt = () => {
    err('interrupted: cancelling the running sweep (its trial processes are killed)...');
    interrupt.abort();
    running?.cancel().catch((error: unknown) => err(`could not cancel the sweep: ${String(error)}`));
  };
  process.once('SIGINT', onInterrupt);
  try {
    const outcome = await withWorker(client, settings, { name: localWorkerName(), configFile: flags.config, verbose: flags.verbose, log: err }, () =>
      runSteps(client, settings.taskQueue, flags, steps, interrupt.signal, (handle) => (running = handle)),
    );
    await report(flags, steps, outcome, { outputDir, interrupted: interrupt.signal.aborted });
    if (outcome.failure !== undefined) return reportFailure(outcome.failure);
    return interrupt.signal.aborted ? EXIT.cancelled : EXIT.ok;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await connection.close();
  }
}

/** Every value's sweep input and workflow id, validated before anything starts (bad input exits 2). */
async function prepareSteps(flags: BenchFlags): Promise<{ steps: BenchStep[]; outputDir: string }> {
  if (flags.jobsFile !== undefined && flags.trials !== undefined) throw new CliError('give --jobs-file FILE or --trials N, not both', EXIT.badInput);
  const baseInput = sweepInputFromFlags(
    { ...flags, trials: flags.jobsFile === undefined ? (flags.trials ?? DEFAULT_BENCH_TRIALS) : undefined },
    localWorkerName(),
  );
  const withArgs = (value: string) => ({ ...baseInput, extraArgs: benchArgs(flags.argFormat, flags.param, value) });
  // The values differ only in their arguments: one validation covers every sweep.
  const plan = await validateSweep(withArgs(flags.values[0]));
  for (const skipped of plan.skippedNodes) err(`notice: node ${skipped.name} skipped: ${skipped.reason}`);
  // A fresh base per invocation: a rerun benchmarks again instead of attaching to old sweeps.
  const base = flags.workflowId ?? `${defaultWorkflowId(baseInput, plan)}-bench-${compactTimestamp(new Date())}`;
  const steps = flags.values.map((value) => {
    const input = withArgs(value);
    return { value, extraArgs: input.extraArgs, input, workflowId: `${base}-${flags.param}-${value.replace(/[^A-Za-z0-9_.-]+/g, '-')}` };
  });
  return { steps, outputDir: plan.outputDir };
}

/** The values one after another, with a cooldown between two; stops at Ctrl-C or a failed sweep. */
async function runSteps(
  client: Client,
  taskQueue: string,
  flags: BenchFlags,
  steps: BenchStep[],
  interrupted: AbortSignal,
  onRunning: (handle?: WorkflowHandle) => void,
): Promise<BenchOutcome> {
  const rows: BenchRow[] = [];
  for (const [index, step] of steps.entries()) {
    if (index > 0 && flags.cooldown > 0) {
      err(`[bench] cooldown ${flags.cooldown}s before ${flags.param}=${step.value}`);
      await sleep(flags.cooldown * 1000, undefined, { signal: interrupted }).catch(() => undefined);
    }
    if (interrupted.aborted) break;
    const sweep = await startOrAttach(client, taskQueue, step.workflowId, step.input);
    onRunning(sweep.handle);
    // Ctrl-C while the sweep was being started: the handler had nothing to cancel yet.
    if (interrupted.aborted) sweep.handle.cancel().catch((error: unknown) => err(`could not cancel the sweep: ${String(error)}`));
    err(
      `[bench] ${flags.param}=${step.value} (${index + 1}/${steps.length}): ${sweep.attached ? 'attached to' : 'started'} sweep ${sweep.workflowId}, extra arguments ${JSON.stringify(step.extraArgs)}`,
    );
    const result = sweep.handle.result() as Promise<ResultsJson>;
    const [outcome] = await Promise.all([
      result.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      followSweep(sweep.handle, result, err),
    ]);
    onRunning(undefined);
    if ('error' in outcome) return { rows, failure: outcome.error };
    const row = benchRow(step.value, outcome.value, await jobRecords(outcome.value));
    rows.push(row);
    err(
      `[bench] ${flags.param}=${step.value}: ${row.successful}/${row.trials} successful in ${row.total_runtime_s.toFixed(1)}s (${row.throughput_trials_per_min.toFixed(2)} trials/min)`,
    );
  }
  return { rows };
}

/** Every job's record: results.jsonl when this host can read it, else the (at most 500) in the Results JSON. */
async function jobRecords(result: ResultsJson): Promise<JobResult[]> {
  const records = await readJobResults(dirname(result.results_file)).catch(() => []);
  if (records.length > 0) return records;
  if (result.jobs_omitted > 0)
    err(`warning: cannot read ${result.results_file} here; avg_trial_time_s is taken from the ${result.jobs.length} jobs listed in the Results JSON`);
  return result.jobs;
}

/** The table and recommendation on stdout, and bench_results.csv / .json in the output dir. */
async function report(flags: BenchFlags, steps: BenchStep[], outcome: BenchOutcome, where: { outputDir: string; interrupted: boolean }): Promise<void> {
  const { rows } = outcome;
  const { outputDir } = where;
  const complete = !where.interrupted && outcome.failure === undefined && rows.length === steps.length;
  if (!complete) err(`[bench] stopped early: ${rows.length} of ${steps.length} values ran`);
  if (rows.length === 0) return;
  for (const line of formatBenchTable(flags.param, rows)) out(line);
  out(recommendationLine(flags.param, rows));
  await mkdir(outputDir, { recursive: true });
  const extraArgs = Object.fromEntries(steps.map((step) => [step.value, step.extraArgs]));
  const json = benchJson(flags.param, rows, { values: flags.values, extraArgs, cooldownSeconds: flags.cooldown, complete });
  await writeFile(join(outputDir, 'bench_results.csv'), benchCsv(flags.param, rows));
  await writeFile(join(outputDir, 'bench_results.json'), JSON.stringify(json, null, 2) + '\n');
  err(`[bench] wrote ${join(outputDir, 'bench_results.csv')} and bench_results.json`);
}

/** `20260315T101500` (UTC): keeps the workflow ids of two benches apart. */
function compactTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
}
