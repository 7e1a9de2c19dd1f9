/**
 * Inside a batch: one lane per GPU, every node fed from the batch's queue as its lanes free up,
 * and no two job starts on one node closer than its `stagger_delay` — timed from the previous
 * job's confirmed start, with a durable timer, because simultaneous HIP initialisations froze rigs.
 */
import { ActivityFailure, ApplicationFailure, condition, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/create-activities';
import type { SweepJob } from '../shared/jobs';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/names';
import type { SweepNode } from '../shared/nodes';
import type { BatchRange } from '../shared/planner';
import type { JobResult } from '../shared/results';
import type { SweepPlan } from '../shared/sweep-plan';
import type { SweepTracker } from './sweep-tracker';

/**
 * Trial runs: heartbeating, retried by Temporal only for infrastructure errors (a trial that ran
 * and failed is a result). A cancelled sweep waits until each job has killed its process group.
 */
const trialRuns = proxyActivities<SweepActivities>({
  startToCloseTimeout: '2 hours', // replaced per job: its own timeout plus a margin
  heartbeatTimeout: '30 seconds',
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { initialInterval: '2 seconds', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});

/** Margin over a job's own timeout: the activity enforces the job timeout and still has to kill and report. */
const JOB_TIMEOUT_MARGIN_SECONDS = 120;

/** A node's GPUs: which are free, preferring the one idle longest so every GPU gets work. */
class GpuLanes {
  private readonly free: number[];
  private busy = 0;

  constructor(private readonly node: SweepNode) {
    this.free = Array.from({ length: node.gpuCount }, (_, gpu) => gpu);
  }

  canStart(): boolean {
    return this.busy < this.node.maxConcurrent && this.free.length > 0;
  }

  take(): number {
    this.busy++;
    return this.free.shift()!;
  }

  release(gpu: number): void {
    this.busy--;
    this.free.push(gpu);
  }
}

interface BatchContext {
  plan: SweepPlan;
  batch: BatchRange;
  tracker: SweepTracker;
  queue: SweepJob[];
  results: JobResult[];
}

/** Runs one batch's jobs over all nodes and returns their results in job order. */
export async function runBatch(plan: SweepPlan, batch: BatchRange, jobs: SweepJob[], tracker: SweepTracker): Promise<JobResult[]> {
  const context: BatchContext = { plan, batch, tracker, queue: [...jobs], results: [] };
  await Promise.all(plan.nodes.map((node) => feedNode(node, context)));
  const order = new Map(jobs.map((job, index) => [job.job_id, index]));
  return context.results.sort((a, b) => order.get(a.job_id)! - order.get(b.job_id)!);
}

/** Starts the batch's jobs on one node, one at a time, spaced by the node's stagger. */
async function feedNode(node: SweepNode, context: BatchContext): Promise<void> {
  const lanes = new GpuLanes(node);
  const cap = context.plan.perNodeCap ?? Infinity;
  const running: Promise<void>[] = [];
  let started = 0;
  const moreToStart = () => context.queue.length > 0 && started < cap;
  try {
    while (moreToStart()) {
      await condition(() => !moreToStart() || lanes.canStart());
      if (!moreToStart()) break;
      const job = context.queue.shift()!;
      const gpu = lanes.take();
      started++;
      const { confirmed, finished } = startJob(node, gpu, job, context);
      running.push(finished.then(() => lanes.release(gpu)));
      await confirmed;
      if (moreToStart() && node.staggerSeconds > 0) {
        await sleep(node.staggerSeconds * 1000, { summary: `stagger ${node.name}` });
      }
    }
  } finally {
    // Also when the sweep is cancelled: end only once every job here has killed its processes.
    const settled = await Promise.allSettled(running);
    const failure = settled.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
  }
}

/** Dispatches one job; `confirmed` resolves once its process runs on the node (or it ended). */
function startJob(node: SweepNode, gpu: number, job: SweepJob, context: BatchContext) {
  const { tracker, batch, plan } = context;
  const startKey = `${job.job_id}@${batch.index}`;
  tracker.running++;
  let ended = false;
  const finished = trialRuns.runJob
    .executeWithOptions(
      { startToCloseTimeout: `${job.timeout + JOB_TIMEOUT_MARGIN_SECONDS} seconds`, summary: `${job.job_id} on ${node.name} GPU ${gpu}` },
      [{ runId: plan.runId, startKey, node, gpu, job, batch: batch.index + 1 }],
    )
    .catch((error: unknown) => failedDispatch(error, node, gpu, job, batch))
    .then((result) => {
      ended = true;
      tracker.startedKeys.delete(startKey);
      tracker.jobFinished(result);
      context.results.push(result);
    });
  const confirmed = condition(() => ended || tracker.startedKeys.has(startKey));
  return { confirmed, finished };
}

const SSH_ERROR_TYPES = ['SshConnectError', 'SshAuthError', 'HostKeyError'];

/** A job whose activity failed for good (node unreachable, host key refused): a failed result. */
function failedDispatch(error: unknown, node: SweepNode, gpu: number, job: SweepJob, batch: BatchRange): JobResult {
  if (isCancellation(error)) throw error;
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  const now = new Date().toISOString();
  return {
    job_id: job.job_id,
    success: false,
    node: node.name,
    gpu_id: gpu,
    batch: batch.index + 1,
    runtime: 0,
    exit_code: null,
    signal: null,
    failure_mode: type && SSH_ERROR_TYPES.includes(type) ? 'SSH_ERROR' : 'EXECUTION_ERROR',
    error: message,
    output_file: job.expected_output ?? null,
    started_at: now,
    ended_at: now,
    stderr_tail: '',
  };
}
