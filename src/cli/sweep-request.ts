/**
 * From command-line flags to a sweep: the workflow input (absolute paths, since the worker resolves
 * them on its host), validation before anything starts, and a workflow id derived from the jobs
 * and config, so running the same command again after a crash finds the unfinished sweep.
 */
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { InputError } from '../inputs/input-error';
import { planSweep } from '../inputs/plan-sweep';
import type { SweepInput } from '../shared/sweep-input';
import type { SweepPlan } from '../shared/sweep-plan';
import { CliError, EXIT } from './exit-codes';

export interface SweepFlags {
  jobsFile?: string;
  trials?: number;
  config: string;
  outputDir?: string;
  preservePaths?: boolean;
  maxRetries?: number;
  workflowId?: string;
}

/** `resultsHost`: the worker name whose host keeps the sweep's files; none lets the first full worker take it. */
export function sweepInputFromFlags(flags: SweepFlags, resultsHost?: string): SweepInput {
  if ((flags.jobsFile === undefined) === (flags.trials === undefined)) {
    throw new CliError('give exactly one of --jobs-file FILE or --trials N', EXIT.badInput);
  }
  return {
    ...(flags.jobsFile !== undefined ? { jobsFile: resolve(flags.jobsFile) } : { trials: flags.trials }),
    configFile: resolve(flags.config),
    // As typed: a relative output dir means the same folder below each node's script_path, as in
    // the seed, and at home below the directory the command was typed in, whichever worker runs it.
    ...(flags.outputDir !== undefined ? { outputDir: flags.outputDir } : {}),
    workingDir: process.cwd(),
    ...(flags.preservePaths ? { preservePaths: true } : {}),
    ...(flags.maxRetries !== undefined ? { maxRetries: flags.maxRetries } : {}),
    ...(resultsHost !== undefined ? { resultsHost } : {}),
  };
}

/** Validates config and jobs exactly as the worker will; bad input becomes exit code 2. */
export async function validateSweep(input: SweepInput): Promise<SweepPlan> {
  try {
    return await planSweep(input, { sweepId: 'validation', startedAt: new Date() }, { configFile: input.configFile! });
  } catch (error) {
    if (error instanceof InputError) throw new CliError(error.message, EXIT.badInput, { cause: error });
    throw error;
  }
}

/** `rigsweep-<jobs name>-<digest of what the sweep runs>`: the same command gives the same id. */
export function defaultWorkflowId(input: SweepInput, plan: SweepPlan): string {
  const source = plan.jobSource.kind === 'file' ? `${plan.jobSource.path}:${plan.jobSource.digest}` : `trials:${input.trials}`;
  // Extra arguments make another sweep; without them the id is what it always was.
  const what = [source, plan.configFile, plan.outputDir, ...(input.extraArgs?.length ? [input.extraArgs] : [])];
  const digest = createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 10);
  const name = input.jobsFile ? basename(input.jobsFile).replace(/\.json$/i, '') : `trials-${input.trials}`;
  return `rigsweep-${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}-${digest}`;
}
