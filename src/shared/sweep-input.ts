/**
 * The one JSON object that starts a `trialSweep`, from any client: our CLI, the `temporal` CLI,
 * the Web UI's start form or the user's Python agent. Validated by the plan activity (never in
 * the workflow, so a bad input fails the sweep with a clear message instead of retrying forever).
 */
import { z } from 'zod';
import { jobBatchingOverrideSchema } from './config';
import { commandArgSchema, scriptJobSchema } from './jobs';
import { WORKER_NAME_PATTERN } from './names';

export const sweepInputSchema = z
  .strictObject({
    trials: z.number().int().positive().optional(),
    jobsFile: z.string().min(1).optional(),
    jobs: z.array(scriptJobSchema).min(1).optional(),
    configFile: z.string().min(1).optional(),
    outputDir: z.string().min(1).optional(),
    // Where relative jobsFile, configFile and outputDir are resolved on the worker host: the CLI
    // sends the directory it was typed in; without it, the worker's own directory.
    workingDir: z.string().startsWith('/', 'must be an absolute path').optional(),
    preservePaths: z.boolean().optional(),
    maxRetries: z.number().int().nonnegative().optional(),
    batching: jobBatchingOverrideSchema.optional(),
    // Appended to every job's command line: one sweep per value of a parameter (`rigsweep bench`).
    extraArgs: z.array(commandArgSchema).optional(),
    // The full worker whose host keeps the sweep's files and runs its localhost work; without it,
    // the first full worker to plan the sweep.
    resultsHost: z.string().regex(WORKER_NAME_PATTERN, 'must be a worker name: letters, digits, ".", "_" or "-"').optional(),
    // A run continues as new once its history passes this many events (between batches).
    continueAsNewAfterEvents: z.number().int().min(100).max(40_000).optional(),
  })
  .superRefine((input, ctx) => {
    const given = (['trials', 'jobsFile', 'jobs'] as const).filter((key) => input[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given.length ? [given[1]] : [],
        message: `give exactly one of "trials", "jobsFile" or "jobs" (got ${given.length ? given.join(', ') : 'none'})`,
      });
    }
  });
export type SweepInput = z.input<typeof sweepInputSchema>;

/** Well below Temporal's 10,240-event warning and 51,200-event limit, with room for one more batch. */
export const DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 5_000;

/** Where results go when neither the caller nor the CLI says: the seed's default. */
export const DEFAULT_OUTPUT_DIR = 'full_scoring_results';
