/**
 * The batch planner: which jobs go together, and how many of them one node may take.
 *
 * The seed's proposal in numbers: at most 20 jobs per batch and at most 6 per node per batch, so
 * no rig ever manages more than a handful of starting jobs; a sweep that fits in one batch runs
 * without batching overhead. Batches are contiguous ranges of the job list, so an activity can load
 * a batch's jobs by index instead of the workflow carrying the whole list. Pure code.
 */
import type { JobBatching } from './config';
import { policyNamed, unbatchedPolicy } from './dispatch/policies';
import type { BatchPlan, BatchRange } from './sweep-plan';

/**
 * Splits `jobCount` jobs over `nodeCount` usable nodes, in ranges as large as the mode's policy
 * plans them (a barrier batch, a segment of the list). A sweep without batches — batching off, at
 * most one batch of jobs, or no node — runs unbatched, in segments, with no cap per node.
 */
export function planBatches(jobCount: number, nodeCount: number, batching: JobBatching): BatchPlan {
  const unbatched = !batching.enabled || jobCount <= batching.max_jobs_per_batch;
  if (unbatched || nodeCount < 1) {
    return {
      batches: ranges(jobCount, unbatchedPolicy.plannedBatchSize(batching, nodeCount)),
      perNodeCap: null,
      resetBetweenBatches: false,
      cooldownSeconds: 0,
    };
  }
  return {
    batches: ranges(jobCount, policyNamed(batching.mode).plannedBatchSize(batching, nodeCount)),
    perNodeCap: batching.max_jobs_per_node_per_batch,
    resetBetweenBatches: batching.allocator_reset_between_batches,
    cooldownSeconds: batching.inter_batch_cooldown_seconds,
  };
}

/**
 * How many batches users are told a plan has: a sweep without batches is one batch, whatever the
 * number of segments it is fed in.
 */
export function shownBatchCount(plan: BatchPlan): number {
  return plan.perNodeCap === null ? Math.min(1, plan.batches.length) : plan.batches.length;
}

/** Contiguous ranges of at most `size` jobs. */
function ranges(jobCount: number, size: number): BatchRange[] {
  const batches: BatchRange[] = [];
  for (let start = 0; start < jobCount; start += size) batches.push({ index: batches.length, start, end: Math.min(jobCount, start + size) });
  return batches;
}
