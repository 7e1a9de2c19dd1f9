/**
 * Inside a batch: one lane per GPU, every node fed from the batch's queue as its lanes free up,
 * and no two job starts on one node closer than its `stagger_delay` — timed from the previous
 * job's confirmed start, with a durable timer, because simultaneous HIP initialisations froze rigs.
 */
import { condition, sleep } from '@temporalio/workflow';
import type { SweepJob } from '../shared/jobs';
import type { SweepNode } from '../shared/nodes';
import type { BatchRange } from '../shared/planner';
import type { JobResult } from '../shared/results';
import type { SweepPlan } from '../shared/sweep-plan';
import { GpuLanes } from './gpu-lanes';
import { type BatchContext, dispatchAttempt } from './job-attempt';
import type { SweepTracker } from './sweep-tracker';

/** Runs one batch's jobs (and their retries) over all nodes; returns their results in job order. */
export async function runBatch(plan: SweepPlan, batch: BatchRange, jobs: SweepJob[], tracker: SweepTracker): Promise<JobResult[]> {
  const context: BatchContext = { plan, batch, tracker, queue: jobs.map((job) => ({ job, attempt: 1, previous: [] })), inFlight: 0, results: [] };
  await Promise.all(plan.nodes.map((node) => feedNode(node, context)));
  const order = new Map(jobs.map((job, index) => [job.job_id, index]));
  return context.results.sort((a, b) => order.get(a.job_id)! - order.get(b.job_id)!);
}

/**
 * Starts jobs on one node, one at a time, spaced by the node's stagger, until the batch is done.
 * A node takes at most its per-batch cap of first attempts; a retry may go to any node, since
 * it replaces load the batch already had.
 */
async function feedNode(node: SweepNode, context: BatchContext): Promise<void> {
  const lanes = new GpuLanes(node);
  const cap = context.plan.perNodeCap ?? Infinity;
  const running: Promise<unknown>[] = [];
  let firstAttempts = 0;
  const nextTakeable = () => context.queue.findIndex((entry) => entry.attempt > 1 || firstAttempts < cap);
  const batchDone = () => context.queue.length === 0 && context.inFlight === 0;
  try {
    for (;;) {
      await condition(() => batchDone() || (lanes.canStart() && nextTakeable() >= 0));
      if (batchDone()) break;
      // Woken together with other nodes: one of them may have taken the job first.
      const index = nextTakeable();
      if (index < 0) continue;
      const [entry] = context.queue.splice(index, 1);
      if (entry.attempt === 1) firstAttempts++;
      const gpu = lanes.take(entry.avoid?.node === node.name ? entry.avoid.gpu : undefined);
      const { confirmed, finished, settled } = dispatchAttempt(node, gpu, entry, context);
      running.push(finished.then(() => lanes.release(gpu)), settled);
      // Without a stagger there is no spacing to keep: the next start need not wait for this one.
      if (node.staggerSeconds > 0) {
        await confirmed;
        if (!batchDone()) await sleep(node.staggerSeconds * 1000, { summary: `stagger ${node.name}` });
      }
    }
  } finally {
    // Also when the sweep is cancelled: end only once every job here has killed its processes.
    const outcomes = await Promise.allSettled(running);
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
  }
}
