/**
 * Turns a sweep's input into its plan, reading the config and jobs on this host. The plan
 * activity calls it for sweeps started by any client; the CLI calls it before starting one, so bad
 * input is reported with exit code 2 before anything reaches Temporal.
 */
import { join, resolve } from 'node:path';
import { planBatches } from '../shared/planner';
import { DEFAULT_MAX_RETRIES } from '../shared/retry-policy';
import { DEFAULT_OUTPUT_DIR, sweepInputSchema } from '../shared/sweep-input';
import type { JobSource, SweepPlan } from '../shared/sweep-plan';
import { describeZodIssues, InputError } from './input-error';
import { effectiveBatching, loadConfig } from './load-config';
import { loadJobsFile, parseJobList } from './load-jobs';
import { claimRunFolder, seedRunId } from './run-folder';

export interface PlanDefaults {
  /** The worker's `--config`, used when the input names none. */
  configFile: string;
  /** Where relative paths of the input are resolved when it names no `workingDir` (the worker's working directory). */
  cwd?: string;
}

/** Which sweep is planned: its workflow id (its identity on the nodes) and when it started. */
export interface SweepIdentity {
  sweepId: string;
  startedAt: Date;
  /** Create the run folder (the plan activity); without it the run id is only previewed (the CLI's validation). */
  claimRunFolder?: boolean;
}

export async function planSweep(rawInput: unknown, sweep: SweepIdentity, defaults: PlanDefaults): Promise<SweepPlan> {
  const inputName = 'workflow input';
  const parsed = sweepInputSchema.safeParse(rawInput ?? {});
  if (!parsed.success) throw new InputError(inputName, describeZodIssues(parsed.error));
  const input = parsed.data;
  const cwd = input.workingDir ?? defaults.cwd ?? process.cwd();

  const loaded = await loadConfig(resolve(cwd, input.configFile ?? defaults.configFile));
  const batching = effectiveBatching(loaded.config, input.batching, inputName);

  let jobSource: JobSource;
  let totalJobs: number;
  if (input.trials !== undefined) {
    if (!loaded.config.trial_command) {
      throw new InputError(loaded.path, [
        'trial_command: required to run a sweep given only "trials" (a shell command template such as "python3 trial.py {trial} --gpu-id {gpu}")',
      ]);
    }
    jobSource = { kind: 'trials', command: loaded.config.trial_command, output: loaded.config.trial_output, timeout: loaded.config.trial_timeout };
    totalJobs = input.trials;
  } else if (input.jobsFile !== undefined) {
    const path = resolve(cwd, input.jobsFile);
    const { jobs, digest } = await loadJobsFile(path);
    jobSource = { kind: 'file', path, digest };
    totalJobs = jobs.length;
  } else {
    totalJobs = parseJobList(input.jobs, `${inputName} "jobs"`).length;
    jobSource = { kind: 'inline' };
  }
  // Only when given: a plan without them stays byte for byte what running sweeps recorded.
  if (input.extraArgs?.length) jobSource = { ...jobSource, extraArgs: input.extraArgs };

  const outputDirAsGiven = input.outputDir ?? DEFAULT_OUTPUT_DIR;
  const outputDir = resolve(cwd, outputDirAsGiven);
  const preservePaths = input.preservePaths ?? false;
  const seedId = seedRunId(outputDir, sweep.startedAt);
  const runId = sweep.claimRunFolder ? await claimRunFolder(outputDir, seedId, sweep.sweepId) : seedId;
  return {
    ...planBatches(totalJobs, loaded.nodes.length, batching),
    runId,
    sweepId: sweep.sweepId,
    configFile: loaded.path,
    configDigest: loaded.digest,
    nodes: loaded.nodes,
    skippedNodes: loaded.skippedNodes,
    jobSource,
    totalJobs,
    outputDir,
    preservePaths,
    nodeRunDir: preservePaths ? undefined : `${outputDirAsGiven.replace(/\/+$/, '')}/${runId}`,
    maxRetries: input.maxRetries ?? DEFAULT_MAX_RETRIES,
    retryBackoffSeconds: loaded.config.retry_backoff_seconds,
    batching,
    preflight: loaded.config.preflight,
    nodeHealth: loaded.config.node_health,
    leaseSeconds: loaded.config.lease_seconds,
    // rigsweep's own records always go to the run folder, so runs never mix; preservePaths only
    // keeps the trials' own output paths as the jobs name them.
    resultsDir: join(outputDir, runId),
  };
}
