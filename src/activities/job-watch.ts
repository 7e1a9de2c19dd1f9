/**
 * Watching over a job's process group while an attempt holds it — its own, or one it re-attached
 * to after a lost worker: heartbeats that name the group, lease renewals, the start report, and a
 * cancel that kills the group on its node.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { SweepJob } from '../shared/jobs';
import type { SweepNode } from '../shared/nodes';
import { killGroupCommand, renewLeaseCommand } from '../rigs/command';
import type { NodeShell } from '../rigs/node-shell';
import type { NodeContact } from './lost-contact';
import type { RunJobDeps, RunJobInput } from './run-job';

/** What a running job's heartbeats carry: a retry after a lost worker finds the job by them. */
export interface JobHeartbeat {
  pgid: number;
  node: string;
  gpu: number;
}

/** The heartbeat of the attempt before this one, when it named its process group on this node. */
export function lostAttemptOn(node: SweepNode): JobHeartbeat | null {
  const previous = Context.current().info.heartbeatDetails as Partial<JobHeartbeat> | undefined;
  return previous?.pgid && previous.node === node.name ? (previous as JobHeartbeat) : null;
}

/**
 * Heartbeats the job's pgid (at once, then every interval) and, on a rig, renews its lease: while
 * the rig can be reached, its watchdog leaves the job alone.
 */
export function keepAlive(shell: NodeShell, deps: RunJobDeps, node: SweepNode, contact: NodeContact): { stop(): void } {
  const context = Context.current();
  const details = contact.details as JobHeartbeat;
  context.heartbeat(details);
  const timer = setInterval(() => {
    context.heartbeat(details);
    if (node.isLocal) return;
    void shell.run(renewLeaseCommand(details.pgid), { timeoutMs: 5000 }).then(
      (renewed) => renewed.exitCode === 0 && contact.heard(),
      () => undefined,
    );
  }, deps.heartbeatIntervalMs ?? 2000);
  return { stop: () => clearInterval(timer) };
}

/** Tells the sweep its job runs: a staggered node's next start is timed from here, a standby may follow it. */
export async function confirmStart(deps: RunJobDeps, input: RunJobInput, startedAt: Date): Promise<void> {
  // Without a stagger or standbys nothing waits for this signal; it would only cost a workflow task.
  if (!input.reportStart && (input.spacingSeconds ?? input.node.staggerSeconds) <= 0) return;
  const context = Context.current();
  await deps
    .reportStarted(context.info.workflowExecution?.workflowId ?? '', { startKey: input.startKey, startedAtMs: startedAt.getTime() })
    .catch((error: unknown) => {
      context.log.warn('could not report job start', { job: input.job.job_id, error: String(error) });
    });
}

/** `first`: a command run on the node just before the kill (in the same exec). */
export async function killAndThrowCancelled(shell: NodeShell, deps: RunJobDeps, pgid: number, job: SweepJob, node: SweepNode, first?: string): Promise<never> {
  const kill = killGroupCommand(pgid, deps.killGraceSeconds ?? 5);
  await shell.run(first ? `${first}; ${kill}` : kill, { timeoutMs: 30_000 }).catch(() => undefined);
  throw new CancelledFailure(`${job.job_id} cancelled; its process group on ${node.name} was killed`);
}

/** Resolves (never rejects) once Temporal asks this attempt to stop. */
export const cancelRequested = () =>
  Context.current().cancelled.then(
    () => 'cancelled' as const,
    () => 'cancelled' as const,
  );

/**
 * Waits out the next heartbeats' answers: a cancel of this attempt already requested arrives with
 * one of them and ends the attempt as cancelled rather than failed.
 */
export async function throwIfCancelledWithin(ms: number, job: SweepJob, node: SweepNode): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'waited'>((resolve) => (timer = setTimeout(() => resolve('waited'), ms)));
  const heard = await Promise.race([waited, cancelRequested()]).finally(() => clearTimeout(timer));
  if (heard === 'cancelled') throw new CancelledFailure(`${job.job_id} cancelled while it waited on ${node.name}`);
}

/** A promise of 'timeout' after `ms`, and the way to clear its timer. */
export function timeoutAfter(ms: number): { timedOut: Promise<'timeout'>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, ms))));
  return { timedOut, clear: () => clearTimeout(timer) };
}
