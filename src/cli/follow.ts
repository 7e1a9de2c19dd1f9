/**
 * Follows a running sweep and prints the seed's lines — `[BATCH k/N] m jobs`, one `✓`/`✗` line
 * per job, `[BATCH k] Complete: s/m successful` — so operators and scripts see what they know.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery } from '../shared/names';
import type { SweepEvent, SweepProgress } from '../shared/progress';

export function formatEvent(event: SweepEvent): string {
  switch (event.kind) {
    case 'batch-start':
      return `[BATCH ${event.batch}/${event.batchCount}] ${event.jobs} jobs`;
    case 'job': {
      const { job, retry } = event;
      const where = `${job.node}:GPU${job.gpu_id} (${job.runtime.toFixed(1)}s)`;
      if (job.success) return `  ✓ ${job.job_id} → ${where}${job.attempt > 1 ? ` on attempt ${job.attempt}` : ''}`;
      const line = `  ✗ ${job.job_id} → ${where} ${job.failure_mode}: ${job.error ?? ''}`.trimEnd();
      return retry ? `${line} — retry ${retry.nextAttempt}/${retry.maxAttempts} in ${retry.inSeconds}s` : line;
    }
    case 'batch-end':
      return `[BATCH ${event.batch}] Complete: ${event.successful}/${event.jobs} successful`;
    case 'reset':
      return `[RESET] ${event.node}: ${event.message}`;
    case 'cooldown':
      return event.node ? `[COOLDOWN] ${event.node}: ${event.seconds}s` : `[COOLDOWN] ${event.seconds}s before batch ${event.batch + 1}`;
    case 'probe':
      return `[PROBE] ${event.node} ${event.verdict} before batch ${event.batch}: ${event.message}`;
    case 'preflight':
      return event.gpu === undefined ? `[PREFLIGHT] ${event.node}: ${event.message}` : `[WARMUP] ${event.node}:GPU${event.gpu} ${event.message}`;
  }
}

/** A query no worker answers (all stopped) would hang until the server gives up, tens of seconds later. */
const QUERY_DEADLINE_MS = 10_000;

/** Prints new events every `intervalMs` until `stop` resolves; then prints what is left. */
export function followSweep(handle: WorkflowHandle, stop: Promise<unknown>, write: (line: string) => void, intervalMs = 500): Promise<void> {
  const waits = waitLines();
  return pollProgress(
    handle,
    stop,
    (progress) => {
      progress.events.forEach((event) => write(formatEvent(event)));
      waits(progress, write);
    },
    intervalMs,
  );
}

/**
 * A `[WAIT]` line when the sweep starts waiting for something outside its own rules (its results
 * host), or the reason changes, and one when the wait is over: once each, not at every poll.
 */
export function waitLines(): (progress: Pick<SweepProgress, 'waiting'>, write: (line: string) => void) => void {
  let shown: string | null = null;
  return (progress, write) => {
    const waiting = progress.waiting ?? null;
    if (waiting === shown) return;
    write(waiting ? `[WAIT] ${waiting}` : `[WAIT] over: ${shown!.replace(/^waiting for /, '').replace(/:.*$/, '')} answers again`);
    shown = waiting;
  };
}

/** Hands the sweep's progress (with the events since the last call) to `onProgress` every `intervalMs` until `stop` settles, then once more. */
export async function pollProgress(
  handle: WorkflowHandle,
  stop: Promise<unknown>,
  onProgress: (progress: SweepProgress) => void,
  intervalMs = 500,
): Promise<void> {
  let lastSeq = 0;
  let stopped = false;
  void stop.finally(() => (stopped = true)).catch(() => undefined);
  const poll = async () => {
    try {
      const progress = await handle.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(progressQuery, lastSeq));
      onProgress(progress);
      lastSeq = progress.lastSeq;
    } catch {
      // A query can fail while the workflow task is being retried or the sweep just ended.
    }
  };
  while (!stopped) {
    await poll();
    await Promise.race([new Promise((resolve) => setTimeout(resolve, intervalMs)), stop.catch(() => undefined)]);
  }
  await poll();
}
