/**
 * A rig that stops answering during a job's attempt — frozen, or its link down. Nothing can kill
 * the job there from outside, but the rig fences it itself once its lease is not renewed (see
 * rigs/command.ts). So the attempt waits, heartbeating: if the rig answers again in time, the
 * attempt fails as before and Temporal retries it there (the retry takes this copy over if its
 * lease still holds or it has ended, and otherwise kills what is left of it); if it stays away
 * until the lease has surely run out on the rig, the attempt ends as an SSH_ERROR result, and
 * the sweep runs the job elsewhere — never two copies at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { type AttemptResult, attemptWithoutExit } from '../shared/results';
import type { NodeShell } from '../rigs/node-shell';

/**
 * Seconds past the lease by which the rig's watchdog has surely killed the job: it looks once a
 * second, sends TERM, and KILL 5 s later.
 */
export const FENCE_MARGIN_SECONDS = 8;

/** When rigsweep last heard from the node during this attempt, and what it heartbeats meanwhile. */
export class NodeContact {
  lastMs = Date.now();
  /** The heartbeat details that name the job's process group (or the lost attempt's before it). */
  details: unknown;

  constructor(details: unknown) {
    this.details = details;
  }

  heard(): void {
    this.lastMs = Date.now();
  }
}

/**
 * Waits until the node answers ('back') or its lease has surely run out ('fenced'), heartbeating
 * all along so Temporal keeps this attempt. A cancel ends the wait: the lease will fence the job.
 */
export async function waitOutLostContact(shell: NodeShell, contact: NodeContact, leaseSeconds: number): Promise<'back' | 'fenced'> {
  const context = Context.current();
  const deadline = contact.lastMs + (leaseSeconds + FENCE_MARGIN_SECONDS) * 1000;
  const beat = () => (contact.details === undefined ? context.heartbeat() : context.heartbeat(contact.details));
  beat();
  const timer = setInterval(beat, 2000);
  try {
    while (Date.now() < deadline) {
      if (context.cancellationSignal.aborted) throw new CancelledFailure('cancelled while its node could not be reached; its lease fences the job there');
      // A cut link can hold a connect attempt for its whole ready timeout: ask again after 3 s.
      const answered = await Promise.race([
        shell.run('true', { timeoutMs: 3000 }).then(
          (result) => !result.timedOut,
          () => false,
        ),
        sleep(3000).then(() => false),
      ]);
      if (answered) return 'back';
      await sleep(Math.max(0, Math.min(2000, deadline - Date.now())));
    }
    return 'fenced';
  } finally {
    clearInterval(timer);
  }
}

/** The attempt's record when its node stayed away past the lease: another node may run the job. */
export function lostContactResult(
  where: Pick<AttemptResult, 'job_id' | 'node' | 'gpu_id' | 'batch' | 'attempt' | 'output_file'>,
  contact: NodeContact,
  startedAt: Date,
  error: Error,
): AttemptResult {
  const now = new Date();
  const silentSeconds = Math.round((now.getTime() - contact.lastMs) / 1000);
  const message = `lost contact with ${where.node} for ${silentSeconds} s (${error.message}); its lease ran out, so the rig has killed the job's processes itself`;
  return attemptWithoutExit(where, { failure_mode: 'SSH_ERROR', error: message, lost_contact: true }, startedAt, now);
}
