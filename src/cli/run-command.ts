/**
 * `rigsweep run` and `rigsweep start`: validate, start (or attach to) the sweep, and — for `run` —
 * host a worker when none polls, follow the sweep (the live view at a terminal, else the seed's
 * lines) and print the Results JSON last on stdout, with an exit code scripts can trust.
 */
import { type WorkflowHandle, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { shownBatchCount } from '../shared/planner';
import type { ResultsJson } from '../shared/results';
import { CliError, EXIT } from './exit-codes';
import { partialResults } from './partial-results';
import { followSweepLiveOrPlain } from './progress-view';
import { withWorker } from './hosted-worker';
import { startOrAttach } from './start-or-attach';
import { defaultWorkflowId, type SweepFlags, sweepInputFromFlags, validateSweep } from './sweep-request';
import { connectClient, hasFullWorker, hasWorkerNamed, localWorkerName, temporalSettings } from './temporal';

export interface RunFlags extends SweepFlags {
  verbose?: boolean;
}

const out = (line: string) => process.stdout.write(line + '\n');
const batchesInWords = (count: number) => (count === 1 ? '1 batch' : `${count} batches`);
const err = (line: string) => process.stderr.write(line + '\n');

/**
 * `hosting`: the command hosts a full worker when none of this host's name polls, so the sweep
 * names this host its results host; otherwise it does so only when such a worker polls.
 */
async function prepare(flags: RunFlags, hosting: boolean) {
  const name = localWorkerName();
  const settings = temporalSettings();
  // Validated as the worker will plan it; where it is planned does not change the plan.
  const plan = await validateSweep(sweepInputFromFlags(flags, name));
  for (const skipped of plan.skippedNodes) err(`notice: node ${skipped.name} skipped: ${skipped.reason}`);
  const { client, connection } = await connectClient(settings);
  const resultsHost = hosting || (await hasWorkerNamed(client, settings, name)) ? name : undefined;
  if (!resultsHost && !(await hasFullWorker(client, settings)))
    err(`notice: no full worker polls task queue "${settings.taskQueue}": the sweep waits until one does (\`rigsweep worker\`)`);
  const input = sweepInputFromFlags(flags, resultsHost);
  const sweep = await startOrAttach(client, settings.taskQueue, flags.workflowId ?? defaultWorkflowId(input, plan), input);
  err(
    `${sweep.attached ? 'attached to running sweep' : 'started sweep'} ${sweep.workflowId} (${plan.totalJobs} jobs, ${batchesInWords(shownBatchCount(plan))})`,
  );
  return { input, plan, settings, client, connection, sweep, name };
}

/** `rigsweep start`: prints the workflow id and returns, leaving the sweep to the workers. */
export async function startCommand(flags: RunFlags): Promise<number> {
  const { sweep, connection } = await prepare(flags, false);
  out(sweep.workflowId);
  await connection.close();
  return EXIT.ok;
}

/** `rigsweep run`: the drop-in for `scripts_coordinator.py`. */
export async function runCommand(flags: RunFlags): Promise<number> {
  const { settings, client, connection, sweep, name } = await prepare(flags, true);
  try {
    const result = sweep.handle.result() as Promise<ResultsJson>;
    const onInterrupt = () => {
      err('interrupted: cancelling the sweep (its trial processes are killed)...');
      sweep.handle.cancel().catch((error: unknown) => err(`could not cancel the sweep: ${String(error)}`));
    };
    process.once('SIGINT', onInterrupt);
    // Together, so a worker that cannot start ends the command instead of leaving it waiting.
    const [outcome] = await Promise.all([
      result.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      withWorker(client, settings, { name, configFile: flags.config, verbose: flags.verbose, log: err }, () =>
        followSweepLiveOrPlain(sweep.handle, result, out),
      ),
    ]);
    process.removeListener('SIGINT', onInterrupt);
    if ('error' in outcome) return await reportFailure(outcome.error, sweep.handle);
    if (outcome.value.stopped_reason) err(`sweep stopped early: ${outcome.value.stopped_reason}`);
    out('Results JSON:');
    out(JSON.stringify(outcome.value, null, 2));
    return outcome.value.failed === 0 ? EXIT.ok : EXIT.someJobsFailed;
  } finally {
    await connection.close();
  }
}

/**
 * A sweep that ended without a result: cancelled is exit 3 (its partial Results JSON still
 * printed last), bad input 2, anything else 1.
 */
export async function reportFailure(error: unknown, handle?: WorkflowHandle): Promise<number> {
  const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
  if (cause instanceof CancelledFailure) {
    const partial = handle ? await partialResults(handle) : null;
    err(partial ? `sweep cancelled; partial results in ${partial.file}` : 'sweep cancelled');
    if (partial?.results) {
      out('Results JSON:');
      out(JSON.stringify(partial.results, null, 2));
    }
    return EXIT.cancelled;
  }
  if (cause instanceof ApplicationFailure && cause.type === 'InputError') {
    throw new CliError(cause.message, EXIT.badInput, { cause: error });
  }
  throw new CliError(`sweep failed: ${cause?.message ?? (error as Error).message}`, EXIT.someJobsFailed, { cause: error });
}
