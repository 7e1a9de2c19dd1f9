/**
 * `rigsweep watch <workflow-id>`: follow a sweep that runs anywhere until it ends. On a terminal
 * it is the live view (progress-view.ts); in a pipe, CI log or the WATCHER it prints the seed's
 * lines plus a `[PROGRESS]` summary at most every 10 s. Either way the last line sums the sweep up
 * and the exit code says how it ended, as for `rigsweep run`.
 */
import { type WorkflowHandle, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { progressQuery } from '../shared/names';
import type { SweepProgress } from '../shared/progress';
import type { ResultsJson } from '../shared/results';
import { EXIT } from './exit-codes';
import { formatEvent, pollProgress, waitLines } from './follow';
import { finalSummaryLine, type SweepEnd, summaryLine } from './progress-format';
import { followSweepLive } from './progress-view';
import { handleFor } from './control-commands';

export interface WatchFlags {
  /** Plain lines even on a terminal. */
  plain?: boolean;
}

/** Ctrl-C stops watching, not the sweep; 128 + SIGINT, as a shell reports it. */
const EXIT_INTERRUPTED = 130;
const SUMMARY_EVERY_MS = 10_000;

/** Follows the sweep until it ends (or Ctrl-C), then prints its summary; the exit code says how it ended. */
export async function watchCommand(workflowId: string, flags: WatchFlags = {}): Promise<number> {
  const { client, handle, connection, description } = await handleFor(workflowId);
  let onInterrupt: () => void = () => undefined;
  // Waiting for the result is a long poll; after Ctrl-C it must not hold the process for its ~20 s.
  const stopWaiting = new AbortController();
  try {
    const ended = client.withAbortSignal(stopWaiting.signal, () => handle.result() as Promise<ResultsJson>).then(completedEnd, endOfFailure);
    if (description.status.name !== 'RUNNING') return finish(workflowId, await ended, await progressOfClosedSweep(handle));
    const interrupted = new Promise<'interrupted'>((resolve) => (onInterrupt = () => resolve('interrupted')));
    process.once('SIGINT', onInterrupt);
    let last: SweepProgress | undefined;
    const remember = (progress: SweepProgress) => (last = progress);
    const stop: Promise<SweepEnd | 'interrupted'> = Promise.race([ended, interrupted]);
    const live = !flags.plain && Boolean(process.stderr.isTTY);
    await (live ? followSweepLive(handle, stop, remember) : followPlain(handle, stop, remember));
    const end = await stop;
    if (end === 'interrupted') {
      process.stderr.write(`stopped watching ${workflowId}; the sweep goes on (rigsweep cancel ${workflowId} stops it)\n`);
      return EXIT_INTERRUPTED;
    }
    return finish(workflowId, end, last);
  } finally {
    stopWaiting.abort();
    process.removeListener('SIGINT', onInterrupt);
    await connection.close();
  }
}

function finish(workflowId: string, end: SweepEnd, last: SweepProgress | undefined): number {
  process.stdout.write(finalSummaryLine(workflowId, end, last) + '\n');
  return exitCodeFor(end);
}

/** Only a worker can answer for a closed sweep (it replays the history): ask briefly, as there may be none. */
function progressOfClosedSweep(handle: WorkflowHandle): Promise<SweepProgress | undefined> {
  return handle.client.withDeadline(Date.now() + 3000, () => handle.query(progressQuery, Number.MAX_SAFE_INTEGER)).catch(() => undefined);
}

/** The seed's lines as `rigsweep run` prints them, and a summary line at most every 10 s. */
function followPlain(handle: WorkflowHandle, stop: Promise<unknown>, onProgress: (progress: SweepProgress) => void): Promise<void> {
  let lastSummaryAt = 0;
  const waits = waitLines();
  return pollProgress(handle, stop, (progress) => {
    onProgress(progress);
    for (const event of progress.events) process.stdout.write(formatEvent(event) + '\n');
    waits(progress, (line) => process.stdout.write(line + '\n'));
    const now = Date.now();
    if (now - lastSummaryAt >= SUMMARY_EVERY_MS) {
      lastSummaryAt = now;
      process.stdout.write(summaryLine(progress, now) + '\n');
    }
  });
}

function completedEnd(results: ResultsJson): SweepEnd {
  return {
    kind: 'completed',
    totalJobs: results.total_jobs,
    successful: results.successful,
    failed: results.failed,
    runtimeSeconds: results.runtime_seconds,
    stoppedReason: results.stopped_reason ?? null,
  };
}

function endOfFailure(error: unknown): SweepEnd {
  const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
  if (cause instanceof CancelledFailure) return { kind: 'cancelled' };
  if (cause instanceof TerminatedFailure) return { kind: 'terminated', message: cause.message || undefined };
  if (cause instanceof TimeoutFailure) return { kind: 'timed out' };
  return { kind: 'failed', message: cause?.message ?? (error as Error).message };
}

/** The same codes as `rigsweep run`: 0 only when every job succeeded. */
function exitCodeFor(end: SweepEnd): number {
  if (end.kind === 'completed') return end.failed === 0 ? EXIT.ok : EXIT.someJobsFailed;
  return end.kind === 'cancelled' ? EXIT.cancelled : EXIT.someJobsFailed;
}
