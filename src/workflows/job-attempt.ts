/**
 * One attempt of one job on one GPU: the `runJob` activity, the wait for its confirmed start, and
 * what happens after — a result, or (for a run that failed) a durable backoff and another place in
 * the batch's queue, where any node may pick it up.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, condition, isCancellation, patched, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import { upkeep } from './activity-proxies';
import { heldForLater, unlessCancelled } from './cancellation';
import type { SweepActivities } from '../activities/create-activities';
import type { SweepJob } from '../shared/jobs';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/names';
import type { SweepNode } from '../shared/nodes';
import { type BatchRange, shownBatch } from '../shared/planner';
import { type AttemptResult, type AttemptSummary, attemptWithoutExit, type JobResult, summariseAttempt } from '../shared/results';
import { retryBackoffSeconds, shouldRetry } from '../shared/retry-policy';
import type { SweepPlan } from '../shared/sweep-plan';
import { leaveOutLostNode } from './lost-nodes';
import type { SweepTracker } from './sweep-tracker';

/**
 * Trial runs: heartbeating; Temporal retries only infrastructure errors (with backoff, up to a
 * per-job deadline), never a trial that ran and failed. A cancelled sweep waits until each job
 * has killed its process group.
 */
const trialRuns = proxyActivities<SweepActivities>({
  startToCloseTimeout: '2 hours', // replaced per job: its own timeout plus a margin
  // Heartbeats come every 2 s: a lost worker is noticed, and its job retried, within 10 s.
  heartbeatTimeout: '10 seconds',
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});

/** A withdrawn standby's waiting command is killed on its node at once, not only when its activity hears. */
export const WITHDRAW_ON_NODE_PATCH = 'standby-withdrawn-on-node';

/** Margin over a job's own timeout: the activity enforces the job timeout and still has to kill and report. */
const JOB_TIMEOUT_MARGIN_SECONDS = 120;
/**
 * Before its timeout starts, a job may wait on the node for its start permit — behind another
 * sweep's job on the same GPU, say — so an attempt may last about two job timeouts.
 */
const startToCloseSeconds = (job: SweepJob) => 2 * job.timeout + JOB_TIMEOUT_MARGIN_SECONDS;
/** How long infrastructure errors of one job are retried before the job counts as failed. */
const INFRASTRUCTURE_DEADLINE_SECONDS = 600;

/** A job waiting in a batch's queue, with what its earlier attempts did. */
export interface QueuedJob {
  job: SweepJob;
  /** 1-based number of the attempt this entry will be. */
  attempt: number;
  previous: AttemptSummary[];
  /** Where the previous attempt failed: another GPU is preferred. */
  avoid?: { node: string; gpu: number };
  /** The previous attempt's result: the job's final one if no node is left to run this retry. */
  last?: AttemptResult;
}

export interface BatchContext {
  plan: SweepPlan;
  batch: BatchRange;
  tracker: SweepTracker;
  /** First attempts one node may start in this batch (Infinity when the sweep is one batch). */
  perNodeCap: number;
  /** Rolling mode: nodes keep their own rhythm (node-cycle.ts) instead of the batch's caps. */
  rolling: boolean;
  /** Nodes without a stagger give a busy GPU its next job ahead, as a standby (gpu-lanes.ts). */
  standbys: boolean;
  queue: QueuedJob[];
  /** First attempts each node started in this batch. */
  firstAttempts: Map<string, number>;
  /** Attempts running or waiting out a retry backoff: the batch is done when none are left. */
  inFlight: number;
  /** More jobs may still join the queue (growing-segment.ts): the batch is not done yet. */
  growing: boolean;
  results: JobResult[];
  /**
   * Work beside the lanes — the growing segment, probes of nodes lost mid-batch, standby withdrawals —
   * held from the start (`heldForLater`) and awaited once the lanes are done; probes end once `over`.
   */
  background: Promise<void>[];
  over: boolean;
}

/**
 * Starts one attempt. `confirmed` resolves once its process runs on the node, to when it started
 * (or once the attempt ended, to undefined); `finished` once the activity ended (its GPU is free
 * again; null for a withdrawn standby); `settled` once the job has its final result or is back in
 * the queue.
 *
 * A standby (`behind` is the running job's `finished`) counts as running only from that job's end.
 * Until then an exclusion of its GPU or node withdraws it: its activity is cancelled — the node
 * kills the waiting command — and the job goes back to the queue, no attempt spent.
 * `reportStart`: the job signals its start even without a stagger (a standby may follow it).
 */
export function dispatchAttempt(node: SweepNode, gpu: number, entry: QueuedJob, context: BatchContext, behind?: Promise<unknown>, reportStart = false) {
  const { tracker, batch, plan } = context;
  const { job, attempt } = entry;
  const startKey = `${job.job_id}@${batch.index}#${attempt}`;
  context.inFlight++;
  let ended = false;
  let counted = false;
  const countRunning = () => {
    counted = true;
    tracker.running++;
    tracker.nodes.gpuBusy(node.name, gpu, true);
    tracker.refreshDetails();
  };
  if (behind) void behind.then(() => ended || countRunning(), () => undefined);
  else countRunning();
  const scope = behind ? new CancellationScope() : undefined;
  const run = () => trialRuns.runJob.executeWithOptions(
    {
      startToCloseTimeout: `${startToCloseSeconds(job)} seconds`,
      scheduleToCloseTimeout: `${startToCloseSeconds(job) + INFRASTRUCTURE_DEADLINE_SECONDS} seconds`,
      summary: `${job.job_id} on ${node.name} GPU ${gpu}${attempt > 1 ? ` (attempt ${attempt})` : ''}${behind ? ' (standby)' : ''}`,
    },
    [{ runId: plan.runId, sweepId: workflowInfo().workflowId, startKey, node, gpu, job, batch: shownBatch(batch), attempt, resultsDir: plan.resultsDir, nodeRunDir: plan.nodeRunDir, leaseSeconds: plan.leaseSeconds, spacingSeconds: tracker.steering.staggerSeconds(node), ...(reportStart ? { reportStart } : {}) }],
  );
  let withdrawn = false;
  if (scope) {
    const { steering } = tracker;
    // A cancelled sweep rejects this wait: nothing to withdraw then, the activity is cancelled anyway.
    void condition(() => ended || counted || steering.isNodeExcluded(node) || steering.isGpuExcluded(node, gpu)).then(() => {
      if (ended || counted) return;
      withdrawn = true;
      scope.cancel();
      // The cancel reaches the activity with its next heartbeat, up to 2 s away: the node is told
      // at once, so the job cannot start there in between if the GPU frees up.
      // Awaited with the batch's other side work: the batch does not end while it is on its way.
      if (patched(WITHDRAW_ON_NODE_PATCH)) {
        const told = upkeep.withdrawWaitingJob({ node, gpu, sweepId: workflowInfo().workflowId, jobId: job.job_id }).catch(unlessCancelled(() => undefined));
        context.background.push(heldForLater(told));
      }
    }, () => undefined);
  }
  // A withdrawn standby's own cancel is its expected end; any other cancel goes on (failedDispatch rethrows it).
  // eslint-disable-next-line no-restricted-syntax
  const finished = (scope ? scope.run(run) : run())
    .catch((error: unknown) => (withdrawn && isCancellation(error) ? null : failedDispatch(error, node, gpu, entry, batch)))
    .then((result) => {
      ended = true;
      if (counted) {
        tracker.running--;
        tracker.nodes.gpuBusy(node.name, gpu, false);
        tracker.refreshDetails();
      }
      tracker.startedKeys.delete(startKey);
      return result;
    });
  const confirmed = condition(() => ended || tracker.startedKeys.has(startKey)).then(() => tracker.startedKeys.get(startKey));
  const settled = finished.then((result) => (result ? settle(result, entry, context) : requeue(entry, node, context))).finally(() => context.inFlight--);
  return { confirmed, finished, settled };
}

/** A withdrawn standby: the job waits in the queue again, first in line, as the same attempt. */
function requeue(entry: QueuedJob, node: SweepNode, context: BatchContext): void {
  if (entry.attempt === 1) context.firstAttempts.set(node.name, (context.firstAttempts.get(node.name) ?? 1) - 1);
  context.queue.unshift(entry);
}

/** A final result for the record, or a backoff and the job back in the queue. */
async function settle(result: AttemptResult, entry: QueuedJob, context: BatchContext): Promise<void> {
  const { plan, tracker } = context;
  const attempts = [...entry.previous, summariseAttempt(result)];
  if (result.lost_contact) leaveOutLostNode(result, context);
  if (!shouldRetry(result, entry.attempt, plan.maxRetries)) {
    const final: JobResult = { ...result, attempts };
    tracker.jobFinished(final);
    context.results.push(final);
    return;
  }
  const backoff = retryBackoffSeconds(plan.retryBackoffSeconds, entry.attempt);
  tracker.attemptFailed(result, { nextAttempt: entry.attempt + 1, maxAttempts: plan.maxRetries + 1, inSeconds: backoff });
  if (backoff > 0) await sleep(backoff * 1000, { summary: `retry backoff ${entry.job.job_id}` });
  context.queue.push({ job: entry.job, attempt: entry.attempt + 1, previous: attempts, avoid: { node: result.node, gpu: result.gpu_id }, last: result });
}

const SSH_ERROR_TYPES = ['SshConnectError', 'SshAuthError', 'HostKeyError'];

/** An attempt whose activity failed for good (node unreachable, host key refused): a failed result. */
function failedDispatch(error: unknown, node: SweepNode, gpu: number, entry: QueuedJob, batch: BatchRange): AttemptResult {
  if (isCancellation(error)) throw error;
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  const now = new Date();
  const where = { job_id: entry.job.job_id, node: node.name, gpu_id: gpu, batch: shownBatch(batch), attempt: entry.attempt, output_file: entry.job.expected_output ?? null };
  const failure_mode = type && SSH_ERROR_TYPES.includes(type) ? 'SSH_ERROR' : 'EXECUTION_ERROR';
  return attemptWithoutExit(where, { failure_mode, error: message }, now, now);
}
