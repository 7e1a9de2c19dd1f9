/**
 * `rigsweep status <id>` and `rigsweep cancel <id>`: look at and stop a sweep that runs elsewhere
 * (started by `rigsweep start`, the `temporal` CLI, Temporal Web or the WATCHER).
 */
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { partialResults } from './partial-results';
import { progressQuery } from '../shared/names';
import { CliError, EXIT } from './exit-codes';
import { connectClient, temporalSettings } from './temporal';

/** Connects and finds the sweep; an unknown id is bad input (exit 2). */
export async function handleFor(workflowId: string) {
  const { client, connection } = await connectClient(temporalSettings());
  const handle = client.workflow.getHandle(workflowId);
  try {
    return { client, handle, connection, description: await handle.describe() };
  } catch (error) {
    await connection.close();
    if (error instanceof WorkflowNotFoundError) throw new CliError(`no sweep with workflow id "${workflowId}"`, EXIT.badInput, { cause: error });
    throw error;
  }
}

/** One line a person reads, then the live progress as JSON (without the event log). */
export async function statusCommand(workflowId: string): Promise<number> {
  const { handle, connection, description } = await handleFor(workflowId);
  try {
    const progress = await handle.query(progressQuery, Number.MAX_SAFE_INTEGER).catch(() => undefined);
    const status = description.status.name;
    if (!progress) {
      process.stdout.write(`${workflowId}: ${status} (no worker answered the progress query)\n`);
      return EXIT.ok;
    }
    const { phase, batch, batchCount, totalJobs, done, failed, running, retries, pauseRequested, settings, nodes, sweepName, resultsDir } = progress;
    const pause = pauseRequested && phase !== 'paused' ? ', pause requested' : '';
    process.stdout.write(
      `${workflowId}: ${status}, ${phase}${pause}, batch ${batch}/${batchCount}, ${done}/${totalJobs} done (${failed} failed, ${running} running, ${retries} retried)\n`,
    );
    for (const node of nodes ?? []) {
      const excluded = node.excludedGpus.length ? `, excluded GPUs ${node.excludedGpus.join(',')}` : '';
      process.stdout.write(`  ${node.name}: ${node.state}, ${node.busyGpus.length}/${node.gpuCount} GPUs busy, ${node.done} done, ${node.failed} failed${excluded}\n`);
    }
    const live = { workflow_id: workflowId, sweep: sweepName, status, phase, pause_requested: pauseRequested, batch, batches: batchCount, total_jobs: totalJobs, done, failed, running, retries };
    process.stdout.write(JSON.stringify({ ...live, settings, nodes, results_dir: resultsDir }, null, 2) + '\n');
    return EXIT.ok;
  } finally {
    await connection.close();
  }
}

/** Cancels the sweep and waits until it has ended (its jobs kill their process groups first). */
export async function cancelCommand(workflowId: string): Promise<number> {
  const { handle, connection, description } = await handleFor(workflowId);
  try {
    if (description.status.name !== 'RUNNING') {
      process.stderr.write(`${workflowId} is not running (${description.status.name}); nothing to cancel\n`);
      return EXIT.ok;
    }
    await handle.cancel();
    process.stderr.write(`cancelling ${workflowId}: its trial processes are being killed...\n`);
    const ended = await handle.result().then(
      () => 'completed before the cancel took effect',
      (error: unknown) => (error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure ? 'cancelled' : `ended: ${(error as Error).message}`),
    );
    const partial = ended === 'cancelled' ? await partialResults(handle) : null;
    process.stderr.write(`${workflowId} ${ended}${partial ? `; partial results in ${partial.file}` : ''}\n`);
    return EXIT.ok;
  } finally {
    await connection.close();
  }
}
