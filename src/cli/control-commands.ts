/**
 * `rigsweep status <id>` and `rigsweep cancel <id>`: look at and stop a sweep that runs elsewhere
 * (started by `rigsweep start`, the `temporal` CLI, Temporal Web or the WATCHER).
 */
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
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
    const { phase, batch, batchCount, totalJobs, done, failed, running, retries, pauseRequested, settings, nodes, sweepName, resultsDir, runId } = progress;
    const pause = pauseRequested && phase !== 'paused' ? ', pause requested' : '';
    process.stdout.write(
      `${workflowId}: ${status}, ${phase}${pause}, batch ${batch}/${batchCount}, ${done}/${totalJobs} done (${failed} failed, ${running} running, ${retries} retried)\n`,
    );
    if (progress.waiting) process.stdout.write(`  ${progress.waiting}\n`);
    if (runId) process.stdout.write(`  run ${runId}: ${resultsDir}\n`);
    for (const node of nodes ?? []) {
      const excluded = node.excludedGpus.length ? `, excluded GPUs ${node.excludedGpus.join(',')}` : '';
      process.stdout.write(
        `  ${node.name}: ${node.state}, ${node.busyGpus.length}/${node.gpuCount} GPUs busy, ${node.done} done, ${node.failed} failed${excluded}\n`,
      );
    }
    const live = {
      workflow_id: workflowId,
      run_id: runId ?? null,
      sweep: sweepName,
      status,
      phase,
      pause_requested: pauseRequested,
      batch,
      batches: batchCount,
      total_jobs: totalJobs,
      done,
      failed,
      running,
      retries,
      waiting: progress.waiting ?? null,
    };
    process.stdout.write(JSON.stringify({ ...live, settings, nodes, results_dir: resultsDir }, null, 2) + '\n');
    return EXIT.ok;
  } finally {
    await connection.close();
  }
}

/** How long `rigsweep cancel` waits for the sweep to end before it says what holds it up. */
export const DEFAULT_CANCEL_WAIT_SECONDS = 30;

/**
 * Cancels the sweep and waits until it has ended (its jobs kill their process groups first), but
 * never longer than `waitSeconds`: a sweep still running then is reported — its id and what it
 * waits for — with exit code 1, so a script is never left hanging.
 */
export async function cancelCommand(workflowId: string, waitSeconds = DEFAULT_CANCEL_WAIT_SECONDS): Promise<number> {
  const { handle, connection, description } = await handleFor(workflowId);
  try {
    if (description.status.name !== 'RUNNING') {
      process.stderr.write(`${workflowId} is not running (${description.status.name}); nothing to cancel\n`);
      return EXIT.ok;
    }
    await handle.cancel();
    process.stderr.write(`cancelling ${workflowId}: its trial processes are being killed...\n`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(resolve, waitSeconds * 1000, null)));
    const ended = await Promise.race([
      handle.result().then(
        () => 'completed before the cancel took effect',
        (error: unknown) =>
          error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure ? 'cancelled' : `ended: ${(error as Error).message}`,
      ),
      late,
    ]).finally(() => clearTimeout(timer));
    if (ended === null) {
      process.stderr.write(`${workflowId} still runs ${waitSeconds} s after the cancel request; ${await whatItWaitsFor(handle)}\n`);
      return EXIT.someJobsFailed;
    }
    const partial = ended === 'cancelled' ? await partialResults(handle) : null;
    process.stderr.write(`${workflowId} ${ended}${partial ? `; partial results in ${partial.file}` : ''}\n`);
    return EXIT.ok;
  } finally {
    await connection.close();
  }
}

/** What a sweep that does not end is waiting for: its own words (phase, counts), its activities, a failing workflow task. */
async function whatItWaitsFor(handle: Awaited<ReturnType<typeof handleFor>>['handle']): Promise<string> {
  const { raw } = await handle.describe();
  const parts: string[] = [];
  const progress = await handle.query(progressQuery, Number.MAX_SAFE_INTEGER).catch(() => undefined);
  parts.push(progress ? `it is ${progress.phase}, ${progress.running} jobs still running` : 'no worker answers its progress query (is a worker running?)');
  const activities = raw.pendingActivities ?? [];
  if (activities.length) {
    const shown = activities.slice(0, 5).map((activity) => {
      const where = whereItRuns(activity.heartbeatDetails?.payloads?.[0]);
      const attempt = (activity.attempt ?? 1) > 1 ? `, attempt ${activity.attempt}` : '';
      const failure = activity.lastFailure?.message ? `, last failure: ${activity.lastFailure.message}` : '';
      return `${activity.activityType?.name ?? 'activity'}${where}${attempt}${failure}`;
    });
    parts.push(
      `waiting for ${activities.length} activities to end (${shown.join('; ')}${activities.length > 5 ? '; ...' : ''}) — a job on a cut-off rig ends when its lease runs out`,
    );
  }
  const task = raw.pendingWorkflowTask;
  if (task && (task.attempt ?? 1) > 1) parts.push(`its workflow task has been tried ${task.attempt} times (see the worker's log)`);
  return parts.join('; ');
}

/** ` on <node> GPU <n>`, from a job's heartbeat (its node, GPU and process group), when it has one. */
function whereItRuns(payload: Parameters<typeof defaultPayloadConverter.fromPayload>[0] | undefined): string {
  if (!payload) return '';
  try {
    const details = defaultPayloadConverter.fromPayload<{ node?: string; gpu?: number; pgid?: number }>(payload);
    return details?.node
      ? ` on ${details.node}${details.gpu !== undefined ? ` GPU ${details.gpu}` : ''}${details.pgid ? ` (process group ${details.pgid})` : ''}`
      : '';
  } catch {
    return '';
  }
}
